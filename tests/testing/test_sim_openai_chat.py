"""OpenAI chat completions through the real openai SDK against the simulator."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import openai
import pytest

from tokenomy.testing import Answer, ProviderSimulator, SimRequest, ToolCall, echo, template
from tokenomy.tokens import count_text, estimate_messages, estimate_request
from tokenomy.usage import Usage

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is the capital of France?"},
]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def test_chat_usage_is_the_estimator_count_and_matches_the_sdk(
    sim: ProviderSimulator, oai: openai.OpenAI
) -> None:
    """Prompt tokens equal tokenomy's pre-call estimate, completion tokens the answer's
    tiktoken count, and the SDK-parsed usage equals the recorded call's usage."""
    answer = "Paris is the capital of France."
    sim.set_answer(answer)
    r = oai.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
    assert r.choices[0].message.content == answer
    assert r.choices[0].finish_reason == "stop"
    assert r.object == "chat.completion"
    assert r.model == "gpt-4o"
    assert r.usage is not None
    body = sim.requests[-1].body
    assert r.usage.prompt_tokens == estimate_messages(MESSAGES, "gpt-4o").prompt_tokens
    assert r.usage.prompt_tokens == estimate_request(body).prompt_tokens == 22
    assert r.usage.completion_tokens == count_text(answer, "gpt-4o") == 7
    assert r.usage.total_tokens == 29
    call = sim.calls[-1]
    assert call.usage == Usage(input=22, output=7)
    assert (call.provider, call.api, call.model, call.streamed) == (
        "openai",
        "chat.completions",
        "gpt-4o",
        False,
    )
    assert call.usage_reported is True
    assert call.body["messages"] == MESSAGES
    assert call.output_text == answer


def test_chat_stream_with_include_usage_ends_with_a_usage_only_chunk(
    sim: ProviderSimulator, oai: openai.OpenAI
) -> None:
    """stream_options.include_usage: every chunk has usage null except the final one, which
    has no choices and the usage; the deltas rebuild the answer."""
    sim.set_answer(echo("You asked: "))
    chunks = list(
        oai.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert all(c.usage is None for c in chunks[:-1])
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "You asked: What is the capital of France?"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert len({c.id for c in chunks}) == 1
    call = sim.calls[-1]
    assert call.streamed and call.usage_reported
    assert call.usage == Usage(input=last.usage.prompt_tokens, output=last.usage.completion_tokens)
    assert last.usage.completion_tokens == count_text(text, "gpt-4o-mini")


def test_chat_stream_without_include_usage_reports_none(
    sim: ProviderSimulator, oai: openai.OpenAI
) -> None:
    """Without include_usage no chunk carries usage, and the call is recorded as unreported."""
    chunks = list(
        oai.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    )
    assert all(c.usage is None and c.choices for c in chunks)
    call = sim.calls[-1]
    assert call.streamed is True
    assert call.usage_reported is False
    assert call.usage.input == estimate_messages(MESSAGES, "gpt-4o").prompt_tokens


def test_chat_n_choices_use_one_answer_each_and_sum_completion_tokens(
    sim: ProviderSimulator, oai: openai.OpenAI
) -> None:
    """n=3 consumes three scripted answers, one per choice; completion tokens add up."""
    sim.script("one", "two words", "three small words")
    r = oai.chat.completions.create(model="gpt-4o", messages=MESSAGES, n=3)  # type: ignore[arg-type]
    assert [c.message.content for c in r.choices] == ["one", "two words", "three small words"]
    assert [c.index for c in r.choices] == [0, 1, 2]
    assert r.usage is not None and r.usage.completion_tokens == 1 + 2 + 3
    assert sim.calls[-1].outputs == ("one", "two words", "three small words")


def test_chat_stream_n_choices_interleave_by_index(
    sim: ProviderSimulator, oai: openai.OpenAI
) -> None:
    """Streamed n=2: deltas for both choice indexes rebuild both answers, each finishing."""
    sim.script("alpha beta", "gamma delta epsilon")
    texts = {0: "", 1: ""}
    finished = {}
    for chunk in oai.chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,  # type: ignore[arg-type]
        n=2,
        stream=True,
        stream_options={"include_usage": True},
    ):
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
            if choice.finish_reason:
                finished[choice.index] = choice.finish_reason
    assert texts == {0: "alpha beta", 1: "gamma delta epsilon"}
    assert finished == {0: "stop", 1: "stop"}
    assert sim.calls[-1].usage.output == 2 + 3


def test_model_aliases_report_the_dated_snapshot(
    provider_simulator_factory: Callable[..., ProviderSimulator],
) -> None:
    """model_aliases maps the requested name to the reported one; others are echoed as is."""
    sim = provider_simulator_factory(model_aliases={"gpt-4o-mini": "gpt-4o-mini-2024-07-18"})
    client = openai.OpenAI(base_url=sim.openai_base_url, api_key="k", max_retries=0)
    r = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    assert r.model == "gpt-4o-mini-2024-07-18"
    assert sim.calls[-1].model == "gpt-4o-mini-2024-07-18"
    assert sim.calls[-1].requested_model == "gpt-4o-mini"
    r = client.chat.completions.create(model="gpt-4.1-nano", messages=MESSAGES)  # type: ignore[arg-type]
    assert r.model == "gpt-4.1-nano"
    assert "gpt-4o-mini-2024-07-18" in [m.id for m in client.models.list()]
    client.close()


def test_scripted_tool_call_then_text_answer(sim: ProviderSimulator, oai: openai.OpenAI) -> None:
    """A scripted tool call comes back as tool_calls with JSON arguments and finish_reason
    tool_calls; the agent's follow-up turn gets the next scripted answer."""
    sim.script(Answer.tool("get_weather", {"city": "Paris"}), "It is sunny in Paris.")
    first = oai.chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,  # type: ignore[arg-type]
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    assert call.id.startswith("call_")
    assert first.usage is not None
    assert first.usage.completion_tokens == count_text("get_weather", "gpt-4o") + count_text(
        '{"city":"Paris"}', "gpt-4o"
    )
    follow_up = [
        *MESSAGES,
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 24C"},
    ]
    second = oai.chat.completions.create(model="gpt-4o", messages=follow_up)  # type: ignore[arg-type]
    assert second.choices[0].message.content == "It is sunny in Paris."
    assert sim.answers_pending == 0


def test_streamed_tool_call_accumulates_with_the_sdk_helper(
    sim: ProviderSimulator, oai: openai.OpenAI
) -> None:
    """Streamed tool-call deltas (id/name first, then argument pieces) rebuild the call in
    the SDK's chat.completions.stream helper."""
    sim.script(ToolCall("get_weather", {"city": "Rio de Janeiro", "unit": "C"}, id="call_fixed"))
    with oai.chat.completions.stream(
        model="gpt-4o",
        messages=MESSAGES,  # type: ignore[arg-type]
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    ) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert calls is not None and calls[0].id == "call_fixed"
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "Rio de Janeiro", "unit": "C"}
    assert final.choices[0].finish_reason == "tool_calls"


def test_reasoning_tokens_by_model_glob_are_added_to_completion_tokens() -> None:
    """reasoning_tokens={"gpt-5*": 64} adds 64 reasoning tokens to gpt-5 models' completion
    tokens (with completion_tokens_details.reasoning_tokens) and none to others."""
    with ProviderSimulator(answer="Done.", reasoning_tokens={"gpt-5*": 64}) as sim:
        client = openai.OpenAI(base_url=sim.openai_base_url, api_key="k", max_retries=0)
        r = client.chat.completions.create(model="gpt-5-mini", messages=MESSAGES)  # type: ignore[arg-type]
        assert r.usage is not None and r.usage.completion_tokens_details is not None
        assert r.usage.completion_tokens_details.reasoning_tokens == 64
        assert r.usage.completion_tokens == 64 + count_text("Done.", "gpt-5-mini")
        assert sim.calls[-1].usage.reasoning == 64
        assert sim.calls[-1].usage.visible_output == 2
        r = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
        assert r.usage is not None and r.usage.completion_tokens == 2
        client.close()


def test_reasoning_tokens_from_a_callable() -> None:
    """A reasoning_tokens callable receives the request and sets the count per call."""

    def by_effort(request: SimRequest) -> int:
        return {"low": 10, "high": 300}.get(request.body.get("reasoning_effort"), 0)

    with ProviderSimulator(answer="ok", reasoning_tokens=by_effort) as sim:
        client = openai.OpenAI(base_url=sim.openai_base_url, api_key="k", max_retries=0)
        for effort, expected in (("low", 10), ("high", 300)):
            client.chat.completions.create(
                model="o4-mini",
                messages=MESSAGES,  # type: ignore[arg-type]
                reasoning_effort=effort,  # type: ignore[arg-type]
            )
            assert sim.calls[-1].usage.reasoning == expected
        client.close()


def test_service_tier_is_echoed_when_requested(sim: ProviderSimulator, oai: openai.OpenAI) -> None:
    """service_tier="flex" comes back as "flex"; "auto" or none runs as "default"."""
    r = oai.chat.completions.create(model="gpt-4o", messages=MESSAGES, service_tier="flex")  # type: ignore[arg-type]
    assert r.service_tier == "flex"
    r = oai.chat.completions.create(model="gpt-4o", messages=MESSAGES, service_tier="auto")  # type: ignore[arg-type]
    assert r.service_tier == "default"
    r = oai.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
    assert r.service_tier == "default"


def test_max_completion_tokens_cuts_the_answer_with_finish_reason_length(
    sim: ProviderSimulator, oai: openai.OpenAI
) -> None:
    """An answer longer than max_completion_tokens stops there with finish_reason length."""
    sim.set_answer("one two three four five six seven")
    r = oai.chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,  # type: ignore[arg-type]
        max_completion_tokens=3,
    )
    assert r.choices[0].finish_reason == "length"
    assert r.choices[0].message.content == "one two three"
    assert r.usage is not None and r.usage.completion_tokens == 3


def test_answer_rules_template_callable_and_per_model() -> None:
    """Per-model rules win over the default rule; templates and callables see the request;
    model-scoped scripted answers are used only for that model."""
    with ProviderSimulator(
        answer=template("[{model}] {last_user}"),
        per_model={"gpt-4.1*": lambda req: f"{req.api}#{req.index}", "o3": "fixed o3"},
    ) as sim:
        client = openai.OpenAI(base_url=sim.openai_base_url, api_key="k", max_retries=0)

        def ask(model: str) -> str | None:
            r = client.chat.completions.create(model=model, messages=MESSAGES)  # type: ignore[arg-type]
            return r.choices[0].message.content

        sim.script("scripted for mini", model="gpt-4o-mini")
        assert ask("gpt-4o") == "[gpt-4o] What is the capital of France?"
        assert ask("gpt-4.1-mini") == "chat.completions#1"
        assert ask("o3") == "fixed o3"
        assert ask("gpt-4o-mini") == "scripted for mini"
        assert ask("gpt-4o-mini") == "[gpt-4o-mini] What is the capital of France?"
        client.close()


async def test_async_client_concurrent_requests_each_get_their_answer(
    sim: ProviderSimulator, aoai: openai.AsyncOpenAI
) -> None:
    """Twelve concurrent AsyncOpenAI calls (half streamed) are all answered correctly."""
    sim.set_answer(echo())

    async def one(i: int) -> str:
        messages = [{"role": "user", "content": f"question {i}"}]
        if i % 2:
            text = ""
            stream = await aoai.chat.completions.create(
                model="gpt-4o",
                messages=messages,  # type: ignore[arg-type]
                stream=True,
            )
            async for chunk in stream:
                text += (chunk.choices[0].delta.content or "") if chunk.choices else ""
            return text
        r = await aoai.chat.completions.create(model="gpt-4o", messages=messages)  # type: ignore[arg-type]
        return r.choices[0].message.content or ""

    answers = await asyncio.gather(*(one(i) for i in range(12)))
    assert answers == [f"question {i}" for i in range(12)]
    assert len(sim.calls) == 12
    assert sum(c.streamed for c in sim.calls) == 6


def test_bad_requests_get_openai_error_bodies(sim: ProviderSimulator, oai: openai.OpenAI) -> None:
    """Missing messages or model is a 400 BadRequestError; an unknown path a 404."""
    with pytest.raises(openai.BadRequestError) as info:
        oai.chat.completions.create(model="gpt-4o", messages=[])
    assert info.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError):
        oai.post("/chat/completions", body={"messages": MESSAGES}, cast_to=object)
    with pytest.raises(openai.NotFoundError):
        oai.post("/images/generations", body={"model": "dall-e-3"}, cast_to=object)
    assert sim.calls == []
    assert [r.api for r in sim.requests] == ["chat.completions", "chat.completions", None]
