"""The simulator as a server: lifecycle, addresses, latency, concurrency, clean shutdown."""

from __future__ import annotations

import asyncio
import itertools
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tokenomy.exceptions import ConfigurationError
from tokenomy.testing import ProviderSimulator

MESSAGES = [{"role": "user", "content": "hi"}]


def test_addresses_and_lifecycle() -> None:
    """Nothing listens before start(); the URLs are loopback with the real port, the OpenAI
    one ending in /v1; start() twice is refused; stop() is idempotent and frees the port."""
    sim = ProviderSimulator()
    assert not sim.running
    with pytest.raises(ConfigurationError, match="not running"):
        _ = sim.base_url
    with sim:
        port = sim.port
        assert port > 0
        assert sim.base_url == f"http://127.0.0.1:{port}"
        assert sim.openai_base_url == f"http://127.0.0.1:{port}/v1"
        assert sim.anthropic_base_url == sim.base_url
        assert sim.is_loopback
        with pytest.raises(ConfigurationError, match="already running"):
            sim.start()
    sim.stop()
    assert not sim.running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_busy_port_is_a_configuration_error() -> None:
    """Binding a port that is taken raises ConfigurationError suggesting another port."""
    with ProviderSimulator() as first:
        busy = ProviderSimulator(port=first.port)
        with pytest.raises(ConfigurationError, match="port"):
            busy.start()


def test_settings_are_validated() -> None:
    """Negative latencies, bad ports and bad reasoning settings are ConfigurationErrors."""
    with pytest.raises(ConfigurationError, match="latency"):
        ProviderSimulator(latency=-1)
    with pytest.raises(ConfigurationError, match="port"):
        ProviderSimulator(port=70000)
    with pytest.raises(ConfigurationError, match="reasoning_tokens"):
        ProviderSimulator(reasoning_tokens={"gpt-5*": -3})
    with pytest.raises(ConfigurationError, match="answer"):
        ProviderSimulator(answer=42)  # type: ignore[arg-type]


def test_paths_without_the_v1_prefix_are_served() -> None:
    """A client whose base_url lacks /v1 still reaches the endpoints."""
    with ProviderSimulator(answer="ok") as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="k", max_retries=0)
        r = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
        client.close()
    assert r.choices[0].message.content == "ok"
    assert sim.requests[0].path == "/v1/chat/completions"


def test_fixed_latency_delays_every_response() -> None:
    """latency=0.3 delays each response (errors included) by at least 0.3 s."""
    with ProviderSimulator(latency=0.3) as sim:
        client = openai.OpenAI(base_url=sim.openai_base_url, api_key="k", max_retries=0)
        client.models.list()
        started = time.monotonic()
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
        assert time.monotonic() - started >= 0.3
        started = time.monotonic()
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(
                model="gpt-4o",
                messages=MESSAGES,  # type: ignore[arg-type]
                extra_headers={"x-simulator-fault": "500"},
            )
        assert time.monotonic() - started >= 0.3
        client.close()


def test_time_to_first_token_and_per_token_delay_pace_the_stream() -> None:
    """Streamed: the first token arrives after time_to_first_token, each later one after
    per_token_delay; non-streamed answers wait for the whole generation."""
    answer = "one two three four five"  # five tokens
    with ProviderSimulator(answer=answer, time_to_first_token=0.3, per_token_delay=0.1) as sim:
        client = openai.OpenAI(base_url=sim.openai_base_url, api_key="k", max_retries=0)
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
        started = time.monotonic()
        stamps = []
        for chunk in client.chat.completions.create(
            model="gpt-4o",
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
        ):
            if chunk.choices and chunk.choices[0].delta.content:
                stamps.append(time.monotonic() - started)
        assert len(stamps) == 5
        assert stamps[0] >= 0.3
        assert all(b - a >= 0.09 for a, b in itertools.pairwise(stamps))
        started = time.monotonic()
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
        assert time.monotonic() - started >= 0.3 + 5 * 0.1
        client.close()


async def test_concurrent_async_requests_are_served_in_parallel() -> None:
    """Ten AsyncOpenAI requests, each held 0.5 s by latency, finish together (well under
    the 5 s they would take one after another)."""
    with ProviderSimulator(latency=0.5) as sim:
        client = openai.AsyncOpenAI(base_url=sim.openai_base_url, api_key="k", max_retries=0)
        await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
        started = time.monotonic()
        await asyncio.gather(
            *(
                client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
                for _ in range(10)
            )
        )
        elapsed = time.monotonic() - started
        await client.close()
    assert elapsed < 4.0
    assert len(sim.calls) == 11


def test_stop_releases_held_requests_and_idle_connections_quickly() -> None:
    """stop() returns promptly even with a request held by a long timeout fault and an idle
    keep-alive connection; the held client sees a connection error, not a hang."""
    sim = ProviderSimulator().start()
    client = openai.OpenAI(base_url=sim.openai_base_url, api_key="k", max_retries=0, timeout=60)
    client.models.list()  # leaves an idle keep-alive connection in the pool
    errors: list[BaseException] = []

    def held() -> None:
        try:
            client.chat.completions.create(
                model="gpt-4o",
                messages=MESSAGES,  # type: ignore[arg-type]
                extra_headers={"x-simulator-fault": "timeout;hold=60"},
            )
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=held)
    worker.start()
    deadline = time.monotonic() + 10
    while len(sim.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 3.0
    worker.join(5)
    assert not worker.is_alive()
    assert [type(e) for e in errors] == [openai.APIConnectionError]
    client.close()


def test_raw_http_keep_alive_serves_several_requests_on_one_connection() -> None:
    """One HTTP/1.1 connection carries several requests (keep-alive, Content-Length bodies,
    chunked streams)."""
    with (
        ProviderSimulator(answer="pong") as sim,
        httpx.Client(base_url=sim.openai_base_url) as http,
    ):
        body = {"model": "gpt-4o", "messages": MESSAGES}
        first = http.post("/chat/completions", json=body)
        streamed = http.post("/chat/completions", json={**body, "stream": True})
        second = http.post("/chat/completions", json=body)
    assert first.http_version == "HTTP/1.1"
    assert first.json()["choices"][0]["message"]["content"] == "pong"
    assert streamed.headers["transfer-encoding"] == "chunked"
    assert streamed.text.endswith("data: [DONE]\n\n")
    assert second.status_code == 200
    assert len(sim.calls) == 3


def test_importing_tokenomy_testing_starts_nothing() -> None:
    """`import tokenomy.testing` starts no thread, binds no socket and loads neither tiktoken
    nor the provider SDKs."""
    code = textwrap.dedent(
        """
        import sys, threading
        import tokenomy.testing
        import tokenomy.testing.pytest_plugin
        assert threading.active_count() == 1, threading.enumerate()
        heavy = [m for m in ("tiktoken", "openai", "anthropic", "httpx") if m in sys.modules]
        assert not heavy, heavy
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_pytest_fixture_fails_a_test_whose_answer_rule_raised(tmp_path: Path) -> None:
    """The provider_simulator fixture gives a running simulator and, at teardown, fails a
    test during which an answer rule raised."""
    (tmp_path / "test_uses_fixture.py").write_text(
        textwrap.dedent(
            """
            import json, urllib.error, urllib.request
            import pytest
            from tokenomy.testing.pytest_plugin import provider_simulator  # noqa: F401

            def test_running(provider_simulator):
                assert provider_simulator.running

            def test_broken_rule(provider_simulator):
                def rule(request):
                    raise ValueError("boom")
                provider_simulator.set_answer(rule)
                body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}
                request = urllib.request.Request(
                    provider_simulator.openai_base_url + "/chat/completions",
                    data=json.dumps(body).encode(),
                    headers={"Content-Type": "application/json"},
                )
                with pytest.raises(urllib.error.HTTPError) as info:
                    urllib.request.urlopen(request, timeout=30)
                assert info.value.code == 500
            """
        )
    )
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "2 passed, 1 error" in out.stdout  # the broken test passes, then errors in teardown
    assert "ERROR test_uses_fixture.py::test_broken_rule" in out.stdout
    assert "ValueError: boom" in out.stdout


def test_recorded_headers_redact_credentials() -> None:
    """Recorded requests keep their headers but never the API keys."""
    with ProviderSimulator() as sim:
        client = openai.OpenAI(base_url=sim.openai_base_url, api_key="sk-secret-1", max_retries=0)
        client.models.list()
        client.close()
        claude = anthropic.Anthropic(base_url=sim.base_url, api_key="sk-ant-secret", max_retries=0)
        claude.models.list()
        claude.close()
    openai_headers, anthropic_headers = (r.headers for r in sim.requests)
    assert openai_headers["authorization"] == "Bearer <redacted>"
    credentials = [anthropic_headers.get(k) for k in ("authorization", "x-api-key")]
    assert [c for c in credentials if c] in (["Bearer <redacted>"], ["<redacted>"])
    assert "anthropic-version" in anthropic_headers
    assert all("secret" not in str(r.headers) for r in sim.requests)
