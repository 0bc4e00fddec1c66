"""The call pipeline in the core: order of policies, sync and async paths, streams passing
through, answers without a provider call, several attempts under one run, typed refusals."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal

import pytest

import tokenomy
from tokenomy import (
    CacheInfo,
    MemoryLedger,
    ModelRequest,
    ModelResponse,
    Pipeline,
    Policy,
    RunInfo,
    TokenomyError,
)
from tokenomy.pipeline import AsyncCallNext, CallNext
from tokenomy.testing import MockSender, RecordingPolicy

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def request(**changes: object) -> ModelRequest:
    return ModelRequest(model="gpt-4o-mini", messages=QUESTION).replace(**changes)


class RefusedError(TokenomyError):
    """A typed refusal raised before anything is sent."""


class Refuse(Policy):
    def before(self, request: ModelRequest) -> ModelRequest:
        raise RefusedError("over budget: $1.00 of $1.00 spent; raise the limit or wait for reset")


class Answer(Policy):
    """Answers every request itself, as a cache hit, never calling the provider."""

    def handle(self, request: ModelRequest, call_next: CallNext) -> ModelResponse:
        answer = ModelResponse(
            message={"role": "assistant", "content": "Paris, from the cache."},
            usage=tokenomy.Usage(input=14, output=6),
            model=request.model,
            cache=CacheInfo(outcome="exact"),
        )
        return ModelResponse.replay(answer, stream=request.stream)

    async def ahandle(self, request: ModelRequest, call_next: AsyncCallNext) -> ModelResponse:
        return self.handle(request, call_next)  # type: ignore[arg-type]


class RetryOnce(Policy):
    """Calls again when the first attempt raises."""

    def handle(self, request: ModelRequest, call_next: CallNext) -> ModelResponse:
        try:
            return call_next(request)
        except ConnectionError:
            return call_next(request)


def flaky(fail_times: int) -> MockSender:
    count = {"n": 0}

    def handler(req: ModelRequest) -> str | BaseException:
        count["n"] += 1
        if count["n"] <= fail_times:
            return ConnectionError("provider unreachable")
        return "Paris."

    return MockSender(handler)


def test_policies_run_in_order_outermost_first_and_answers_come_back_in_reverse() -> None:
    """Requests pass the policies in the order given; responses come back in reverse."""
    log: list[tuple[str, str, object]] = []
    pipeline = Pipeline([RecordingPolicy("a", log), RecordingPolicy("b", log)], ledger=MemoryLedger())
    pipeline.call(request(), MockSender())
    assert [(who, event) for who, event, _ in log] == [
        ("a", "request"),
        ("b", "request"),
        ("b", "response"),
        ("b", "complete"),
        ("a", "response"),
        ("a", "complete"),
    ]


def test_a_policy_changes_what_is_sent_and_the_next_one_sees_the_change() -> None:
    """A request changed by one policy is what the next policy and the provider get."""

    class Shorten(Policy):
        def before(self, request: ModelRequest) -> ModelRequest:
            return request.with_params(temperature=0.0).with_tags(task="classify")

    recorder = RecordingPolicy("after")
    send = MockSender()
    Pipeline([Shorten(), recorder], ledger=MemoryLedger()).call(request(), send)
    assert recorder.requests[0].params == {"temperature": 0.0}
    assert send.requests[0].params == {"temperature": 0.0}
    assert send.requests[0].tags == {"task": "classify"}


async def test_the_async_path_runs_the_same_policies_and_records_the_call() -> None:
    """``acall`` runs before/after policies and async ``handle``s, and records one call."""
    log: list[tuple[str, str, object]] = []
    ledger = MemoryLedger()
    send = MockSender(lambda r: "Paris.")
    response = await Pipeline(
        [RecordingPolicy("a", log), tokenomy.MaxTokens(50)], ledger=ledger
    ).acall(request(), send.asend)
    assert response.text == "Paris."
    assert send.requests[0].max_tokens == 50
    assert [(w, e) for w, e, _ in log] == [("a", "request"), ("a", "response"), ("a", "complete")]
    (record,) = ledger.query()
    assert record.usage.output == response.usage.output  # type: ignore[union-attr]
    assert record.cost is not None and record.cost.total > 0


async def test_a_sync_only_policy_runs_in_a_worker_thread_on_the_async_path() -> None:
    """A policy overriding only ``handle`` still works for ``acall``: it runs in a thread
    whose ``call_next`` hands the call back to the event loop."""
    loop_thread = threading.get_ident()
    seen: list[int] = []

    class SyncOnly(Policy):
        def handle(self, request: ModelRequest, call_next: CallNext) -> ModelResponse:
            seen.append(threading.get_ident())
            return call_next(request)

    async def asend(req: ModelRequest) -> ModelResponse:
        seen.append(threading.get_ident())
        await asyncio.sleep(0)
        return await MockSender().asend(req)

    response = await Pipeline([SyncOnly()], ledger=MemoryLedger()).acall(request(), asend)
    assert response.text == "ok"
    assert seen[0] != loop_thread and seen[1] == loop_thread


def test_stream_chunks_reach_the_caller_one_by_one() -> None:
    """Each chunk reaches the consumer before the provider produces the next (no buffering),
    through two policies; usage is known when the stream ends and recorded then."""
    events: list[str] = []
    send = MockSender(lambda r: "one two three four")
    send.on_chunk = lambda i: events.append(f"produced {i}")
    ledger = MemoryLedger()
    log: list[tuple[str, str, object]] = []
    response = Pipeline(
        [RecordingPolicy("a", log), RecordingPolicy("b", log)], ledger=ledger
    ).call(request(stream=True), send)
    assert response.is_stream and not response.done
    assert ledger.query() == []  # nothing known until the stream ends
    for i, _chunk in enumerate(response):
        events.append(f"got {i}")
    assert events == [e for i in range(5) for e in (f"produced {i}", f"got {i}")]
    assert response.text == "one two three four"
    (record,) = ledger.query()
    assert record.streamed and record.usage.output == response.usage.output > 0  # type: ignore[union-attr]
    assert record.ttft_ms is not None and record.ttft_ms <= record.latency_ms  # type: ignore[operator]
    assert [e for _, e, _ in log][-2:] == ["complete", "complete"]


async def test_async_streams_pass_through_and_record_at_the_end() -> None:
    """An async stream passes chunk by chunk and is recorded once when it ends."""
    ledger = MemoryLedger()
    response = await Pipeline([RecordingPolicy()], ledger=ledger).acall(
        request(stream=True), MockSender(lambda r: "a b c").asend
    )
    pieces = [chunk.text async for chunk in response]
    assert pieces == ["a", " b", " c", ""]
    assert len(ledger.query()) == 1


def test_a_stream_the_consumer_stops_reading_is_recorded_estimated() -> None:
    """Breaking out of a stream still records the call (the provider billed what it sent),
    with estimated usage and the consumer's stop as the error."""
    ledger = MemoryLedger()
    response = Pipeline([], ledger=ledger).call(request(stream=True), MockSender(lambda r: "a b c d"))
    for _chunk in response:
        break
    del _chunk
    response_iter_closed = response.done
    assert response_iter_closed
    (record,) = ledger.query()
    assert record.error == "GeneratorExit"
    assert record.estimated and record.usage.input > 0


def test_in_pipeline_call_is_true_while_the_provider_is_called_and_streams_are_read() -> None:
    """Handlers can tell a pipeline is recording the call: while send runs and while each
    chunk is produced, never outside."""
    seen: list[bool] = []

    def handler(req: ModelRequest) -> str:
        seen.append(tokenomy.in_pipeline_call())
        return "x y"

    send = MockSender(handler)
    send.on_chunk = lambda i: seen.append(tokenomy.in_pipeline_call())
    response = Pipeline([], ledger=MemoryLedger()).call(request(stream=True), send)
    assert not tokenomy.in_pipeline_call()
    for _ in response:
        assert not tokenomy.in_pipeline_call()
    assert seen == [True, True, True, True]


@pytest.mark.parametrize("stream", [False, True])
def test_a_policy_answers_without_calling_the_provider(stream: bool) -> None:
    """A cache-like policy answers (complete or as a replayed stream); the provider is never
    called and the call is recorded once as a cache hit: $0, with what it saved."""
    ledger = MemoryLedger()
    send = MockSender()
    response = Pipeline([Answer()], ledger=ledger).call(request(stream=stream), send)
    if stream:
        assert response.is_stream
        assert "".join(c.text for c in response) == "Paris, from the cache."
    assert send.calls == 0
    (record,) = ledger.query()
    assert record.cache.outcome == "exact" and record.attempt == 0
    assert record.cost is not None and record.cost.total == Decimal(0)
    assert record.cache.saved is not None and record.cache.saved > 0


def test_several_attempts_are_records_under_one_run_with_their_numbers() -> None:
    """A retry makes two records under the same run: attempt 1 failed, attempt 2 answered."""
    ledger = MemoryLedger()
    with tokenomy.track(feature="qa") as block:
        response = Pipeline([RetryOnce()], ledger=ledger).call(request(), flaky(1))
    assert response.text == "Paris." and response.attempt == 2
    first, second = sorted(ledger.query(), key=lambda r: r.attempt)
    assert (first.attempt, first.error, first.usage.total) == (1, "ConnectionError", 0)
    assert (second.attempt, second.error) == (2, None)
    assert first.run_id == second.run_id
    assert first.parent_run_id == block.run_id
    assert first.tags["feature"] == "qa"
    assert block.calls == 2


def test_a_run_given_by_the_wrapper_is_the_records_run() -> None:
    """RunInfo from the framework (a LangChain run id...) is what every attempt records."""
    ledger = MemoryLedger()
    run = RunInfo(run_id="run-1", parent_run_id="chain-1", root_run_id="chain-0")
    Pipeline([RetryOnce()], ledger=ledger).call(request(run=run), flaky(1))
    assert {(r.run_id, r.parent_run_id, r.root_run_id) for r in ledger.query()} == {
        ("run-1", "chain-1", "chain-0")
    }


def test_a_typed_refusal_reaches_the_caller_before_anything_is_sent() -> None:
    """A policy's typed error propagates unchanged; the provider got nothing; no record."""
    ledger = MemoryLedger()
    send = MockSender()
    with pytest.raises(RefusedError, match="over budget"):
        Pipeline([RecordingPolicy(), Refuse()], ledger=ledger).call(request(), send)
    assert send.calls == 0
    assert ledger.query() == []


def test_a_failed_provider_call_is_recorded_and_raised() -> None:
    """A provider error is recorded (attempt 1, error class, zero tokens) and re-raised."""
    ledger = MemoryLedger()
    with pytest.raises(ConnectionError):
        Pipeline([], ledger=ledger).call(request(), flaky(5))
    (record,) = ledger.query()
    assert record.error == "ConnectionError" and record.usage.total == 0


def test_usage_the_provider_did_not_report_is_estimated_and_flagged() -> None:
    """A response without usage is recorded with estimated usage, flagged."""

    def no_usage(req: ModelRequest) -> ModelResponse:
        return ModelResponse(message={"role": "assistant", "content": "Paris is the capital."})

    ledger = MemoryLedger()
    Pipeline([], ledger=ledger).call(request(), MockSender(no_usage))
    (record,) = ledger.query()
    assert record.estimated and record.usage.input > 0 and record.usage.output > 0


def test_strict_prices_refuse_an_unknown_model_before_sending() -> None:
    """With a strict price book an unknown model is refused before the provider is called."""
    send = MockSender()
    pipeline = Pipeline([], ledger=MemoryLedger(), price_book=tokenomy.PriceBook(strict=True))
    with pytest.raises(tokenomy.UnknownModelPriceError):
        pipeline.call(request(model="no-such-model-xyz"), send)
    assert send.calls == 0


def test_only_policies_are_accepted() -> None:
    """A pipeline built from something that is not a Policy fails with a clear error."""
    with pytest.raises(tokenomy.ConfigurationError, match=r"subclass tokenomy\.Policy"):
        Pipeline([object()])  # type: ignore[list-item]
