"""Injected faults surface as the SDKs' own exceptions (and retries) over real HTTP."""

from __future__ import annotations

import itertools
import json
import time

import anthropic
import httpx
import openai
import pytest

from tokenomy.exceptions import ConfigurationError
from tokenomy.testing import Fault, ProviderSimulator

MESSAGES = [{"role": "user", "content": "hello"}]
CLAUDE = "claude-haiku-4-5"


def _chat(client: openai.OpenAI, model: str = "gpt-4o", **kw: object) -> object:
    return client.chat.completions.create(model=model, messages=MESSAGES, **kw)  # type: ignore[call-overload]


def test_rate_limit_retry_after_is_honored_by_sdk_retries(sim: ProviderSimulator) -> None:
    """Two injected 429s with retry_after=1.1: an SDK with max_retries=2 waits the
    Retry-After each time (longer than its own backoff, at most 0.5 s then 1 s) and then
    succeeds; the injection counts its hits."""
    injection = sim.inject(Fault.rate_limit(retry_after=1.1), times=2)
    client = openai.OpenAI(base_url=sim.openai_base_url, api_key="k", max_retries=2)
    _chat(client)
    client.close()
    assert [r.fault for r in sim.requests] == ["429", "429", None]
    gaps = [b.received_at - a.received_at for a, b in itertools.pairwise(sim.requests)]
    assert all(gap >= 1.1 for gap in gaps), gaps
    assert (injection.applied, injection.remaining) == (2, 0)
    assert len(sim.calls) == 1


def test_rate_limit_error_carries_retry_after_and_ratelimit_headers(
    sim: ProviderSimulator, oai: openai.OpenAI
) -> None:
    """Without retries the 429 raises RateLimitError with retry-after, retry-after-ms and
    exhausted x-ratelimit headers, and OpenAI's error body."""
    sim.inject(Fault.rate_limit(retry_after=2.5))
    with pytest.raises(openai.RateLimitError) as info:
        _chat(oai)
    headers = info.value.response.headers
    assert headers["retry-after"] == "3"
    assert headers["retry-after-ms"] == "2500"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-reset-requests"] == "2.5s"
    assert info.value.code == "rate_limit_exceeded"
    assert sim.calls == []


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_raise_internal_server_error(
    sim: ProviderSimulator, oai: openai.OpenAI, status: int
) -> None:
    """500 and 503 raise InternalServerError with that status."""
    sim.inject(Fault.server_error(status))
    with pytest.raises(openai.InternalServerError) as info:
        _chat(oai)
    assert info.value.status_code == status


def test_timeout_holds_the_connection_past_the_client_timeout(sim: ProviderSimulator) -> None:
    """A timeout fault holds the request; the client's 0.3 s timeout raises APITimeoutError
    promptly, and the simulator stays usable."""
    sim.inject(Fault.timeout(hold=5.0))
    client = openai.OpenAI(base_url=sim.openai_base_url, api_key="k", max_retries=0, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        _chat(client)
    assert time.monotonic() - started < 3.0
    _chat(client)
    client.close()
    assert [r.fault for r in sim.requests] == ["timeout", None]


def test_disconnect_is_a_connection_error(sim: ProviderSimulator, oai: openai.OpenAI) -> None:
    """Closing the connection without a response raises APIConnectionError (not a timeout)."""
    sim.inject(Fault.disconnect())
    with pytest.raises(openai.APIConnectionError) as info:
        _chat(oai)
    assert not isinstance(info.value, openai.APITimeoutError)


def test_malformed_json_bodies_raise_decode_errors(
    sim: ProviderSimulator, oai: openai.OpenAI
) -> None:
    """Invalid JSON in a 200 body, or in one event of a stream, raises JSONDecodeError from
    the SDK; neither call is recorded as answered."""
    sim.inject(Fault.malformed_json(), times=2)
    with pytest.raises(json.JSONDecodeError):
        _chat(oai)
    with pytest.raises(json.JSONDecodeError):
        list(_chat(oai, stream=True))  # type: ignore[call-overload]
    assert sim.calls == []
    assert [r.fault for r in sim.requests] == ["malformed_json", "malformed_json"]


def test_truncated_bodies_raise_protocol_errors(sim: ProviderSimulator, oai: openai.OpenAI) -> None:
    """A stream cut after three events raises httpx.RemoteProtocolError mid-iteration after
    delivering those events; a truncated non-streamed body raises APIConnectionError."""
    sim.inject(Fault.truncated_stream(after_events=3), times=2)
    received: list[object] = []

    def drain() -> None:
        received.extend(_chat(oai, stream=True))  # type: ignore[call-overload]

    with pytest.raises(httpx.RemoteProtocolError):
        drain()
    assert len(received) == 3
    with pytest.raises(openai.APIConnectionError):
        _chat(oai)
    assert sim.calls == []


def test_length_fault_cuts_the_answer(sim: ProviderSimulator, oai: openai.OpenAI) -> None:
    """Fault.length(tokens=2) answers two tokens with finish_reason length (streamed too)."""
    sim.set_answer("one two three four")
    sim.inject(Fault.length(tokens=2), times=2)
    r = _chat(oai)
    assert r.choices[0].finish_reason == "length"  # type: ignore[attr-defined]
    assert r.choices[0].message.content == "one two"  # type: ignore[attr-defined]
    assert r.usage.completion_tokens == 2  # type: ignore[attr-defined]
    finishes = [c.choices[0].finish_reason for c in _chat(oai, stream=True) if c.choices]  # type: ignore[attr-defined]
    assert finishes[-1] == "length"
    assert [c.finish_reasons for c in sim.calls] == [("length",), ("length",)]


def test_injections_match_path_and_model_in_order(
    sim: ProviderSimulator, oai: openai.OpenAI
) -> None:
    """A model-scoped fault skips other models; a path-scoped one skips other endpoints;
    injections apply in the order added; times=None applies until cleared."""
    by_model = sim.inject(Fault.server_error(), model="gpt-4o")
    by_path = sim.inject(Fault.unavailable(), path="/v1/embeddings", times=None)
    _chat(oai, model="gpt-4o-mini")
    with pytest.raises(openai.InternalServerError) as info:
        _chat(oai, model="gpt-4o")
    assert info.value.status_code == 500
    _chat(oai, model="gpt-4o")
    for _ in range(2):
        with pytest.raises(openai.InternalServerError) as info:
            oai.embeddings.create(model="text-embedding-3-small", input="x")
        assert info.value.status_code == 503
    assert (by_model.applied, by_path.applied, by_path.remaining) == (1, 2, None)
    sim.clear_faults()
    oai.embeddings.create(model="text-embedding-3-small", input="x")
    assert sim.injections == []


def test_fault_header_injects_into_one_request(sim: ProviderSimulator, oai: openai.OpenAI) -> None:
    """x-simulator-fault: 503 / 429;retry_after=0.1 / length;tokens=1 apply to that request
    only; an unknown value is a 400 saying what is accepted."""
    with pytest.raises(openai.InternalServerError):
        _chat(oai, extra_headers={"x-simulator-fault": "503"})
    with pytest.raises(openai.RateLimitError) as info:
        _chat(oai, extra_headers={"x-simulator-fault": "429;retry_after=0.1"})
    assert info.value.response.headers["retry-after-ms"] == "100"
    r = _chat(oai, extra_headers={"x-simulator-fault": "length;tokens=1"})
    assert r.choices[0].finish_reason == "length"  # type: ignore[attr-defined]
    with pytest.raises(openai.BadRequestError) as bad:
        _chat(oai, extra_headers={"x-simulator-fault": "explode"})
    assert "x-simulator-fault" in str(bad.value)
    _chat(oai)
    assert [r.fault for r in sim.requests] == ["503", "429", "length", None, None]


def test_anthropic_faults_raise_anthropic_exceptions(
    sim: ProviderSimulator, claude: anthropic.Anthropic
) -> None:
    """Anthropic clients get RateLimitError (rate_limit_error body), OverloadedError for 529,
    APITimeoutError for a held request, and stop_reason max_tokens for a length fault."""
    sim.inject(Fault.rate_limit(retry_after=1))
    sim.inject(Fault.overloaded())
    sim.inject(Fault.length(tokens=1))
    with pytest.raises(anthropic.RateLimitError) as info:
        claude.messages.create(model=CLAUDE, max_tokens=32, messages=MESSAGES)  # type: ignore[arg-type]
    assert info.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert info.value.response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    with pytest.raises(anthropic.OverloadedError):
        claude.messages.create(model=CLAUDE, max_tokens=32, messages=MESSAGES)  # type: ignore[arg-type]
    m = claude.messages.create(model=CLAUDE, max_tokens=32, messages=MESSAGES)  # type: ignore[arg-type]
    assert m.stop_reason == "max_tokens"
    assert m.usage.output_tokens == 1
    sim.inject(Fault.timeout(hold=5.0))
    with pytest.raises(anthropic.APITimeoutError):
        claude.messages.create(
            model=CLAUDE,
            max_tokens=32,
            messages=MESSAGES,  # type: ignore[arg-type]
            timeout=0.3,
        )


def test_anthropic_retry_after_is_honored(sim: ProviderSimulator) -> None:
    """An Anthropic client with retries waits an injected 429's retry-after (1.1 s, longer
    than its own first backoff of at most 0.5 s) before retrying."""
    sim.inject(Fault.rate_limit(retry_after=1.1))
    client = anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key="k", max_retries=1)
    client.messages.create(model=CLAUDE, max_tokens=8, messages=MESSAGES)  # type: ignore[arg-type]
    client.close()
    first, second = sim.requests
    assert (first.fault, second.fault) == ("429", None)
    assert second.received_at - first.received_at >= 1.1


def test_a_failing_answer_rule_is_a_500_and_recorded(
    sim: ProviderSimulator, oai: openai.OpenAI
) -> None:
    """An answer rule that raises makes that request a 500 naming the exception, and the
    exception is kept in sim.errors (the fixture would fail the test unless cleared)."""

    def broken(request: object) -> str:
        raise RuntimeError("rule bug")

    sim.set_answer(broken)
    with pytest.raises(openai.InternalServerError) as info:
        _chat(oai)
    assert "RuntimeError: rule bug" in str(info.value)
    assert [type(e) for e in sim.errors] == [RuntimeError]
    sim.clear()


def test_fault_constructors_validate() -> None:
    """Bad fault settings raise ConfigurationError saying what is allowed."""
    with pytest.raises(ConfigurationError, match="400-599"):
        Fault.error(200)
    with pytest.raises(ConfigurationError):
        Fault.timeout(hold=0)
    with pytest.raises(ConfigurationError):
        Fault.rate_limit(retry_after=-1)
    with ProviderSimulator() as sim, pytest.raises(ConfigurationError, match="times"):
        sim.inject(Fault.server_error(), times=0)
