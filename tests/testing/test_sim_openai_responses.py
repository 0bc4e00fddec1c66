"""The OpenAI Responses API through the real openai SDK against the simulator."""

from __future__ import annotations

import json

import openai

from tokenomy.testing import Answer, ProviderSimulator
from tokenomy.tokens import count_text, estimate_request
from tokenomy.usage import Usage

TEXT_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    *["response.output_text.delta"] * 5,
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]
ANSWER = "The answer is simple."  # 5 tokens in o200k_base


def test_answer_has_five_tokens() -> None:
    """The fixture answer splits into five o200k tokens (the stream below has five deltas)."""
    assert count_text(ANSWER, "gpt-4.1") == 5


def test_response_usage_matches_estimate_and_recorded_call(
    sim: ProviderSimulator, oai: openai.OpenAI
) -> None:
    """A non-streamed response: output_text, input tokens equal to tokenomy's estimate of the
    body, output tokens of the answer, and the same usage recorded on the call."""
    sim.set_answer(ANSWER)
    r = oai.responses.create(model="gpt-4.1", instructions="Be brief.", input="Meaning of life?")
    assert r.output_text == ANSWER
    assert r.status == "completed"
    assert r.object == "response"
    assert r.id.startswith("resp_")
    assert r.usage is not None
    assert r.usage.input_tokens == estimate_request(sim.requests[-1].body).prompt_tokens
    assert r.usage.output_tokens == 5
    assert r.usage.total_tokens == r.usage.input_tokens + 5
    assert r.usage.input_tokens_details.cached_tokens == 0
    assert r.usage.output_tokens_details.reasoning_tokens == 0
    call = sim.calls[-1]
    assert (call.api, call.streamed, call.model) == ("responses", False, "gpt-4.1")
    assert call.usage == Usage(input=r.usage.input_tokens, output=5)


def test_stream_follows_the_real_event_sequence(sim: ProviderSimulator, oai: openai.OpenAI) -> None:
    """stream=True yields exactly created, in_progress, output_item.added,
    content_part.added, the text deltas, output_text.done, content_part.done,
    output_item.done and completed, numbered 0..n-1, with usage on the completed response."""
    sim.set_answer(ANSWER)
    events = list(
        oai.responses.create(
            model="gpt-4.1",
            input=[{"role": "user", "content": [{"type": "input_text", "text": "Meaning?"}]}],
            stream=True,
        )
    )
    assert [e.type for e in events] == TEXT_EVENTS
    assert [e.sequence_number for e in events] == list(range(len(TEXT_EVENTS)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]  # type: ignore[union-attr]
    assert "".join(deltas) == ANSWER
    assert events[0].response.status == "in_progress"  # type: ignore[union-attr]
    assert events[0].response.usage is None  # type: ignore[union-attr]
    done = events[-1].response  # type: ignore[union-attr]
    assert done.output_text == ANSWER
    assert done.usage is not None
    call = sim.calls[-1]
    assert call.streamed and call.usage_reported
    assert call.usage == Usage(input=done.usage.input_tokens, output=done.usage.output_tokens)


def test_stream_helper_and_reasoning_item() -> None:
    """With reasoning tokens configured the output starts with a reasoning item; the SDK's
    responses.stream helper accumulates the text and the usage reports reasoning tokens."""
    with ProviderSimulator(answer=ANSWER, reasoning_tokens={"o4*": 128}) as sim:
        client = openai.OpenAI(base_url=sim.openai_base_url, api_key="k", max_retries=0)
        with client.responses.stream(model="o4-mini", input="Meaning?") as stream:
            kinds = [event.type for event in stream]
            final = stream.get_final_response()
        assert kinds[2:4] == ["response.output_item.added", "response.output_item.done"]
        assert [item.type for item in final.output] == ["reasoning", "message"]
        assert final.output_text == ANSWER
        assert final.usage is not None
        assert final.usage.output_tokens_details.reasoning_tokens == 128
        assert final.usage.output_tokens == 128 + 5
        assert sim.calls[-1].usage.reasoning == 128
        assert sim.calls[-1].usage.output == 133
        client.close()


def test_function_call_output_item(sim: ProviderSimulator, oai: openai.OpenAI) -> None:
    """A scripted tool call is a function_call output item (call_id, name, JSON arguments),
    streamed as function_call_arguments deltas that rebuild the arguments."""
    sim.script(
        Answer.tool("lookup", {"q": "tokenomy pricing"}),
        Answer.tool("lookup", {"q": "streamed"}),
    )
    tools = [
        {
            "type": "function",
            "name": "lookup",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            "strict": False,
        }
    ]
    r = oai.responses.create(model="gpt-4.1", input="search", tools=tools)  # type: ignore[arg-type]
    item = r.output[0]
    assert item.type == "function_call"
    assert item.name == "lookup"
    assert item.call_id.startswith("call_")
    assert json.loads(item.arguments) == {"q": "tokenomy pricing"}
    events = list(oai.responses.create(model="gpt-4.1", input="s", tools=tools, stream=True))  # type: ignore[arg-type]
    pieces = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]  # type: ignore[union-attr]
    assert json.loads("".join(pieces)) == {"q": "streamed"}
    assert "response.function_call_arguments.done" in [e.type for e in events]


def test_max_output_tokens_makes_the_response_incomplete(
    sim: ProviderSimulator, oai: openai.OpenAI
) -> None:
    """An answer over max_output_tokens ends with status incomplete (reason
    max_output_tokens); streamed, the last event is response.incomplete."""
    sim.set_answer(ANSWER)
    r = oai.responses.create(model="gpt-4.1", input="q", max_output_tokens=2)
    assert r.status == "incomplete"
    assert r.incomplete_details is not None
    assert r.incomplete_details.reason == "max_output_tokens"
    assert r.usage is not None and r.usage.output_tokens == 2
    events = list(
        oai.responses.create(model="gpt-4.1", input="q", max_output_tokens=2, stream=True)
    )
    assert events[-1].type == "response.incomplete"
    assert sim.calls[-1].finish_reasons == ("incomplete",)


async def test_async_streamed_response(sim: ProviderSimulator, aoai: openai.AsyncOpenAI) -> None:
    """AsyncOpenAI streams the Responses API the same way."""
    sim.set_answer(ANSWER)
    stream = await aoai.responses.create(model="gpt-4.1", input="q", stream=True)
    kinds = [event.type async for event in stream]
    assert kinds == TEXT_EVENTS
    assert sim.calls[-1].streamed
