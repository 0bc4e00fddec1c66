"""``report/_json.dumps``: the indented JSON of a report, byte for byte ``json.dumps``'s.

``Report.to_json`` writes its dict with it (the standard library's indented encoder is pure
Python and was half of the command's own work on a big ledger). For any JSON-like value it
writes what ``json.dumps(value, indent=n)`` writes; values it does not know (non-string keys,
other types, cycles) go to ``json.dumps`` itself (the same text, or the same error).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenomy.report import Report
from tokenomy.report._json import dumps

_leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.sampled_from((0.0, -0.0, float("inf"), float("-inf"), 1e-300, 1.5e300))
    | st.text()
)
_values = st.recursive(
    _leaves,
    lambda inner: st.lists(inner, max_size=4)
    | st.lists(inner, max_size=3).map(tuple)
    | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(_values, st.sampled_from((0, 1, 2, 4)))
def test_dumps_writes_what_json_dumps_writes(value: Any, indent: int) -> None:
    """Any JSON-like value (nested dicts, lists, tuples, every kind of number and string,
    NaN and the infinities) comes out as ``json.dumps(value, indent=indent)``."""
    assert dumps(value, indent) == json.dumps(value, indent=indent)


def test_unknown_values_are_json_dumps_own() -> None:
    """Non-string keys, other types and cycles are handed to ``json.dumps``: the same text
    (keys converted) or the same error."""
    value = {1: [True, None], 2.5: {"a": ()}, None: "x", False: 0}
    assert dumps(value) == json.dumps(value, indent=2)
    with pytest.raises(TypeError, match="Decimal"):
        dumps({"a": Decimal("1.5")})
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular reference"):
        dumps(cycle)


def test_report_json_is_json_dumps_of_its_dict() -> None:
    """``Report.to_json`` is ``json.dumps(to_dict(), indent=...)`` whatever the indent."""
    from tokenomy.ledger import CostRecord
    from tokenomy.pricing import Cost
    from tokenomy.usage import Usage

    report = Report(
        [
            CostRecord(model="m", usage=Usage(10, 5), tags={"feature": "é"},
                       cost=Cost(Decimal("0.0012"), {"input": Decimal("0.0012")}), priced=True),
            CostRecord(model="x", usage=Usage(3, 1), latency_ms=12.5),
        ]
    )  # fmt: skip
    data = report.to_dict(by="feature")
    assert report.to_json(by="feature") == json.dumps(data, indent=2)
    assert report.to_json(by="feature", indent=4) == json.dumps(data, indent=4)
    assert report.to_json(by="feature", indent=None) == json.dumps(data)
