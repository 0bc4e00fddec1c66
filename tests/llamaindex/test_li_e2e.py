"""End to end: the real llama_index.llms.openai.OpenAI and OpenAIEmbedding clients talking HTTP
to the provider simulator. For every call style, a query engine over a VectorStoreIndex, a chat
engine, a FunctionAgent with a tool and a StructuredLLM, the ledger's tokens equal what the
simulator billed (``sim.calls``), cache reads and reasoning included, and every cost equals the
price book's for those tokens."""

from __future__ import annotations

from decimal import Decimal

import pytest
from li_fakes import STYLES, call_style
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.tools import FunctionTool
from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.llms.openai import OpenAI
from pydantic import BaseModel

import tokenomy_llamaindex as tli
from tokenomy import CostRecord, EstimatedUsageWarning, MemoryLedger, PriceBook
from tokenomy.testing import ProviderSimulator, SimCall, ToolCall
from tokenomy.testing.pytest_plugin import provider_simulator  # noqa: F401

API_KEY = "sk-simulator-test"
DOCS = [
    Document(text="Paris is the capital and largest city of France."),
    Document(text="Berlin is the capital of Germany, on the river Spree."),
    Document(text="Madrid is the capital of Spain, in the centre of the country."),
]
# A system prompt well over 1,024 tokens: OpenAI (and the simulator) cache such prefixes.
LONG_SYSTEM = "You are a meticulous geography tutor. " + " ".join(
    f"Fact {i}: the capital of country number {i} is city number {i}." for i in range(150)
)


@pytest.fixture
def sim(provider_simulator: ProviderSimulator) -> ProviderSimulator:  # noqa: F811
    """The running simulator of this test."""
    return provider_simulator


def _llm(sim: ProviderSimulator, model: str = "gpt-4o-mini") -> OpenAI:
    return tli.include_stream_usage(
        OpenAI(model=model, api_base=sim.openai_base_url, api_key=API_KEY, max_retries=0)
    )


def _embed(sim: ProviderSimulator) -> OpenAIEmbedding:
    return OpenAIEmbedding(
        model="text-embedding-3-small", api_base=sim.openai_base_url, api_key=API_KEY, max_retries=0
    )


@pytest.fixture
def llm(sim: ProviderSimulator) -> OpenAI:
    """gpt-4o-mini on the simulator, asking for usage at the end of streams."""
    return _llm(sim)


def _price(model: str, call: SimCall) -> Decimal:
    cost = PriceBook.default().price(model, call.usage)
    assert cost is not None
    return cost.total


def assert_matches_simulator(records: list[CostRecord], sim: ProviderSimulator) -> None:
    """One record per simulated call, in order: same model, same tokens, the price book's cost."""
    calls = sim.calls
    assert len(records) == len(calls), (records, calls)
    for record, call in zip(records, calls, strict=True):
        assert record.model == call.model
        assert record.usage.counts() == call.usage.counts(), (record, call)
        assert record.total_cost == _price(record.model, call)
        assert record.kind == ("embedding" if call.api == "embeddings" else record.kind)
        if call.api == "embeddings":
            assert record.estimated  # counted locally: EmbeddingEndEvent carries no usage
        else:
            assert not record.estimated
            assert record.streamed is call.streamed


@pytest.mark.parametrize("style", STYLES)
def test_every_call_style_matches_the_simulator(
    style: str, llm: OpenAI, sim: ProviderSimulator, ledger: MemoryLedger
) -> None:
    """complete/chat/stream_*/a* on the real OpenAI LLM: one record, the simulator's usage
    (streams: the final chunk's, thanks to include_stream_usage) and the price book's cost."""
    with tli.track(ledger=ledger) as tracker:
        call_style(llm, style)
    assert_matches_simulator(ledger.query(), sim)
    assert tracker.cost == _price("gpt-4o-mini", sim.calls[0])
    (record,) = ledger.query()
    assert record.provider == "openai"
    if "stream" in style:
        assert record.ttft_ms is not None and record.ttft_ms <= record.latency_ms  # type: ignore[operator]


def test_a_stream_without_usage_is_estimated_and_flagged(
    sim: ProviderSimulator, ledger: MemoryLedger
) -> None:
    """Without stream_options.include_usage OpenAI streams report no usage: the record is an
    estimate, flagged, and a warning says how to get the real numbers."""
    llm = OpenAI(model="gpt-4o-mini", api_base=sim.openai_base_url, api_key=API_KEY)
    with (
        pytest.warns(EstimatedUsageWarning, match="include_stream_usage"),
        tli.track(ledger=ledger),
    ):
        list(llm.stream_chat([ChatMessage(role="user", content="Name a capital.")]))
    (record,) = ledger.query()
    assert not sim.calls[0].usage_reported
    assert record.estimated and record.usage.input > 0 and record.usage.output > 0


def test_cached_prefix_tokens_are_counted_and_priced(
    llm: OpenAI, sim: ProviderSimulator, ledger: MemoryLedger
) -> None:
    """A > 1,024-token prefix sent twice: the second call's cache reads are the simulator's
    and are priced at the cache-read rate (cheaper than the first call)."""
    with tli.track(ledger=ledger):
        for question in ("Capital of country 3?", "Capital of country 7?"):
            llm.chat(
                [
                    ChatMessage(role="system", content=LONG_SYSTEM),
                    ChatMessage(role="user", content=question),
                ]
            )
        list(
            llm.stream_chat(
                [
                    ChatMessage(role="system", content=LONG_SYSTEM),
                    ChatMessage(role="user", content="Capital of country 9?"),
                ]
            )
        )
    first, second, streamed = ledger.query()
    assert first.usage.input > 1024 and first.usage.cache_read == 0
    assert second.usage.cache_read >= 1024 and streamed.usage.cache_read >= 1024
    assert second.total_cost < first.total_cost  # type: ignore[operator]
    assert_matches_simulator(ledger.query(), sim)


def test_reasoning_tokens_are_counted_and_priced(ledger: MemoryLedger) -> None:
    """A simulator reporting reasoning tokens for o4-mini: they are part of the output, in
    the record and its cost, streamed or not."""
    with ProviderSimulator(reasoning_tokens={"o4-mini*": 96}) as sim:
        llm = _llm(sim, "o4-mini")
        with tli.track(ledger=ledger):
            llm.chat([ChatMessage(role="user", content="Think, then answer: 2+2?")])
            list(llm.stream_chat([ChatMessage(role="user", content="Think again: 3+3?")]))
        assert [r.usage.reasoning for r in ledger.query()] == [96, 96]
        assert_matches_simulator(ledger.query(), sim)


def test_query_engine_over_a_vector_index(
    llm: OpenAI, sim: ProviderSimulator, ledger: MemoryLedger
) -> None:
    """Building a VectorStoreIndex and querying it (plain and streaming): embeddings and LLM
    calls all recorded and matching the simulator. A query is one run whose root is the query
    engine's span, named in tag run_name; a streaming query engine starts its LLM call only
    when the answer is read, after the query span closed, so that call is a run of its own
    (LlamaIndex's span tree says so too)."""
    with tli.track(ledger=ledger, feature="qa") as tracker:
        index = VectorStoreIndex.from_documents(DOCS, embed_model=_embed(sim))
        engine = index.as_query_engine(llm=llm, similarity_top_k=2)
        answer = engine.query("What is the capital of France?")
        streaming = index.as_query_engine(llm=llm, similarity_top_k=2, streaming=True)
        streamed = streaming.query("What is the capital of Spain?")
        "".join(streamed.response_gen)  # type: ignore[union-attr]
    assert str(answer)
    records = ledger.query()
    assert_matches_simulator(records, sim)
    build, embed_q1, chat_q1, embed_q2, chat_q2 = records
    assert [r.kind for r in records] == ["embedding", "embedding", "chat", "embedding", "chat"]
    assert all(r.tags["feature"] == "qa" for r in records)
    assert build.tags["run_name"] == "OpenAIEmbedding.get_text_embedding_batch"
    assert embed_q1.root_run_id == chat_q1.root_run_id
    for r in (embed_q1, chat_q1, embed_q2):
        assert r.root_run_id and r.root_run_id.startswith("RetrieverQueryEngine.query-")
        assert r.tags["run_name"] == "RetrieverQueryEngine.query"
    assert embed_q2.root_run_id != embed_q1.root_run_id
    assert chat_q2.streamed and chat_q2.tags["run_name"] == "OpenAI.stream"
    runs = tracker.report().runs()
    assert sorted(len(run.calls) for run in runs) == [1, 1, 1, 2]
    assert tracker.cost == sum((r.total_cost for r in records), Decimal(0))  # type: ignore[misc]


def test_chat_engine_turns_match_the_simulator(
    llm: OpenAI, sim: ProviderSimulator, ledger: MemoryLedger
) -> None:
    """A condense-plus-context chat engine over two turns (condense, retrieve, answer)."""
    index = VectorStoreIndex.from_documents(DOCS, embed_model=_embed(sim))
    sim.clear()
    chat = index.as_chat_engine(llm=llm, chat_mode="condense_plus_context")
    with tli.track(ledger=ledger, user="u7"):
        chat.chat("Tell me about Paris.")
        chat.stream_chat("And Berlin?").print_response_stream()
    records = ledger.query()
    assert_matches_simulator(records, sim)
    assert {r.tags["run_name"] for r in records} == {
        "CondensePlusContextChatEngine.chat",
        "CondensePlusContextChatEngine.stream_chat",
    }


def _add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


# The workflows package inspects agents with inspect.getmembers (pydantic deprecations).
@pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect")
async def test_function_agent_with_a_tool_call(
    llm: OpenAI, sim: ProviderSimulator, ledger: MemoryLedger
) -> None:
    """A FunctionAgent workflow: the model calls a tool (scripted on the simulator), then
    answers; both streamed LLM calls recorded under the agent's run with exact usage."""
    sim.script(ToolCall(name="_add", arguments={"a": 2, "b": 3}), "2 + 2 + 1 = 5.")
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(_add)], llm=llm)
    with tli.track(ledger=ledger, feature="agent"):
        result = await agent.run("What is 2 + 3?")
    assert "5" in str(result)
    records = ledger.query()
    assert_matches_simulator(records, sim)
    assert len(records) == 2 and all(r.streamed for r in records)
    assert {r.tags["run_name"] for r in records} == {"FunctionAgent.run"}
    assert len({r.root_run_id for r in records}) == 1
    assert records[1].usage.input > records[0].usage.input  # the tool result is in the prompt


class Capital(BaseModel):
    """A structured answer."""

    city: str
    country: str


def test_structured_llm_complete_is_one_record(
    llm: OpenAI, sim: ProviderSimulator, ledger: MemoryLedger
) -> None:
    """StructuredLLM.complete → chat → OpenAI structured_predict → OpenAI.chat (JSON schema):
    nested LLM calls, one provider call, one record."""
    sim.script('{"city": "Paris", "country": "France"}')
    with tli.track(ledger=ledger):
        response = llm.as_structured_llm(Capital).complete("What is the capital of France?")
    assert "Paris" in response.text
    (record,) = ledger.query()
    assert record.name == "OpenAI.chat"
    assert_matches_simulator([record], sim)
