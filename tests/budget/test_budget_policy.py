"""``tokenomy.Budget`` as a pipeline policy (MockSender plays the provider): refusal before
sending, max_tokens capped to what is left, settle to the recorded cost, end / downgrade,
scopes, windows, alerts, streams, async, failures."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

import tokenomy
from budget_helpers import auntil_refused, until_refused
from tokenomy import (
    Budget,
    BudgetAlert,
    MemoryBudgetStore,
    MemoryLedger,
    ModelPrice,
    ModelRequest,
    ModelResponse,
    Pipeline,
    PriceBook,
    budget_status,
)
from tokenomy.testing import MockSender

MINI = PriceBook.default().lookup("gpt-4o-mini")
assert MINI is not None


def req(content: str = "Tell me about Paris.", **params: Any) -> ModelRequest:
    return ModelRequest(
        model="gpt-4o-mini", messages=[{"role": "user", "content": content}], params=params
    )


def spent(store: MemoryBudgetStore) -> Decimal:
    return sum((s.spent_usd for s in budget_status(store)), Decimal(0))


def test_refused_before_anything_is_sent() -> None:
    """Over the limit: BudgetExceededError with the numbers and the reset time, raised before
    the sender is called, and nothing recorded."""
    store, ledger = MemoryBudgetStore(), MemoryLedger()
    send = MockSender(lambda r: "word " * 40)
    pipe = Pipeline([Budget(limit_usd="0.0002", store=store)], ledger=ledger)
    calls, err = until_refused(lambda: pipe.call(req(), send))
    assert send.calls == calls and len(ledger.query()) == calls
    assert err.scope == {} and err.limit == Decimal("0.0002") and err.unit == "usd"
    assert err.spent == spent(store) and err.reserved == 0 and err.needed > err.limit - err.spent
    assert err.resets_at is not None and err.resets_at.hour == 0
    assert spent(store) <= Decimal("0.0002")


def test_settles_to_the_recorded_cost() -> None:
    """After a call, the budget holds exactly the ledger's cost (rounded up to a nano-dollar)
    and no open reservation."""
    store, ledger = MemoryBudgetStore(), MemoryLedger()
    pipe = Pipeline([Budget(limit_usd=1, store=store)], ledger=ledger)
    pipe.call(req(), MockSender(lambda r: "Paris is the capital of France."))
    [record] = ledger.query()
    [status] = budget_status(store)
    assert status.spent_usd == record.cost.total  # type: ignore[union-attr]
    assert status.reserved_usd == 0 and status.open_reservations == 0
    assert status.spent_tokens == record.usage.input + record.usage.output


def test_max_tokens_is_capped_to_what_is_left() -> None:
    """A call without max_tokens gets the model's output limit, or less when the budget has
    less left; the caller's own lower value is kept."""
    store = MemoryBudgetStore()
    send = MockSender()
    Pipeline([Budget(limit_usd=100, store=store)]).call(req(), send)
    assert send.requests[-1].max_tokens == 16384  # gpt-4o-mini's own limit
    Pipeline([Budget(limit_usd=100, store=store, name="b2")]).call(req(max_tokens=50), send)
    assert send.requests[-1].max_tokens == 50
    tight = Budget(limit_usd="0.0003", store=store, name="tight")
    Pipeline([tight]).call(req(), send)
    worst = tight.worst(req(), "gpt-4o-mini")
    capped = send.requests[-1].max_tokens
    assert capped is not None and 16 <= capped < 16384
    assert worst.nanos(capped) <= 300_000 < worst.nanos(capped + 1)


def test_the_reservation_covers_reasoning_and_long_context_rates() -> None:
    """Output is reserved at the dearer of the output and reasoning rates, input at the
    long-context tier the prompt reaches."""
    price = ModelPrice.per_million(input=1, output=4, reasoning=10)
    b = Budget(limit_usd=10, prices={"mymodel": price}, store=MemoryBudgetStore())
    worst = b.worst(req(), "mymodel")
    assert worst.rate_pico == 10_000_000  # $10 per million = 10,000,000 pico-dollars a token
    assert worst.estimated  # a non-OpenAI model: its tokenizer is unknown
    assert worst.prompt_tokens >= worst.counted * 1.5


def test_estimated_prompts_get_the_margin() -> None:
    """A plain OpenAI chat prompt is counted exactly; one with tools is raised by the margin."""
    b = Budget(limit_usd=10, store=MemoryBudgetStore())
    plain = b.worst(req(), "gpt-4o-mini")
    assert not plain.estimated and plain.prompt_tokens == plain.counted + 4
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    with_tools = b.worst(req(tools=[tool]), "gpt-4o-mini")
    assert with_tools.estimated and with_tools.prompt_tokens == -(-with_tools.counted * 3 // 2) + 16


def test_on_exceed_end_answers_politely_without_calling() -> None:
    """on_exceed='end': the refused call gets end_message, nothing is sent."""
    send = MockSender(lambda r: "word " * 40)
    pipe = Pipeline([Budget(limit_usd="0.00005", on_exceed="end", end_message="No more.",
                            store=MemoryBudgetStore())])
    texts = [pipe.call(req(), send).text for _ in range(5)]
    assert texts[-1] == "No more." and send.calls == texts.index("No more.")


def test_on_exceed_downgrade_switches_to_the_cheaper_model() -> None:
    """When the model would not fit, the call goes to downgrade_to, tagged with the model it
    was meant for; when neither fits it is refused."""
    ledger = MemoryLedger()
    send = MockSender(lambda r: "word " * 30)
    pipe = Pipeline(
        [Budget(limit_usd="0.002", on_exceed="downgrade", downgrade_to="gpt-4o-mini",
                store=MemoryBudgetStore(), min_output_tokens=64)],
        ledger=ledger,
    )
    big = ModelRequest(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    until_refused(lambda: pipe.call(big, send))
    models = [r.model for r in send.requests]
    assert models[0] == "gpt-4o" and "gpt-4o-mini" in models
    downgraded = [r for r in ledger.query() if r.model.startswith("gpt-4o-mini")]
    assert downgraded and all(r.tags["budget_downgraded_from"] == "gpt-4o" for r in downgraded)


def test_downgrade_at_a_fraction_of_the_limit() -> None:
    """downgrade_at=0.5: once half the limit is used, calls go to the cheaper model."""
    send = MockSender(lambda r: "word " * 30)
    budget = Budget(limit_usd="0.01", on_exceed="downgrade", downgrade_to="gpt-4o-mini",
                    downgrade_at=0.5, store=MemoryBudgetStore())
    pipe = Pipeline([budget])
    big = ModelRequest(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], params={"max_tokens": 50})
    for _ in range(40):
        pipe.call(big, send)
        if send.requests[-1].model == "gpt-4o-mini":
            break
    [status] = budget_status(budget.store)
    assert send.requests[-1].model == "gpt-4o-mini" and send.requests[0].model == "gpt-4o"
    gpt4o = [r for r in send.requests if r.model == "gpt-4o"]
    assert status.spent_usd >= Decimal("0.005") and len(gpt4o) == len(send.requests) - 1


def test_per_user_scope_keeps_one_budget_per_user() -> None:
    """scope='user': each user has the whole limit; a call without the tag is not counted."""
    store = MemoryBudgetStore()
    pipe = Pipeline([Budget(limit_usd="0.0001", scope="user", store=store)])
    send = MockSender(lambda r: "word " * 30)
    _, err = until_refused(lambda: pipe.call(req().with_tags(user="alice"), send))
    assert err.scope == {"user": "alice"}
    pipe.call(req().with_tags(user="bob"), send)
    with tokenomy.track(user="carol"):
        pipe.call(req(), send)
    pipe.call(req(), send)  # no user: not this budget's
    assert {s.scope for s in budget_status(store)} == {"user=alice", "user=bob", "user=carol"}


def test_several_budgets_on_one_call_each_hold_it() -> None:
    """A global and a per-team budget both count one call; the tighter refuses."""
    store = MemoryBudgetStore()
    pipe = Pipeline([
        Budget(limit_usd=1, store=store),
        Budget(limit_usd="0.0001", scope="team", store=store),
    ])
    send = MockSender(lambda r: "word " * 30)
    _, err = until_refused(lambda: pipe.call(req().with_tags(team="a"), send))
    assert err.budget == "team:day"
    rows = {s.budget: s for s in budget_status(store)}
    assert rows["global:day"].spent_usd == rows["team:day"].spent_usd > 0
    assert rows["global:day"].reserved_usd == 0


def test_per_request_and_per_run_windows() -> None:
    """window='request' limits each call alone (max_tokens capped, never refused across
    calls); window='run' adds up the calls of one track() block."""
    store = MemoryBudgetStore()
    send = MockSender(lambda r: "word " * 30)
    per_call = Pipeline([Budget(limit_usd="0.00002", window="request", store=store)])
    for _ in range(5):
        per_call.call(req(), send)
    assert all(r.max_tokens is not None and r.max_tokens < 40 for r in send.requests)
    per_run = Pipeline([Budget(limit_usd="0.0001", window="run", store=store)])
    with tokenomy.track():
        _, err = until_refused(lambda: per_run.call(req(), send))
    assert err.resets_at is None
    with tokenomy.track():
        per_run.call(req(), send)  # a new run starts afresh


def test_token_budget() -> None:
    """limit_tokens counts input + output tokens."""
    store = MemoryBudgetStore()
    pipe = Pipeline([Budget(limit_tokens=200, store=store)])
    _, err = until_refused(lambda: pipe.call(req(), MockSender(lambda r: "word " * 10)))
    assert err.unit == "tokens" and err.limit == 200
    [status] = budget_status(store)
    assert status.spent_tokens <= 200


def test_streams_settle_when_they_end() -> None:
    """A streamed call holds its reservation until the stream is read, then settles."""
    store, ledger = MemoryBudgetStore(), MemoryLedger()
    pipe = Pipeline([Budget(limit_usd=1, store=store)], ledger=ledger)
    response = pipe.call(req().replace(stream=True), MockSender(lambda r: "a b c d"))
    [status] = budget_status(store)
    assert status.open_reservations == 1 and status.spent_usd == 0
    text = "".join(c.text for c in response)
    [status] = budget_status(store)
    assert text == "a b c d" and status.open_reservations == 0
    assert status.spent_usd == ledger.query()[0].cost.total  # type: ignore[union-attr]


async def test_async_calls() -> None:
    """acall: reserved and settled like sync calls, refused before sending."""
    store = MemoryBudgetStore()
    send = MockSender(lambda r: "word " * 40)
    pipe = Pipeline([Budget(limit_usd="0.0002", store=store)])
    calls, _ = await auntil_refused(lambda: pipe.acall(req(), send.asend))
    assert send.calls == calls
    await asyncio.sleep(0)
    [status] = budget_status(store)
    assert status.open_reservations == 0 and status.spent_usd <= Decimal("0.0002")


def test_a_failed_call_releases_its_reservation() -> None:
    """The provider failing (nothing billed) gives the whole reservation back."""
    store = MemoryBudgetStore()
    pipe = Pipeline([Budget(limit_usd=1, store=store)])
    with pytest.raises(RuntimeError):
        pipe.call(req(), MockSender(lambda r: RuntimeError("provider down")))
    [status] = budget_status(store)
    assert status.spent_usd == 0 and status.open_reservations == 0


def test_a_stream_cut_short_is_charged_what_was_generated() -> None:
    """A stream the caller stops reading settles to the (estimated) cost of what came."""
    store = MemoryBudgetStore()
    pipe = Pipeline([Budget(limit_usd=1, store=store)])
    response = pipe.call(req().replace(stream=True), MockSender(lambda r: "word " * 50))
    it = iter(response)
    next(it)
    next(it)
    it.close()  # type: ignore[attr-defined]
    [status] = budget_status(store)
    assert status.open_reservations == 0 and status.spent_usd > 0


def test_alerts_fire_once_per_threshold() -> None:
    """A callable and 'log' alert at 50/75/90%, once each per window."""
    got: list[BudgetAlert] = []
    pipe = Pipeline([Budget(limit_usd="0.0002", alerts=[got.append, "log"], store=MemoryBudgetStore())])
    until_refused(lambda: pipe.call(req(), MockSender(lambda r: "word " * 40)))
    assert [a.threshold for a in got] == [0.5, 0.75, 0.9]
    assert all(a.spent >= Decimal(str(a.threshold)) * a.limit for a in got)


def test_alert_to_a_webhook_on_loopback(caplog: pytest.LogCaptureFixture) -> None:
    """A URL alert POSTs the alert as JSON (to a loopback server here)."""
    bodies: list[dict[str, Any]] = []
    done = threading.Event()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()
            done.set()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/alert"
        pipe = Pipeline([Budget(limit_usd="0.001", alerts=url, thresholds=[0.01],
                                store=MemoryBudgetStore())])
        pipe.call(req(), MockSender(lambda r: "word " * 40))
        assert done.wait(5)
    finally:
        server.shutdown()
    assert bodies[0]["threshold"] == 0.01 and bodies[0]["budget"] == "global:day"
    assert Decimal(bodies[0]["spent"]) > 0


def test_a_failing_alert_hook_does_not_break_the_call(caplog: pytest.LogCaptureFixture) -> None:
    """A hook that raises is logged; the call's answer still comes back."""
    def broken(alert: BudgetAlert) -> None:
        raise ValueError("hook bug")

    pipe = Pipeline([Budget(limit_usd="0.0001", alerts=broken, thresholds=[0.01],
                            store=MemoryBudgetStore())])
    with caplog.at_level(logging.ERROR, logger="tokenomy.budget"):
        assert pipe.call(req(), MockSender(lambda r: "fine")).text == "fine"
    assert "hook bug" in caplog.text


def test_a_cache_hit_inside_costs_nothing() -> None:
    """A policy inside the budget that answers without a provider call settles to $0."""
    class Cache(tokenomy.Policy):
        def handle(self, request: ModelRequest, call_next: Any) -> ModelResponse:
            return ModelResponse(message={"role": "assistant", "content": "cached"})

    store = MemoryBudgetStore()
    Pipeline([Budget(limit_usd=1, store=store), Cache()]).call(req(), MockSender())
    [status] = budget_status(store)
    assert status.spent_usd == 0 and status.open_reservations == 0


def test_dense_text_gets_one_token_per_two_bytes() -> None:
    """A prompt the estimator packs densely (a long run of one letter) to a non-OpenAI model
    is bounded at one token per two bytes: Claude billed 2.4-3 bytes per token for such text."""
    b = Budget(limit_tokens=10**7, store=MemoryBudgetStore())
    request = ModelRequest(model="claude-sonnet-4-5", provider="anthropic",
                           messages=[{"role": "user", "content": "a" * 10_000}])
    worst = b.worst(request, "claude-sonnet-4-5")
    assert worst.estimated and worst.counted * 1.5 < 5000 <= worst.prompt_tokens
