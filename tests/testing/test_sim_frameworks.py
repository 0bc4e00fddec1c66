"""LangChain and LlamaIndex clients complete calls against the simulator unchanged."""

from __future__ import annotations

from functools import reduce
from typing import Any

import pytest

from tokenomy.testing import ProviderSimulator, ToolCall, echo

KEY = "sk-simulator-test"


def _merge(chunks: list[Any]) -> Any:
    return reduce(lambda a, b: a + b, chunks)


def test_langchain_chat_openai_invoke_and_stream(sim: ProviderSimulator) -> None:
    """ChatOpenAI (chat completions) invokes and streams; its usage_metadata equals the
    simulator's recorded usage."""
    from langchain_openai import ChatOpenAI

    sim.set_answer(echo("echo: "))
    llm = ChatOpenAI(
        model="gpt-4o-mini", base_url=sim.openai_base_url, api_key=KEY, max_retries=0,
        stream_usage=True,
    )  # fmt: skip
    reply = llm.invoke("hello there")
    assert reply.content == "echo: hello there"
    usage = sim.calls[-1].usage
    assert reply.usage_metadata is not None
    assert (reply.usage_metadata["input_tokens"], reply.usage_metadata["output_tokens"]) == (
        usage.input,
        usage.output,
    )
    merged = _merge(list(llm.stream("hello stream")))
    assert merged.content == "echo: hello stream"
    assert sim.calls[-1].streamed and sim.calls[-1].usage_reported
    assert merged.usage_metadata["input_tokens"] == sim.calls[-1].usage.input
    assert merged.usage_metadata["output_tokens"] == sim.calls[-1].usage.output


def test_langchain_chat_openai_responses_api() -> None:
    """ChatOpenAI(use_responses_api=True) invokes and streams through /v1/responses, with
    reasoning tokens reported in output_token_details."""
    from langchain_openai import ChatOpenAI

    with ProviderSimulator(answer=echo(), reasoning_tokens={"gpt-5*": 32}) as reasoning_sim:
        llm = ChatOpenAI(
            model="gpt-5-mini", base_url=reasoning_sim.openai_base_url, api_key=KEY,
            use_responses_api=True, max_retries=0,
        )  # fmt: skip
        reply = llm.invoke("hello responses")
        assert reply.text == "hello responses"
        assert reply.usage_metadata is not None
        assert reply.usage_metadata["output_token_details"]["reasoning"] == 32
        assert reply.usage_metadata["output_tokens"] == reasoning_sim.calls[-1].usage.output
        merged = _merge(list(llm.stream("streamed responses")))
        assert merged.text == "streamed responses"
        assert merged.usage_metadata["input_tokens"] == reasoning_sim.calls[-1].usage.input
        assert [c.api for c in reasoning_sim.calls] == ["responses", "responses"]
        assert [c.streamed for c in reasoning_sim.calls] == [False, True]


def test_langchain_chat_anthropic_invoke_and_stream(sim: ProviderSimulator) -> None:
    """ChatAnthropic invokes and streams; its usage_metadata equals the recorded usage."""
    from langchain_anthropic import ChatAnthropic

    sim.set_answer(echo("claude says: "))
    llm = ChatAnthropic(
        model="claude-haiku-4-5", base_url=sim.anthropic_base_url, api_key=KEY, max_retries=0
    )  # type: ignore[call-arg]
    reply = llm.invoke("hello claude")
    assert reply.content == "claude says: hello claude"
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] == sim.calls[-1].usage.input
    assert reply.usage_metadata["output_tokens"] == sim.calls[-1].usage.output
    merged = _merge(list(llm.stream("hello stream")))
    assert merged.text == "claude says: hello stream"
    assert merged.usage_metadata["input_tokens"] == sim.calls[-1].usage.input
    assert merged.usage_metadata["output_tokens"] == sim.calls[-1].usage.output
    assert sim.calls[-1].streamed


def test_llama_index_openai_chat_complete_and_stream(sim: ProviderSimulator) -> None:
    """llama_index's OpenAI LLM chats, completes and streams against the simulator."""
    from llama_index.core.llms import ChatMessage
    from llama_index.llms.openai import OpenAI

    sim.set_answer(echo("llama: "))
    llm = OpenAI(model="gpt-4o-mini", api_base=sim.openai_base_url, api_key=KEY, max_retries=0)
    reply = llm.chat([ChatMessage(role="user", content="hello llama")])
    assert reply.message.content == "llama: hello llama"
    assert reply.raw.usage.prompt_tokens == sim.calls[-1].usage.input  # type: ignore[union-attr]
    assert llm.complete("complete me").text == "llama: complete me"
    last = None
    for last in llm.stream_chat([ChatMessage(role="user", content="stream me")]):
        pass
    assert last is not None and last.message.content == "llama: stream me"
    assert [c.streamed for c in sim.calls] == [False, False, True]


async def test_llama_index_async_chat(sim: ProviderSimulator) -> None:
    """llama_index's OpenAI LLM works through its async client too."""
    from llama_index.core.llms import ChatMessage
    from llama_index.llms.openai import OpenAI

    sim.set_answer("async ok")
    llm = OpenAI(model="gpt-4o-mini", api_base=sim.openai_base_url, api_key=KEY, max_retries=0)
    reply = await llm.achat([ChatMessage(role="user", content="hi")])
    assert reply.message.content == "async ok"


def test_llama_index_openai_embedding(sim: ProviderSimulator) -> None:
    """OpenAIEmbedding embeds one text and a batch; vectors are the simulator's."""
    from llama_index.embeddings.openai import OpenAIEmbedding

    from tokenomy.testing import embedding_vector

    embedder = OpenAIEmbedding(
        model="text-embedding-3-small", api_base=sim.openai_base_url, api_key=KEY, max_retries=0
    )
    vector = embedder.get_text_embedding("hello")
    assert vector == embedding_vector("hello", 1536)
    batch = embedder.get_text_embedding_batch(["a", "b", "c"])
    assert len(batch) == 3
    assert sim.calls[-1].api == "embeddings"
    assert sim.calls[-1].usage.input == 3


@pytest.mark.parametrize("client", ["chat", "responses", "anthropic"])
def test_langchain_tool_calls_round_trip(sim: ProviderSimulator, client: str) -> None:
    """bind_tools clients get the scripted tool call (invoked and streamed), and the turn
    carrying the tool result gets the final scripted text — an agent loop end to end."""
    from langchain_anthropic import ChatAnthropic
    from langchain_core.messages import HumanMessage, ToolMessage
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    @tool
    def get_weather(city: str) -> str:
        """Weather of a city."""
        return f"sunny in {city}"

    if client == "anthropic":
        llm: Any = ChatAnthropic(
            model="claude-haiku-4-5", base_url=sim.anthropic_base_url, api_key=KEY, max_retries=0
        )  # type: ignore[call-arg]
    else:
        llm = ChatOpenAI(
            model="gpt-4o",
            base_url=sim.openai_base_url,
            api_key=KEY,
            max_retries=0,
            use_responses_api=client == "responses",
        )
    agent = llm.bind_tools([get_weather])
    sim.script(
        ToolCall("get_weather", {"city": "Oslo"}),
        ToolCall("get_weather", {"city": "Rome"}),
        "It is sunny in Oslo.",
    )
    first = agent.invoke([HumanMessage("Weather in Oslo?")])
    assert [(c["name"], c["args"]) for c in first.tool_calls] == [("get_weather", {"city": "Oslo"})]
    streamed = _merge(list(agent.stream([HumanMessage("Weather in Rome?")])))
    assert [(c["name"], c["args"]) for c in streamed.tool_calls] == [
        ("get_weather", {"city": "Rome"})
    ]
    call = first.tool_calls[0]
    result = ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"])
    final = agent.invoke([HumanMessage("Weather in Oslo?"), first, result])
    assert final.text == "It is sunny in Oslo."
    assert sim.answers_pending == 0
    assert len(sim.calls) == 3
