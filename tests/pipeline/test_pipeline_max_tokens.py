"""``MaxTokens``: sets a limit where the caller set none, per task, keeps or caps the caller's,
and a response cut by the limit is recorded as truncated."""

from __future__ import annotations

import pytest

import tokenomy
from tokenomy import MaxTokens, MemoryLedger, ModelRequest, Pipeline
from tokenomy.testing import MockSender

LONG = "The capital of France is Paris, which lies on the Seine in the north of the country."


def sent(policy: MaxTokens, request: ModelRequest) -> ModelRequest:
    send = MockSender(lambda r: "ok")
    Pipeline([policy], ledger=MemoryLedger()).call(request, send)
    return send.requests[0]


def req(**params: object) -> ModelRequest:
    return ModelRequest(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], params=params)


def test_sets_the_default_where_the_caller_set_none() -> None:
    """No max_tokens from the caller: the default is sent."""
    assert sent(MaxTokens(256), req()).max_tokens == 256


def test_keeps_the_callers_value_unless_told_to_cap() -> None:
    """A caller's limit is kept (even above the default) unless cap=True lowers it."""
    assert sent(MaxTokens(256), req(max_tokens=1000)).max_tokens == 1000
    assert sent(MaxTokens(256, cap=True), req(max_tokens=1000)).max_tokens == 256
    assert sent(MaxTokens(256, cap=True), req(max_tokens=100)).max_tokens == 100


def test_per_task_limits_come_from_the_call_or_the_enclosing_block() -> None:
    """The task is tag ``task`` on the request, else on the enclosing track() block."""
    policy = MaxTokens(500, per_task={"classify": 8})
    assert sent(policy, req().with_tags(task="classify")).max_tokens == 8
    with tokenomy.track(task="classify"):
        assert sent(policy, req()).max_tokens == 8
    with tokenomy.track(task="write"):
        assert sent(policy, req()).max_tokens == 500
    only_tasks = MaxTokens(per_task={"classify": 8}, task_tag="kind")
    assert sent(only_tasks, req()).max_tokens is None
    assert sent(only_tasks, req().with_tags(kind="classify")).max_tokens == 8


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10"])
def test_limits_must_be_whole_numbers(bad: object) -> None:
    """A limit that is not a whole number >= 1 is a ConfigurationError naming it."""
    with pytest.raises(tokenomy.ConfigurationError, match="whole number"):
        MaxTokens(bad)  # type: ignore[arg-type]
    with pytest.raises(tokenomy.ConfigurationError, match="per_task"):
        MaxTokens(per_task={"x": bad})  # type: ignore[dict-item]


@pytest.mark.parametrize("stream", [False, True])
def test_a_response_cut_by_the_limit_is_recorded_truncated(stream: bool) -> None:
    """The provider stops at the limit (finish_reason "length"): the record says truncated;
    a response that fits does not."""
    ledger = MemoryLedger()
    pipeline = Pipeline([MaxTokens(per_task={"short": 5})], ledger=ledger)
    send = MockSender(lambda r: LONG)
    for task in ("short", "long"):
        response = pipeline.call(req().with_tags(task=task).replace(stream=stream), send)
        response.consume()
        assert response.truncated is (task == "short")
    records = {r.tags["task"]: r for r in ledger.query()}
    assert records["short"].truncated and records["short"].usage.output == 5
    assert not records["long"].truncated
