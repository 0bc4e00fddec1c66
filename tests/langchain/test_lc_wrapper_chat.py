"""TokenomyChatModel end to end: the real ChatOpenAI (chat completions and Responses API) and
ChatAnthropic clients over HTTP to the provider simulator, every call style, with a
TokenomyCallbackHandler attached and inside track(): the ledger holds exactly what the
simulator served, call for call, never twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from lc_sim import anthropic, assert_ledger_matches, openai_chat, openai_responses
from lc_wrap import RunStarts, records
from pydantic import BaseModel

import tokenomy
import tokenomy_langchain
from tokenomy import MaxTokens, MemoryLedger, ModelRequest, Policy, TokenomyError
from tokenomy.testing import Answer, Fault, ProviderSimulator, RecordingPolicy
from tokenomy_langchain import TokenomyCallbackHandler, TokenomyChatModel

Factory = Callable[[ProviderSimulator], BaseChatModel]
CLIENTS: dict[str, Factory] = {"openai": openai_chat, "anthropic": anthropic}


@pytest.fixture(params=sorted(CLIENTS))
def make_model(request: pytest.FixtureRequest) -> Factory:
    return CLIENTS[request.param]


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}."


class City(BaseModel):
    """A city and its country."""

    city: str
    country: str


def _wrap(sim: ProviderSimulator, make: Factory, **kw: Any) -> tuple[TokenomyChatModel, MemoryLedger]:
    ledger = MemoryLedger()
    return TokenomyChatModel(make(sim), ledger=ledger, **kw), ledger


def test_invoke_batch_with_handler_and_track(
    provider_simulator: ProviderSimulator, make_model: Factory
) -> None:
    """invoke and batch with a handler in callbacks inside track(): one record per served
    call (3), none from the handler or the block, named after the wrapped model."""
    model, ledger = _wrap(provider_simulator, make_model)
    handler_ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=handler_ledger)
    with tokenomy_langchain.track(ledger=handler_ledger) as tracker:
        model.invoke("What is the capital of France?", config={"callbacks": [handler]})
        model.batch(["Spain?", "Italy?"], config={"callbacks": [handler]})
    got = assert_ledger_matches(ledger, provider_simulator, calls=3)
    assert len(handler_ledger) == 0 and handler.recorded == 0 and handler.failures == 0
    assert {r.name for r in got} == {type(model.model).__name__}
    assert {r.framework for r in got} == {"langchain"}
    assert tracker.calls == 3  # counted in the enclosing block, recorded once


async def test_ainvoke_abatch(provider_simulator: ProviderSimulator, make_model: Factory) -> None:
    """ainvoke and abatch inside track() with a handler: 3 records, as served."""
    model, ledger = _wrap(provider_simulator, make_model)
    handler = TokenomyCallbackHandler(ledger=MemoryLedger())
    with tokenomy_langchain.track(ledger=MemoryLedger()) as tracker:
        await model.ainvoke("Capital of France?", config={"callbacks": [handler]})
        await model.abatch(["Spain?", "Italy?"], config={"callbacks": [handler]})
    assert_ledger_matches(ledger, provider_simulator, calls=3)
    assert handler.recorded == 0 and tracker.calls == 3


def test_stream(provider_simulator: ProviderSimulator, make_model: Factory) -> None:
    """stream: chunks reach the caller and the wrapper's streaming callbacks; one record
    flagged streamed with a ttft, usage as served; the wrapped run nests under the wrapper's."""
    model, ledger = _wrap(provider_simulator, make_model)
    starts = RunStarts()
    handler = TokenomyCallbackHandler(ledger=MemoryLedger())
    with tokenomy_langchain.track(ledger=MemoryLedger()):
        text = "".join(
            c.text for c in model.stream("Hello?", config={"callbacks": [starts, handler]})
        )
    assert text == provider_simulator.calls[0].output_text
    (record,) = assert_ledger_matches(ledger, provider_simulator, calls=1)
    assert record.streamed and record.ttft_ms is not None
    (outer, outer_parent, outer_type), (inner, inner_parent, _) = starts.starts
    assert outer_type == "tokenomy-chat" and outer_parent is None
    assert record.run_id == str(outer) and inner_parent == outer
    assert starts.text_of(outer) == text == starts.text_of(inner)  # both runs got the tokens
    assert handler.recorded == 0


async def test_astream(provider_simulator: ProviderSimulator, make_model: Factory) -> None:
    """astream with a handler: one streamed record, as served, under the wrapper's run id."""
    model, ledger = _wrap(provider_simulator, make_model)
    starts = RunStarts()
    handler = TokenomyCallbackHandler(ledger=MemoryLedger())
    parts = [c.text async for c in model.astream("Hello?", config={"callbacks": [starts, handler]})]
    assert len(parts) > 1 and "".join(parts) == provider_simulator.calls[0].output_text
    (record,) = assert_ledger_matches(ledger, provider_simulator, calls=1)
    assert record.streamed and record.run_id == str(starts.starts[0][0])
    assert str(starts.starts[1][1]) == record.run_id and handler.recorded == 0


def test_responses_api_every_style(provider_simulator: ProviderSimulator) -> None:
    """ChatOpenAI(use_responses_api=True) wrapped: invoke, stream and batch, 4 records as
    served, nothing from the attached handler."""
    model, ledger = _wrap(provider_simulator, openai_responses)
    handler = TokenomyCallbackHandler(ledger=MemoryLedger())
    config: Any = {"callbacks": [handler]}
    model.invoke("Hi?", config=config)
    assert "".join(c.text for c in model.stream("Hi again?", config=config))
    model.batch(["A?", "B?"], config=config)
    assert_ledger_matches(ledger, provider_simulator, calls=4)
    assert handler.recorded == 0


async def test_astream_events(provider_simulator: ProviderSimulator) -> None:
    """astream_events over the wrapper: its on_chat_model_stream events carry the text."""
    model, ledger = _wrap(provider_simulator, openai_chat)
    texts = [
        e["data"]["chunk"].text
        async for e in model.astream_events("Hello?", version="v2")
        if e["event"] == "on_chat_model_stream" and e["name"] == "TokenomyChatModel"
    ]
    assert "".join(texts) == provider_simulator.calls[0].output_text
    assert_ledger_matches(ledger, provider_simulator, calls=1)


def test_tool_round_trip(provider_simulator: ProviderSimulator, make_model: Factory) -> None:
    """bind_tools on the wrapper sends the wrapped model's tool format; a tool call, the tool's
    result and the final answer: 2 records, as served, inside track() with a handler."""
    provider_simulator.script(Answer.tool("get_weather", {"city": "Paris"}), "Sunny in Paris.")
    model, ledger = _wrap(provider_simulator, make_model)
    bound = model.bind_tools([get_weather])
    handler = TokenomyCallbackHandler(ledger=MemoryLedger())
    with tokenomy_langchain.track(ledger=MemoryLedger()):
        messages: list[Any] = [HumanMessage("Weather in Paris?")]
        reply = bound.invoke(messages, config={"callbacks": [handler]})
        assert isinstance(reply, AIMessage) and reply.tool_calls[0]["name"] == "get_weather"
        messages += [reply, ToolMessage(get_weather.invoke(reply.tool_calls[0]["args"]),
                                        tool_call_id=reply.tool_calls[0]["id"] or "")]
        final = bound.invoke(messages, config={"callbacks": [handler]})
    assert final.content == "Sunny in Paris."
    assert_ledger_matches(ledger, provider_simulator, calls=2)
    body = provider_simulator.requests[0].body
    assert "get_weather" in str(body["tools"]) and handler.recorded == 0


def test_streamed_tool_call(provider_simulator: ProviderSimulator, make_model: Factory) -> None:
    """A streamed tool call through the wrapper adds up to the tool call; one record."""
    provider_simulator.script(Answer.tool("get_weather", {"city": "Rome"}))
    model, ledger = _wrap(provider_simulator, make_model)
    chunks = list(model.bind_tools([get_weather]).stream("Weather in Rome?"))
    total = chunks[0]
    for c in chunks[1:]:
        total = total + c
    assert total.tool_calls[0]["args"] == {"city": "Rome"}
    assert_ledger_matches(ledger, provider_simulator, calls=1)


@pytest.mark.parametrize(
    ("make", "method"),
    [
        (openai_chat, "json_schema"),
        (openai_chat, "function_calling"),
        (anthropic, "function_calling"),
    ],
    ids=["openai-json_schema", "openai-function_calling", "anthropic-tool"],
)
def test_structured_output(provider_simulator: ProviderSimulator, make: Factory, method: str) -> None:
    """with_structured_output (the wrapped model's own method, with include_raw too): the
    parsed object comes back and each call is one record, as served, with a handler attached."""
    args = {"city": "Paris", "country": "France"}
    if method == "json_schema":
        provider_simulator.script('{"city":"Paris","country":"France"}', '{"city":"Paris","country":"France"}')
    else:
        provider_simulator.script(Answer.tool("City", args), Answer.tool("City", args))
    model, ledger = _wrap(provider_simulator, make)
    handler = TokenomyCallbackHandler(ledger=MemoryLedger())
    config: Any = {"callbacks": [handler]}
    assert model.with_structured_output(City, method=method).invoke("Paris?", config=config) == City(**args)
    both = model.with_structured_output(City, method=method, include_raw=True).invoke("Paris?", config=config)
    assert both["parsed"] == City(**args) and isinstance(both["raw"], AIMessage)
    assert_ledger_matches(ledger, provider_simulator, calls=2)
    assert handler.recorded == 0


def test_lcel_chain(provider_simulator: ProviderSimulator, make_model: Factory) -> None:
    """prompt | wrapper | parser inside track(): one record under the chain's run, with the
    block's and the wrapper's tags."""
    model, ledger = _wrap(provider_simulator, make_model, tags={"team": "search"})
    chain = ChatPromptTemplate.from_messages([("human", "Capital of {country}?")]) | model | StrOutputParser()
    with tokenomy_langchain.track(ledger=MemoryLedger(), feature="faq"):
        assert chain.invoke({"country": "France"}, config={"metadata": {"user": "u1"}})
    (record,) = assert_ledger_matches(ledger, provider_simulator, calls=1)
    assert record.tags["team"] == "search" and record.tags["feature"] == "faq"
    assert record.tags["user"] == "u1" and record.parent_run_id is not None


@pytest.mark.parametrize(
    ("make", "field"),
    [(openai_chat, "max_completion_tokens"), (openai_responses, "max_output_tokens"), (anthropic, "max_tokens")],
    ids=["openai-chat", "openai-responses", "anthropic"],
)
def test_max_tokens_reaches_the_request_body(
    provider_simulator: ProviderSimulator, make: Factory, field: str
) -> None:
    """MaxTokens(default=40, per_task classify=5) sets the limit in the body the provider got,
    per task (tag on the wrapper), and for invoke and stream alike."""
    model, ledger = _wrap(provider_simulator, make, policies=[MaxTokens(40, per_task={"classify": 5})])
    model.invoke("Hello?")
    list(model.stream("Hello?"))
    TokenomyChatModel(make(provider_simulator), policies=[MaxTokens(40, per_task={"classify": 5})],
                      tags={"task": "classify"}, ledger=ledger).invoke("Spam?")
    assert [r.body[field] for r in provider_simulator.requests] == [40, 40, 5]


def test_caller_max_tokens_is_kept(provider_simulator: ProviderSimulator) -> None:
    """A max_tokens the caller set (on the model or bound) is left as it is by MaxTokens."""
    policies = [MaxTokens(40)]
    TokenomyChatModel(openai_chat(provider_simulator, max_tokens=300), policies).invoke("Hi?")
    TokenomyChatModel(openai_chat(provider_simulator), policies).bind(max_tokens=7).invoke("Hi?")
    assert [r.body["max_completion_tokens"] for r in provider_simulator.requests] == [300, 7]


def test_truncated_response_is_flagged(provider_simulator: ProviderSimulator, make_model: Factory) -> None:
    """A response the simulator cut (finish_reason length / max_tokens) is recorded truncated;
    the next, complete one is not."""
    provider_simulator.inject(Fault.length(2))
    model, ledger = _wrap(provider_simulator, make_model, policies=[MaxTokens(200)])
    model.invoke("Tell me a long story.")
    model.invoke("Hi?")
    cut, whole = records(ledger)
    assert cut.truncated and not whole.truncated


def test_stream_chunks_pass_one_by_one(provider_simulator: ProviderSimulator) -> None:
    """A RecordingPolicy around the wrapper sees its stream complete only after the caller
    read every chunk: the chunks were handed over one by one, not buffered; the record is
    made when the stream ends."""
    recorder = RecordingPolicy()
    model, ledger = _wrap(provider_simulator, openai_chat, policies=[recorder])
    seen: list[tuple[str, int, int]] = []
    for chunk in model.stream("Tell me something."):
        events = [e for _, e, _ in recorder.log]
        seen.append((chunk.text, events.count("complete"), len(ledger)))
    assert len(seen) > 3
    assert all(done == 0 and n == 0 for _, done, n in seen[:-1])
    assert [e for _, e, _ in recorder.log] == ["request", "response", "complete"]
    assert recorder.requests[0].stream and len(ledger) == 1


class RefusedError(TokenomyError):
    """A typed refusal of the test policy."""


class Refuse(Policy):
    """Refuses every call before anything is sent."""

    def before(self, request: ModelRequest) -> ModelRequest:
        raise RefusedError(f"refused {request.model}")


async def test_policy_error_reaches_the_caller_and_nothing_is_sent(
    provider_simulator: ProviderSimulator,
) -> None:
    """A typed error a policy raises before sending propagates from invoke, ainvoke and stream
    unchanged; the simulator received no request and nothing is recorded."""
    model, ledger = _wrap(provider_simulator, openai_chat, policies=[Refuse()])
    with pytest.raises(RefusedError, match="refused gpt-4o-mini"):
        model.invoke("Hi?")
    with pytest.raises(RefusedError):
        await model.ainvoke("Hi?")
    with pytest.raises(RefusedError):
        list(model.stream("Hi?"))
    assert provider_simulator.requests == [] and len(ledger) == 0


def test_tracers_see_the_wrapped_model(provider_simulator: ProviderSimulator) -> None:
    """The wrapper's LangSmith params are the wrapped model's (model name, provider)."""
    model = TokenomyChatModel(anthropic(provider_simulator))
    params = model._get_ls_params()
    assert params["ls_model_name"] == "claude-haiku-4-5" and params["ls_provider"] == "anthropic"
    assert model._identifying_params["wrapped_type"] == "anthropic-chat"
    assert tokenomy.in_pipeline_call() is False


def test_a_wrapped_models_llm_cache_hit_is_recorded_as_a_hit(
    provider_simulator: ProviderSimulator, make_model: Factory
) -> None:
    """The wrapped model answering from LangChain's LLM cache is recorded as a cache hit:
    $0 spent, what the cached call cost as saved; the provider was asked once."""
    from langchain_core.caches import InMemoryCache
    from langchain_core.globals import set_llm_cache

    set_llm_cache(InMemoryCache())
    try:
        model, ledger = _wrap(provider_simulator, make_model)
        first = model.invoke("What is the capital of France?")
        second = model.invoke("What is the capital of France?")
    finally:
        set_llm_cache(None)
    assert second.content == first.content
    assert len(provider_simulator.calls) == 1
    paid, hit = records(ledger)
    assert paid.cache.outcome == "miss" and paid.cost is not None and paid.cost.total > 0
    assert hit.cache.outcome == "exact" and hit.cost is not None and hit.cost.total == 0
    assert hit.cache.saved == paid.cost.total
