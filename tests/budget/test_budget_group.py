"""``budget_a & budget_b``: one atomic reservation against every budget that applies."""

from __future__ import annotations

import contextlib
import threading
from decimal import Decimal
from typing import Any

import pytest

from budget_helpers import until_refused
from tokenomy import (
    Budget,
    BudgetAlert,
    BudgetExceededError,
    BudgetGroup,
    ConfigurationError,
    MemoryBudgetStore,
    ModelRequest,
    Pipeline,
    budget_status,
)
from tokenomy.testing import MockSender


def req(**tags: Any) -> ModelRequest:
    return ModelRequest(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]).with_tags(**tags)


def test_one_reservation_holds_every_line() -> None:
    """While a call is in flight each budget of the group holds the same amount; a refusal
    by the tighter one leaves nothing held on the other (none of the outer-holds-while-inner-
    decides of two separate policies)."""
    store = MemoryBudgetStore()
    group = Budget(limit_usd=1, store=store) & Budget(limit_usd="0.0001", scope="team", store=store)
    assert isinstance(group, BudgetGroup)
    pipe = Pipeline([group])
    held: list[dict[str, Decimal]] = []

    def answer(request: ModelRequest) -> str:
        held.append({s.budget: s.reserved_usd for s in budget_status(store)})
        return "word " * 30

    send = MockSender(answer)
    answered, err = until_refused(lambda: pipe.call(req(team="a"), send))
    assert answered >= 1 and err.budget == "team:day" and err.scope == {"team": "a"}
    assert all(h["global:day"] == h["team:day"] > 0 for h in held)
    rows = {s.budget: s for s in budget_status(store)}
    assert rows["global:day"].reserved_usd == rows["team:day"].reserved_usd == 0
    assert rows["global:day"].spent_usd == rows["team:day"].spent_usd


def test_a_budget_that_does_not_apply_is_left_out() -> None:
    """A per-user member is skipped for a call without a user tag; the global one holds."""
    store = MemoryBudgetStore()
    pipe = Pipeline([Budget(limit_usd=1, store=store) & Budget(limit_usd=1, scope="user", store=store)])
    pipe.call(req(), MockSender())
    assert [s.budget for s in budget_status(store)] == ["global:day"]


def test_the_refusing_budget_decides() -> None:
    """The member that refuses applies its on_exceed: here the feature budget downgrades."""
    store = MemoryBudgetStore()
    group = Budget(limit_usd=1, store=store) & Budget(
        limit_usd="0.0005", scope="feature", on_exceed="downgrade", downgrade_to="gpt-4o-mini",
        store=store,
    )
    send = MockSender(lambda r: "word " * 20)
    big = ModelRequest(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                       params={"max_tokens": 40}).with_tags(feature="f")
    until_refused(lambda: Pipeline([group]).call(big, send))
    models = [r.model for r in send.requests]
    assert models[0] == "gpt-4o" and models[-1] == "gpt-4o-mini"


def test_alerts_fire_for_each_members_line() -> None:
    """Each member's hooks get its own thresholds."""
    store, got = MemoryBudgetStore(), []

    def hook(alert: BudgetAlert) -> None:
        got.append((alert.budget, alert.threshold))

    group = (Budget(limit_usd="0.001", alerts=hook, thresholds=[0.01], store=store)
             & Budget(limit_usd="0.0001", scope="user", alerts=hook, thresholds=[0.1], store=store))
    Pipeline([group]).call(req(user="u"), MockSender(lambda r: "word " * 40))
    assert sorted(got) == [("global:day", 0.01), ("user:day", 0.1)]


def test_concurrent_calls_never_pass_either_limit() -> None:
    """16 threads through a group of a global and a per-team budget: neither is passed and
    nothing is left held."""
    store = MemoryBudgetStore()
    group = Budget(limit_usd="0.002", store=store) & Budget(limit_usd="0.0008", scope="team", store=store)
    pipe = Pipeline([group])
    send = MockSender(lambda r: "word " * 25)

    def run(team: str) -> None:
        for _ in range(30):
            with contextlib.suppress(BudgetExceededError):
                pipe.call(req(team=team), send)

    threads = [threading.Thread(target=run, args=(f"t{i % 4}",)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = budget_status(store)
    by = {(s.budget, s.scope): s for s in rows}
    assert by[("global:day", "")].spent_usd <= Decimal("0.002")
    assert all(s.spent_usd <= Decimal("0.0008") for (b, _), s in by.items() if b == "team:day")
    assert all(s.open_reservations == 0 for s in rows)
    assert by[("global:day", "")].spent_usd == sum(
        (s.spent_usd for (b, _), s in by.items() if b == "team:day"), Decimal(0)
    )


def test_bad_groups() -> None:
    """Different stores, a name twice, a per-request member, or a non-budget are refused."""
    a, b = MemoryBudgetStore(), MemoryBudgetStore()
    with pytest.raises(ConfigurationError, match="one store"):
        Budget(limit_usd=1, store=a) & Budget(limit_usd=1, scope="user", store=b)
    same = Budget(limit_usd=1, store=a)
    with pytest.raises(ConfigurationError, match="twice"):
        BudgetGroup([same, same])
    with pytest.raises(ConfigurationError, match="per request"):
        same & Budget(limit_usd=1, window="request", store=a)
    with pytest.raises(ConfigurationError, match=r"only tokenomy\.Budget"):
        BudgetGroup([same, "budget"])  # type: ignore[list-item]
