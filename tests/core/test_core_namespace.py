"""The public namespace: sorted, complete, lazy, and free of import side effects."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from decimal import Decimal

import pytest

import tokenomy


def test_all_is_sorted_and_pinned() -> None:
    """__all__ is sorted and every name in it resolves to an object."""
    assert list(tokenomy.__all__) == sorted(tokenomy.__all__)
    for name in tokenomy.__all__:
        assert getattr(tokenomy, name) is not None, name


def test_dir_lists_public_names() -> None:
    """dir(tokenomy) shows the lazily imported names too."""
    assert set(tokenomy.__all__) <= set(dir(tokenomy))


def test_unknown_attribute_raises_attribute_error() -> None:
    """A misspelt name is an AttributeError, not an ImportError."""
    with pytest.raises(AttributeError, match="not_a_thing"):
        tokenomy.not_a_thing  # type: ignore[attr-defined]


def _run(code: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_loads_nothing_heavy() -> None:
    """import tokenomy imports neither litellm, LangChain, LlamaIndex, tiktoken, pydantic nor rich."""
    result = _run(
        """
        import json, sys
        import tokenomy
        heavy = {"litellm", "langchain_core", "langchain", "llama_index", "tiktoken", "pydantic",
                 "rich", "psycopg", "openai", "anthropic", "gptcache"}
        print(json.dumps({"loaded": sorted({m.split(".")[0] for m in sys.modules} & heavy)}))
        """
    )
    assert result["loaded"] == []


def test_import_has_no_side_effects(tmp_path: object) -> None:
    """Importing tokenomy starts no thread, writes no file, changes no env, warning or log setup."""
    result = _run(
        f"""
        import json, logging, os, sys, threading, warnings
        os.chdir({str(tmp_path)!r})
        before = (threading.active_count(), dict(os.environ), list(warnings.filters),
                  list(logging.getLogger().handlers), sorted(os.listdir(".")))
        import tokenomy, tokenomy.pricing, tokenomy.usage, tokenomy.ledger
        after = (threading.active_count(), dict(os.environ), list(warnings.filters),
                 list(logging.getLogger().handlers), sorted(os.listdir(".")))
        print(json.dumps({{"same": [b == a for b, a in zip(before, after)]}}))
        """
    )
    assert result["same"] == [True, True, True, True, True]


def test_litellm_never_imported_while_pricing() -> None:
    """Pricing a call with the default book never imports litellm (it would fetch prices)."""
    result = _run(
        """
        import json, sys
        from tokenomy import Usage
        from tokenomy.pricing import PriceBook
        cost = PriceBook.default().price("gpt-4o", Usage(input=10, output=10))
        print(json.dumps({"litellm": "litellm" in sys.modules, "cost": str(cost.total)}))
        """
    )
    assert result["litellm"] is False
    assert Decimal(str(result["cost"])) == Decimal("0.000125")
