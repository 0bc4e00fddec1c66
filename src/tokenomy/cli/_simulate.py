"""``tokenomy simulate``: run the provider simulator until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import Any

__all__ = ["register", "run"]

_DESCRIPTION = """\
Serve a local, offline stand-in for the OpenAI and Anthropic HTTP APIs (chat completions,
Responses, embeddings, models, Anthropic messages; streamed and not), with usage counted by
tokenomy's tokenizer. Point an SDK at it with base_url (OpenAI: the /v1 URL printed; Anthropic:
the root URL) and any API key. Runs until Ctrl-C (or SIGTERM).
Exit codes: 0 stopped, 2 bad settings or the port cannot be bound.
"""


def register(subparsers: Any) -> None:
    """Add the ``simulate`` command."""
    parser = subparsers.add_parser(
        "simulate",
        help="run a local OpenAI/Anthropic-compatible provider simulator (offline)",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8765, help="port (default 8765; 0: any free port)"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay before every response (ms)"
    )
    parser.add_argument(
        "--ttft-ms", type=float, default=0.0, help="time to the first answer token (ms)"
    )
    parser.add_argument(
        "--per-token-ms", type=float, default=0.0, help="delay per later answer token (ms)"
    )
    parser.add_argument(
        "--reasoning-tokens",
        type=int,
        default=0,
        help="reasoning tokens added to every answer's output (default 0)",
    )
    answer = parser.add_mutually_exclusive_group()
    answer.add_argument("--answer", metavar="TEXT", help="answer every request with TEXT")
    answer.add_argument("--echo", action="store_true", help="answer with the last user message")
    parser.set_defaults(func=run)


def run(
    args: argparse.Namespace,
    *,
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Serve until interrupted; ``stop``/``ready`` let callers drive it in-process."""
    from tokenomy.exceptions import ConfigurationError
    from tokenomy.testing import DEFAULT_ANSWER, ProviderSimulator, echo

    try:
        sim = ProviderSimulator(
            host=args.host,
            port=args.port,
            answer=echo()
            if args.echo
            else (args.answer if args.answer is not None else DEFAULT_ANSWER),
            latency=args.latency_ms / 1000,
            time_to_first_token=args.ttft_ms / 1000,
            per_token_delay=args.per_token_ms / 1000,
            reasoning_tokens=args.reasoning_tokens,
        ).start()
    except ConfigurationError as exc:
        print(f"tokenomy simulate: {exc}", file=sys.stderr)
        return 2
    stop = stop or threading.Event()
    previous = _on_sigterm(stop)
    try:
        print(f"tokenomy provider simulator listening on {sim.base_url}")
        print(f"  OpenAI    base_url: {sim.openai_base_url}")
        print(f"  Anthropic base_url: {sim.anthropic_base_url}")
        if not sim.is_loopback:
            print(
                f"  warning: {args.host} is not a loopback address; it is reachable from "
                f"the network"
            )
        print("Press Ctrl-C to stop.", flush=True)
        if ready is not None:
            ready.set()
        while not stop.wait(0.25):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
        _restore_sigterm(previous)
    print(f"stopped after {len(sim.requests)} request(s), {len(sim.calls)} call(s)", flush=True)
    return 0


def _on_sigterm(stop: threading.Event) -> Any:
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    return signal.signal(signal.SIGTERM, handler)


def _restore_sigterm(previous: Any) -> None:
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, previous)
