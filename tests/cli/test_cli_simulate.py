"""``tokenomy simulate``: serves until interrupted, prints its base URLs."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading

import anthropic
import openai
import pytest

from tokenomy.cli import build_parser, main
from tokenomy.cli._simulate import run
from tokenomy.testing import ProviderSimulator

MESSAGES = [{"role": "user", "content": "ping"}]


def test_simulate_subprocess_serves_until_ctrl_c() -> None:
    """`python -m tokenomy simulate --port 0 --answer pong` prints the base URLs, answers an
    OpenAI client, and exits 0 on SIGINT with a summary line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tokenomy", "simulate", "--port", "0", "--answer", "pong"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", lines[0])
        assert match, lines
        base = match.group(1)
        assert lines[1].split()[-1] == base + "/v1"
        assert lines[2].split()[-1] == base
        assert lines[3].startswith("Press Ctrl-C")
        client = openai.OpenAI(base_url=base + "/v1", api_key="k", max_retries=0)
        reply = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
        client.close()
        assert reply.choices[0].message.content == "pong"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "stopped after 1 request(s), 1 call(s)" in out


def test_simulate_in_process_echo_latency_and_sigterm_style_stop(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """run() with --echo and --latency-ms serves an Anthropic client, then stops cleanly
    when its stop event is set."""
    args = build_parser().parse_args(
        ["simulate", "--port", "0", "--echo", "--latency-ms", "50", "--reasoning-tokens", "7"]
    )
    ready, stop = threading.Event(), threading.Event()
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(run(args, ready=ready, stop=stop)))
    worker.start()
    try:
        assert ready.wait(30)
        base = re.search(r"listening on (\S+)", capsys.readouterr().out)
        assert base
        client = anthropic.Anthropic(base_url=base.group(1), api_key="k", max_retries=0)
        message = client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=32,
            messages=MESSAGES,  # type: ignore[arg-type]
        )
        client.close()
        assert message.content[0].text == "ping"  # type: ignore[union-attr]
        assert message.usage.output_tokens_details is not None
        assert message.usage.output_tokens_details.thinking_tokens == 7
    finally:
        stop.set()
        worker.join(10)
    assert result == [0]
    assert "stopped after 1 request(s), 1 call(s)" in capsys.readouterr().out


def test_simulate_busy_port_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A port already in use exits 2 with a message naming it."""
    with ProviderSimulator() as sim:
        port = sim.port
        code = main(["simulate", "--port", str(port)])
    assert code == 2
    assert f"127.0.0.1:{port}" in capsys.readouterr().err


def test_answer_and_echo_are_mutually_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    """--answer and --echo together are a usage error (exit 2)."""
    with pytest.raises(SystemExit) as info:
        main(["simulate", "--answer", "x", "--echo"])
    assert info.value.code == 2
    assert "not allowed with" in capsys.readouterr().err
