"""TokenomyLLM over the real llama_index.llms.openai.OpenAI client, talking HTTP to the provider
simulator: every call style, tool calling, an agent, structured output, a query engine with
``Settings.llm`` and a chat engine. The ledger equals what the simulator served, call for call,
with tokenomy's handlers attached too (``instrument()``, ``track()``, the legacy callback
handler): no call is recorded twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from li_fakes import STYLES, call_style
from li_wrapper_helpers import assert_ledger_is_simulator, embed_model, openai_llm, wrap
from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.callbacks import CallbackManager
from llama_index.core.chat_engine.types import ChatMode
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

import tokenomy_llamaindex as tli
from tokenomy import MemoryLedger
from tokenomy.testing import ProviderSimulator, ToolCall
from tokenomy.testing.pytest_plugin import provider_simulator  # noqa: F401

DOCS = [
    Document(text="Paris is the capital and largest city of France."),
    Document(text="Berlin is the capital of Germany, on the river Spree."),
    Document(text="Madrid is the capital of Spain, in the centre of the country."),
]


@pytest.fixture
def sim(provider_simulator: ProviderSimulator) -> ProviderSimulator:  # noqa: F811
    """The running simulator of this test."""
    return provider_simulator


@pytest.fixture
def settings_restored() -> Iterator[None]:
    """Whatever a test puts in ``Settings`` is taken back out."""
    llm, embed = Settings._llm, Settings._embed_model
    yield
    Settings._llm, Settings._embed_model = llm, embed


@pytest.mark.parametrize("attached", ["instrument", "track", "callback"])
@pytest.mark.parametrize("style", STYLES)
def test_every_call_style_is_one_record_with_handlers_attached(
    style: str, attached: str, sim: ProviderSimulator, ledger: MemoryLedger
) -> None:
    """complete/chat/stream_*/a* through TokenomyLLM: one record per provider call with the
    simulator's model and usage, while tokenomy's event+span handlers (``instrument()`` or a
    ``track()`` block) or its legacy callback handler record into the same ledger."""
    inner = openai_llm(sim)
    llm = wrap(inner, ledger)
    block = None
    if attached == "instrument":
        tli.instrument(ledger=ledger)
        call_style(llm, style)
    elif attached == "track":
        with tli.track(ledger=ledger, feature="wrapped") as tracker:
            call_style(llm, style)
        assert len(tracker.records) == 1
        assert tracker.records[0].tags["feature"] == "wrapped"
        block = tracker.run_id
    else:
        inner.callback_manager = CallbackManager([tli.TokenomyCallbackHandler(ledger=ledger)])
        call_style(llm, style)
    assert_ledger_is_simulator(ledger.query(), sim)
    (record,) = ledger.query()
    assert record.provider == "openai"
    assert record.kind == ("completion" if "complete" in style else "chat")
    # made outside any span: a run of its own, under the track() block when there is one
    assert record.run_id and record.parent_run_id == block
    assert record.name == "OpenAI." + style


def test_each_provider_call_fires_the_wrapped_llms_events_once(
    sim: ProviderSimulator, ledger: MemoryLedger
) -> None:
    """The wrapper fires no LLM events of its own: another observability handler sees each
    real call once (the wrapped OpenAI's start and end), and tokenomy still records it."""
    from llama_index.core.instrumentation.event_handlers import BaseEventHandler
    from llama_index.core.instrumentation.events.llm import LLMChatEndEvent, LLMChatStartEvent
    from llama_index_instrumentation import get_dispatcher

    class Seen(BaseEventHandler):
        starts: int = 0
        ends: int = 0

        @classmethod
        def class_name(cls) -> str:
            return "Seen"

        def handle(self, event: object, **kwargs: object) -> None:
            if isinstance(event, LLMChatStartEvent):
                self.starts += 1
            elif isinstance(event, LLMChatEndEvent):
                self.ends += 1

    seen = Seen()
    root = get_dispatcher()
    root.add_event_handler(seen)
    try:
        tli.instrument(ledger=ledger)
        wrap(openai_llm(sim), ledger).chat([ChatMessage(role="user", content="Hi.")])
    finally:
        root.event_handlers.remove(seen)
    assert (seen.starts, seen.ends) == (1, 1)
    assert_ledger_is_simulator(ledger.query(), sim)


def _add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def test_predict_and_call_runs_the_tool(sim: ProviderSimulator, ledger: MemoryLedger) -> None:
    """predict_and_call with a FunctionTool: the wrapped OpenAI's tool format reaches the
    simulator, its tool call is read back the OpenAI way and the tool runs; one record."""
    sim.script(ToolCall(name="_add", arguments={"a": 2, "b": 3}))
    tli.instrument(ledger=ledger)
    llm = wrap(openai_llm(sim), ledger)
    result = llm.predict_and_call([FunctionTool.from_defaults(_add)], user_msg="2 + 3?")
    assert result.response == "5"
    assert sim.requests[0].body["tools"][0]["function"]["name"] == "_add"
    assert_ledger_is_simulator(ledger.query(), sim)


async def test_achat_with_tools_returns_the_tool_calls(
    sim: ProviderSimulator, ledger: MemoryLedger
) -> None:
    """achat_with_tools + get_tool_calls_from_response: the tool selection the model made."""
    sim.script(ToolCall(name="_add", arguments={"a": 4, "b": 1}))
    llm = wrap(openai_llm(sim), ledger)
    tool = FunctionTool.from_defaults(_add)
    response = await llm.achat_with_tools([tool], user_msg="4 + 1?")
    (selection,) = llm.get_tool_calls_from_response(response)
    assert (selection.tool_name, selection.tool_kwargs) == ("_add", {"a": 4, "b": 1})
    assert_ledger_is_simulator(ledger.query(), sim)


# The workflows package inspects agents with inspect.getmembers (pydantic deprecations).
@pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect")
async def test_function_agent_round_trip(sim: ProviderSimulator, ledger: MemoryLedger) -> None:
    """A FunctionAgent on TokenomyLLM: the tool call, the tool, the answer; two streamed
    records under one agent run, none twice although ``instrument()`` is active."""
    sim.script(ToolCall(name="_add", arguments={"a": 2, "b": 3}), "2 + 3 = 5.")
    tli.instrument(ledger=ledger)
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(_add)], llm=wrap(openai_llm(sim), ledger))
    result = await agent.run("What is 2 + 3?")
    assert "5" in str(result)
    records = ledger.query()
    assert_ledger_is_simulator(records, sim)
    assert len(records) == 2 and all(r.streamed for r in records)
    assert len({r.root_run_id for r in records}) == 1
    assert records[0].root_run_id.startswith("FunctionAgent.run-")  # type: ignore[union-attr]


class Capital(BaseModel):
    """A structured answer."""

    city: str
    country: str


def test_structured_predict_and_structured_llm(
    sim: ProviderSimulator, ledger: MemoryLedger
) -> None:
    """structured_predict and as_structured_llm(...).complete go through the wrapper's tool
    calling (FunctionCallingProgram): one record per provider call, the StructuredLLM around
    the wrapper is not recorded by the attached handler."""
    from llama_index.core.prompts import PromptTemplate

    capital = {"city": "Paris", "country": "France"}
    sim.script(ToolCall(name="Capital", arguments=capital), ToolCall(name="Capital", arguments=capital))
    tli.instrument(ledger=ledger)
    llm = wrap(openai_llm(sim), ledger)
    out = llm.structured_predict(Capital, PromptTemplate("Capital of {country}?"), country="France")
    assert out == Capital(**capital)
    response = llm.as_structured_llm(Capital).complete("What is the capital of France?")
    assert "Paris" in response.text
    assert_ledger_is_simulator(ledger.query(), sim)
    assert [r.name for r in ledger.query()] == ["OpenAI.chat", "OpenAI.chat"]


def test_query_engine_with_settings_llm(
    sim: ProviderSimulator, ledger: MemoryLedger, settings_restored: None
) -> None:
    """``Settings.llm = TokenomyLLM(...)``: a VectorStoreIndex query engine (plain and
    streaming): embeddings recorded by the handlers, LLM calls by the pipeline, each once."""
    Settings.llm = wrap(openai_llm(sim), ledger)
    Settings.embed_model = embed_model(sim)
    with tli.track(ledger=ledger, feature="qa"):
        index = VectorStoreIndex.from_documents(DOCS)
        answer = index.as_query_engine(similarity_top_k=2).query("Capital of France?")
        streamed = index.as_query_engine(similarity_top_k=2, streaming=True).query("Spain?")
        "".join(streamed.response_gen)  # type: ignore[union-attr,arg-type]
    assert str(answer)
    records = ledger.query()
    assert_ledger_is_simulator(records, sim)
    assert [r.kind for r in records] == ["embedding", "embedding", "chat", "embedding", "chat"]
    assert all(r.tags["feature"] == "qa" for r in records)
    chat = records[2]
    assert chat.root_run_id == records[1].root_run_id  # the query's run, from the span tree
    assert chat.root_run_id.startswith("RetrieverQueryEngine.query-")  # type: ignore[union-attr]


def test_chat_engine_turns(sim: ProviderSimulator, ledger: MemoryLedger) -> None:
    """A condense-plus-context chat engine on TokenomyLLM over two turns, one streamed."""
    index = VectorStoreIndex.from_documents(DOCS, embed_model=embed_model(sim))
    sim.clear()
    chat = index.as_chat_engine(llm=wrap(openai_llm(sim), ledger), chat_mode=ChatMode.CONDENSE_PLUS_CONTEXT)
    with tli.track(ledger=ledger, user="u7"):
        chat.chat("Tell me about Paris.")
        chat.stream_chat("And Berlin?").print_response_stream()
    records = ledger.query()
    assert_ledger_is_simulator(records, sim)
    assert {r.tags["user"] for r in records} == {"u7"}
    assert any(r.kind == "chat" and r.streamed for r in records)
