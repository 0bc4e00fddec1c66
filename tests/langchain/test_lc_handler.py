"""TokenomyCallbackHandler fed real LangChain result objects, event by event."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, Generation, LLMResult

from tokenomy import MemoryLedger, PriceBook, Usage
from tokenomy_langchain import TokenomyCallbackHandler

SERIALIZED = {"name": "ChatOpenAI", "id": ["langchain", "chat_models", "openai", "ChatOpenAI"]}
META = {"ls_provider": "openai", "ls_model_name": "gpt-4o-mini", "ls_model_type": "chat"}
USAGE = {
    "input_tokens": 1300,
    "output_tokens": 40,
    "total_tokens": 1340,
    "input_token_details": {"cache_read": 1152},
    "output_token_details": {"reasoning": 10},
}


def _message(usage: dict[str, Any] | None = USAGE, model: str | None = "gpt-4o-mini") -> AIMessage:
    if usage is not None and "total_tokens" not in usage:
        usage = {**usage, "total_tokens": usage["input_tokens"] + usage["output_tokens"]}
    return AIMessage(
        "hi",
        usage_metadata=dict(usage) if usage else None,  # type: ignore[arg-type]
        response_metadata={"model_name": model} if model else {},
    )


def _start(
    handler: TokenomyCallbackHandler,
    *,
    run_id: UUID | None = None,
    metadata: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    parent: UUID | None = None,
    tags: list[str] | None = None,
) -> UUID:
    run_id = run_id or uuid4()
    handler.on_chat_model_start(
        SERIALIZED,
        [[HumanMessage("hello")]],
        run_id=run_id,
        parent_run_id=parent,
        tags=tags,
        metadata=META if metadata is None else metadata,
        invocation_params=params or {"model": "gpt-4o-mini", "model_name": "gpt-4o-mini"},
    )
    return run_id


def _price(model: str, usage: Usage) -> Decimal:
    cost = PriceBook.default().price(model, usage)
    assert cost is not None
    return cost.total


def test_chat_usage_is_read_from_usage_metadata_and_priced() -> None:
    """A chat result's usage_metadata (cached and reasoning parts included) becomes the record's
    usage, priced by the default book; name, provider, framework and run id are LangChain's."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    run_id = _start(handler)
    handler.on_llm_end(LLMResult(generations=[[ChatGeneration(message=_message())]]), run_id=run_id)
    (record,) = ledger.query()
    want = Usage(input=1300, output=40, cache_read=1152, reasoning=10)
    assert record.usage == want
    assert record.cost is not None and record.cost.total == _price("gpt-4o-mini", want)
    assert (record.model, record.provider, record.name) == ("gpt-4o-mini", "openai", "ChatOpenAI")
    assert record.framework == "langchain" and record.kind == "chat"
    assert record.run_id == str(run_id) and record.root_run_id == str(run_id)
    assert record.parent_run_id is None and not record.estimated
    assert record.latency_ms is not None and record.latency_ms >= 0
    assert handler.recorded == 1 and handler.open_runs == 0


def test_choices_of_one_response_count_once_and_prompts_add_up() -> None:
    """n choices carrying the same response usage (langchain-openai copies it onto each) count
    once; generation lists of different prompts are different responses and are summed."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    run_id = _start(handler)
    other = {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}
    result = LLMResult(
        generations=[
            [ChatGeneration(message=_message()), ChatGeneration(message=_message())],
            [ChatGeneration(message=_message(other))],
        ]
    )
    handler.on_llm_end(result, run_id=run_id)
    (record,) = ledger.query()
    assert record.usage == Usage(input=1305, output=42, cache_read=1152, reasoning=10)


def test_distinct_usage_on_generations_of_one_prompt_is_summed() -> None:
    """Generations of one prompt carrying different usage (separate calls) are all counted."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    run_id = _start(handler)
    a = {"input_tokens": 10, "output_tokens": 1, "total_tokens": 11}
    b = {"input_tokens": 10, "output_tokens": 4, "total_tokens": 14}
    gens = [ChatGeneration(message=_message(a)), ChatGeneration(message=_message(b))]
    handler.on_llm_end(LLMResult(generations=[gens]), run_id=run_id)
    assert ledger.query()[0].usage == Usage(input=20, output=5)


def test_chat_llm_output_is_ignored_when_messages_carry_usage() -> None:
    """A chat model's llm_output token_usage repeats the messages' usage: never counted twice."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    run_id = _start(handler)
    result = LLMResult(
        generations=[[ChatGeneration(message=_message({"input_tokens": 9, "output_tokens": 3}))]],
        llm_output={"token_usage": {"prompt_tokens": 9, "completion_tokens": 3}},
    )
    handler.on_llm_end(result, run_id=run_id)
    assert ledger.query()[0].usage == Usage(input=9, output=3)


def test_legacy_llm_token_usage_and_flattened_batch() -> None:
    """A completion LLM's llm_output token_usage is the usage; the empty token_usage that
    LLMResult.flatten() leaves on later prompts of a batch records zero tokens, not estimates."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    full = LLMResult(
        generations=[[Generation(text="a")], [Generation(text="b")]],
        llm_output={
            "token_usage": {"prompt_tokens": 14, "completion_tokens": 6, "total_tokens": 20},
            "model_name": "gpt-3.5-turbo-instruct",
        },
    )
    ids = []
    for part in full.flatten():
        run_id = uuid4()
        ids.append(run_id)
        handler.on_llm_start(
            {"name": "OpenAI"}, ["prompt"], run_id=run_id, metadata={"ls_provider": "openai"}
        )
        handler.on_llm_end(part, run_id=run_id)
    first, second = ledger.query()
    assert first.usage == Usage(input=14, output=6) and first.kind == "completion"
    assert first.model == "gpt-3.5-turbo-instruct"
    assert second.usage == Usage() and not second.estimated


def test_cache_marker_records_a_hit_with_saved_cost_and_no_tokens() -> None:
    """usage_metadata with total_cost 0 (langchain-core's mark on an LLM-cache hit) is a cache
    hit: $0 spent, zero tokens used, cache.saved = the cached call's price."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    run_id = _start(handler)
    hit = _message({**USAGE, "total_cost": 0})
    handler.on_llm_end(LLMResult(generations=[[ChatGeneration(message=hit)]]), run_id=run_id)
    (record,) = ledger.query()
    assert record.is_cache_hit and record.cache.outcome == "exact"
    assert record.usage == Usage() and record.total_cost == 0
    saved = _price("gpt-4o-mini", Usage(input=1300, output=40, cache_read=1152, reasoning=10))
    assert record.cache.saved == saved


@pytest.mark.parametrize(
    ("response_model", "params", "metadata", "want"),
    [
        ("gpt-4o-mini-2024-07-18", {"model": "gpt-4o"}, META, "gpt-4o-mini-2024-07-18"),
        (None, {"model": "gpt-4o"}, META, "gpt-4o"),
        (None, {"model_name": "gpt-4.1-mini"}, META, "gpt-4.1-mini"),
        (None, {"temperature": 0}, META, "gpt-4o-mini"),
    ],
)
def test_model_name_precedence(
    response_model: str | None, params: dict[str, Any], metadata: dict[str, Any], want: str
) -> None:
    """The model is the response's model_name, else the invocation params' model/model_name,
    else the ls_model_name metadata."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    run_id = _start(handler, params=params, metadata=metadata)
    message = _message({"input_tokens": 3, "output_tokens": 1}, model=response_model)
    handler.on_llm_end(LLMResult(generations=[[ChatGeneration(message=message)]]), run_id=run_id)
    record = ledger.query()[0]
    assert record.model == want and record.priced


def test_missing_model_is_recorded_unknown_and_unpriced() -> None:
    """A call whose model is named nowhere is kept as model "unknown", unpriced (cost None)."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    run_id = _start(handler, params={"temperature": 0}, metadata={})
    message = _message({"input_tokens": 3, "output_tokens": 1}, model=None)
    with pytest.warns(UserWarning, match="unknown"):
        handler.on_llm_end(
            LLMResult(generations=[[ChatGeneration(message=message)]]), run_id=run_id
        )
    (record,) = ledger.query()
    assert record.model == "unknown" and record.cost is None and not record.priced
    assert record.usage == Usage(input=3, output=1)


def test_error_is_recorded_with_its_class_and_no_cost() -> None:
    """on_llm_error records the exception class name, zero tokens and $0 when no usage is known."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    run_id = _start(handler)
    handler.on_llm_error(TimeoutError("slow"), run_id=run_id, response=LLMResult(generations=[]))
    (record,) = ledger.query()
    assert record.error == "TimeoutError"
    assert record.usage == Usage() and record.total_cost == 0


def test_error_with_known_usage_is_priced() -> None:
    """A failed run whose response still carries usage (a stream cut after its usage chunk)
    is priced on that usage."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    run_id = _start(handler)
    partial = ChatGeneration(message=_message({"input_tokens": 20, "output_tokens": 4}))
    handler.on_llm_error(
        GeneratorExit(), run_id=run_id, response=LLMResult(generations=[[partial]])
    )
    record = ledger.query()[0]
    assert record.error == "GeneratorExit" and record.usage == Usage(input=20, output=4)
    assert record.total_cost == _price("gpt-4o-mini", Usage(input=20, output=4))


def test_ttft_is_the_first_non_empty_token() -> None:
    """Streamed runs are flagged streamed; ttft_ms is measured to the first non-empty token."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    run_id = _start(handler)
    handler.on_llm_new_token("", run_id=run_id)
    handler.on_llm_new_token("Hel", run_id=run_id)
    handler.on_llm_new_token("lo", run_id=run_id)
    handler.on_llm_end(LLMResult(generations=[[ChatGeneration(message=_message())]]), run_id=run_id)
    record = ledger.query()[0]
    assert record.streamed and record.ttft_ms is not None
    assert record.latency_ms is not None and 0 <= record.ttft_ms <= record.latency_ms


class _BrokenLedger(MemoryLedger):
    def add(self, record: Any) -> None:
        raise OSError("disk full")


def test_tracking_failure_is_logged_counted_and_never_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failure while recording (here the ledger's write) is swallowed, logged on the
    tokenomy_langchain logger and counted in handler.failures."""
    handler = TokenomyCallbackHandler(ledger=_BrokenLedger())
    run_id = _start(handler)
    with caplog.at_level(logging.WARNING, logger="tokenomy_langchain"):
        handler.on_llm_end(
            LLMResult(generations=[[ChatGeneration(message=_message())]]), run_id=run_id
        )
    assert handler.failures == 1 and isinstance(handler.last_failure, OSError)
    assert handler.recorded == 0
    assert any("disk full" in r.getMessage() for r in caplog.records)
    assert handler.raise_error is False


def test_end_without_start_is_ignored() -> None:
    """An end for a run the handler never saw start records nothing and does not fail."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    handler.on_llm_end(LLMResult(generations=[]), run_id=uuid4())
    assert len(ledger) == 0 and handler.failures == 0


def test_run_tree_root_parent_and_bounded_memory() -> None:
    """A model run under chain → tool records its parent and the outermost run as root, the
    root's name as tag run_name; finished runs are forgotten."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    root, tool = uuid4(), uuid4()
    handler.on_chain_start({"name": "RunnableSequence"}, {}, run_id=root, name="answer_question")
    handler.on_tool_start({"name": "search"}, "q", run_id=tool, parent_run_id=root)
    run_id = _start(handler, parent=tool)
    handler.on_llm_end(LLMResult(generations=[[ChatGeneration(message=_message())]]), run_id=run_id)
    handler.on_tool_end("x", run_id=tool)
    handler.on_chain_end({}, run_id=root)
    record = ledger.query()[0]
    assert record.parent_run_id == str(tool) and record.root_run_id == str(root)
    assert record.tags["run_name"] == "answer_question"
    assert handler.open_runs == 0


def test_metadata_and_tags_become_record_tags() -> None:
    """Scalar metadata becomes tags (LangChain/LangGraph internals and non-scalars left out);
    user run tags become lc_tags, without LangChain's positional tags."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger, tags={"team": "search"})
    metadata = {
        **META,
        "user_id": "u-7",
        "tier": 2,
        "langgraph_node": "agent",
        "checkpoint_ns": "x",
        "nested": {"a": 1},
    }
    run_id = _start(handler, metadata=metadata, tags=["beta", "seq:step:2", "beta", "eu"])
    handler.on_llm_end(LLMResult(generations=[[ChatGeneration(message=_message())]]), run_id=run_id)
    tags = ledger.query()[0].tags
    assert tags == {
        "user_id": "u-7",
        "tier": "2",
        "lc_tags": "beta,eu",
        "team": "search",
        "run_name": "ChatOpenAI",
    }


def test_handler_tags_win_over_metadata_and_user_run_name_is_kept() -> None:
    """The handler's own tags override metadata keys; a run_name set by the user is not
    replaced by the root run's name."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger, tags={"feature": "chat"})
    run_id = _start(handler, metadata={**META, "feature": "meta", "run_name": "mine"})
    handler.on_llm_end(LLMResult(generations=[[ChatGeneration(message=_message())]]), run_id=run_id)
    tags = ledger.query()[0].tags
    assert tags["feature"] == "chat" and tags["run_name"] == "mine"
