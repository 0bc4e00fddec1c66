"""Budgets refuse bad settings when they are built, with a message saying what to do."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tokenomy import (
    Budget,
    ConfigurationError,
    MemoryBudgetStore,
    ModelPrice,
    ModelRequest,
    Pipeline,
    UnknownModelPriceError,
    UnknownModelPriceWarning,
    open_budget_store,
)
from tokenomy.budget._window import parse_window
from tokenomy.testing import MockSender


@pytest.mark.parametrize(
    "limit", [-1, 0, "nan", float("nan"), float("inf"), "-0.5", "lots", True, [1], 10**7]
)
def test_bad_dollar_limits(limit: Any) -> None:
    """Negative, zero, NaN, infinite, non-numeric, boolean or too-large dollar limits."""
    with pytest.raises(ConfigurationError, match="limit_usd"):
        Budget(limit_usd=limit, store=MemoryBudgetStore())


@pytest.mark.parametrize("limit", [-5, 0, 1.5, "100", True])
def test_bad_token_limits(limit: Any) -> None:
    """Token limits are whole numbers >= 1."""
    with pytest.raises(ConfigurationError, match="limit_tokens"):
        Budget(limit_tokens=limit, store=MemoryBudgetStore())


def test_a_limit_is_required() -> None:
    """A budget with neither limit is refused."""
    with pytest.raises(ConfigurationError, match="limit_usd and/or limit_tokens"):
        Budget(store=MemoryBudgetStore())


@pytest.mark.parametrize(
    "window", ["daily-ish", "fortnight", "rolling:0m", "rolling:x", 5, timedelta(seconds=30), ""]
)
def test_unknown_windows(window: Any) -> None:
    """Unknown window names, empty or zero rolling windows, and sub-minute ones."""
    with pytest.raises(ConfigurationError, match="window"):
        Budget(limit_usd=1, window=window, store=MemoryBudgetStore())


def test_window_spellings_and_time_zones() -> None:
    """'daily', 'rolling:2h' and a timedelta are understood; an unknown zone is refused."""
    assert parse_window("daily").kind == "day"
    assert parse_window("rolling:2h").minutes == 120
    assert parse_window(timedelta(minutes=90)).label == "rolling:90m"
    with pytest.raises(ConfigurationError, match="time zone"):
        Budget(limit_usd=1, tz="Mars/Olympus", store=MemoryBudgetStore())


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"on_exceed": "explode"}, "on_exceed"),
        ({"on_exceed": "downgrade"}, "downgrade_to"),
        ({"scope": ("user", "user")}, "twice"),
        ({"scope": 3}, "scope"),
        ({"thresholds": [0.5, 1.5]}, "thresholds"),
        ({"thresholds": [float("nan")]}, "thresholds"),
        ({"estimate_margin": -0.1}, "estimate_margin"),
        ({"reservation_ttl": 0}, "reservation_ttl"),
        ({"min_output_tokens": 0}, "min_output_tokens"),
        ({"alerts": "carrier pigeon"}, "webhook"),
        ({"store": "ftp://x"}, "budget store URL"),
        ({"name": "a|b"}, "name"),
    ],
)
def test_bad_settings(kw: dict[str, Any], match: str) -> None:
    """Each bad setting names itself in the error."""
    kw.setdefault("store", MemoryBudgetStore())
    with pytest.raises(ConfigurationError, match=match):
        Budget(limit_usd=1, **kw)


def test_a_dollar_budget_refuses_an_unpriced_downgrade_model_when_built() -> None:
    """downgrade_to a model with no price: refused when the budget is built, unless priced."""
    with pytest.raises(UnknownModelPriceError, match="my-local-model"):
        Budget(limit_usd=1, on_exceed="downgrade", downgrade_to="my-local-model",
               store=MemoryBudgetStore())
    Budget(limit_usd=1, on_exceed="downgrade", downgrade_to="my-local-model",
           prices={"my-local-model": ModelPrice.per_million(input=1, output=2)},
           store=MemoryBudgetStore())


def test_a_dollar_budget_refuses_an_unpriced_model_before_sending() -> None:
    """A call to a model with no price under a dollar budget is refused, nothing sent; a
    token budget takes it; a price given makes it fit."""
    send = MockSender()
    request = ModelRequest(model="my-local-model", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(UnknownModelPriceError):
        Pipeline([Budget(limit_usd=1, store=MemoryBudgetStore())]).call(request, send)
    assert send.calls == 0
    priced = Budget(limit_usd=1, prices={"my-local-model": ModelPrice.per_million(input=1, output=2)},
                    store=MemoryBudgetStore())
    tokens = Pipeline([Budget(limit_tokens=10_000, store=MemoryBudgetStore())])
    with pytest.warns(UnknownModelPriceWarning):  # the ledger's price book still has no price
        tokens.call(request, send)
    Pipeline([priced]).call(request, send)
    assert send.calls == 2


def test_overlapping_budgets_are_refused() -> None:
    """Two live budgets with one name in one store but different limits are refused when
    built; the same budget twice on one call is refused at the call, before sending."""
    store = MemoryBudgetStore()
    first = Budget(limit_usd=1, scope="user", store=store)
    with pytest.raises(ConfigurationError, match="overlapping budgets"):
        Budget(limit_usd=2, scope="user", store=store)
    Budget(limit_usd=2, scope="user", store=store, name="user-2")  # named apart: fine
    twin = Budget(limit_usd=1, scope="user", store=store)
    send = MockSender()
    request = ModelRequest(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(ConfigurationError, match="applies twice"):
        Pipeline([first, twin]).call(request.with_tags(user="a"), send)
    assert send.calls == 0


def test_store_urls() -> None:
    """memory://, sqlite:/// and redis:// pick their stores; others are refused."""
    assert type(open_budget_store("memory://")).__name__ == "MemoryBudgetStore"
    assert type(open_budget_store("sqlite:///x.db")).__name__ == "SQLiteBudgetStore"
    assert type(open_budget_store("redis://127.0.0.1:6379/0")).__name__ == "RedisBudgetStore"
    for bad in ("", "postgres://x", "sqlite://relative.db", "sqlite:///"):
        with pytest.raises(ConfigurationError):
            open_budget_store(bad)


def test_memory_url_is_the_process_store() -> None:
    """memory:// names one store per process: the one budgets use when given none."""
    assert open_budget_store("memory://") is open_budget_store("memory://")
    assert Budget(limit_usd=1, name="mem-url-test").store is open_budget_store("memory://")
