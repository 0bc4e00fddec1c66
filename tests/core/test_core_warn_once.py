"""tokenomy.WarnOnce / tokenomy.warn_once: a warning at most once per key, from any thread."""

from __future__ import annotations

import threading
import warnings

import pytest

import tokenomy
from tokenomy import EstimatedUsageWarning, WarnOnce


def test_warns_once_per_key_and_says_whether_it_did() -> None:
    """The first call for a key warns and returns True; later ones for it are silent; another
    key warns again."""
    once = WarnOnce()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert once(("model", "a"), "about a", EstimatedUsageWarning) is True
        assert once(("model", "a"), "about a again", EstimatedUsageWarning) is False
        assert once(("model", "b"), "about b", EstimatedUsageWarning) is True
    assert [(w.category, str(w.message)) for w in caught] == [
        (EstimatedUsageWarning, "about a"),
        (EstimatedUsageWarning, "about b"),
    ]
    assert ("model", "a") in once and ("model", "c") not in once


def test_forget_warns_again() -> None:
    """After forget(key) the next call for that key warns."""
    once = WarnOnce()
    with pytest.warns(UserWarning, match="first"):
        once("k", "first")
    once.forget("k")
    with pytest.warns(UserWarning, match="second"):
        assert once("k", "second")


def test_stacklevel_points_at_the_caller_as_warnings_warn_would() -> None:
    """stacklevel counts from where warn_once is called: 1 is that line, like warnings.warn."""
    once = WarnOnce()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        once("here", "x", stacklevel=1)
    assert caught[0].filename == __file__


def test_racing_threads_warn_exactly_once() -> None:
    """Sixteen threads released together on one key produce one warning in all."""
    once = WarnOnce()
    barrier = threading.Barrier(16)
    results: list[bool] = []

    def worker() -> None:
        barrier.wait()
        results.append(once("shared", "only once"))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=worker) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == [False] * 15 + [True]
    assert len(caught) == 1


def test_the_process_wide_instance_is_public() -> None:
    """tokenomy.warn_once is one process-wide WarnOnce."""
    assert isinstance(tokenomy.warn_once, WarnOnce)
    key = ("tests", "process-wide", id(test_the_process_wide_instance_is_public))
    with pytest.warns(UserWarning, match="process"):
        tokenomy.warn_once(key, "process-wide")
    assert key in tokenomy.warn_once
