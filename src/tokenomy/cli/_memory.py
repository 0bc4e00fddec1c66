"""``tokenomy memory evaluate``: replay dialogues through a memory strategy, print JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "run_evaluate"]

_DESCRIPTION = """\
Replay each dialogue of a JSONL file turn by turn, as a chat application would: one model
call per user message, with the history so far. Print JSON: input tokens per call (per dialogue,
and the mean by turn), the share of calls whose history is a valid sequence
for OpenAI and for Anthropic, the largest history sent, and totals against the full history.
Each row is {"messages": [{"role", "content", ...}, ...]} (OpenAI chat shape, tool calls
allowed). --strategy full sends every message; window keeps the latest turns under --budget
input tokens (counted with --model's tokenizer). A call whose current turn alone is over the
budget (the application would get MemoryBudgetError) is counted in over_budget_calls, with its
full history in the totals and not in largest_history_tokens. Exit codes: 0 printed, 2 bad
input.
"""


def register(subparsers: Any) -> None:
    """Add the ``memory`` command group."""
    parser = subparsers.add_parser(
        "memory", help="evaluate conversation memory strategies on recorded dialogues"
    )
    sub = parser.add_subparsers(dest="memory_command", metavar="SUBCOMMAND")
    evaluate = sub.add_parser(
        "evaluate",
        help="replay dialogues through a memory strategy (JSON)",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    evaluate.add_argument("--dialogues", required=True, metavar="FILE", help="JSONL dialogues")
    evaluate.add_argument(
        "--budget", type=int, default=None, metavar="N", help="input-token budget (window)"
    )
    evaluate.add_argument("--strategy", choices=("window", "full"), default="window")
    evaluate.add_argument("--max-turns", type=int, default=None, help="user turns kept (window)")
    evaluate.add_argument(
        "--model", default="gpt-4o-mini", help="tokenizer and prices (default gpt-4o-mini)"
    )
    evaluate.add_argument(
        "--provider", default=None, help="anthropic: count with the Anthropic rules"
    )
    evaluate.add_argument(
        "--limit", type=int, default=None, help="read at most this many dialogues"
    )
    evaluate.add_argument("--indent", type=int, default=2, help="JSON indent (0: one line)")
    evaluate.set_defaults(func=run_evaluate)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _fail(message: str) -> int:
    print(f"tokenomy memory evaluate: {message}", file=sys.stderr)
    return 2


def _read(path: str, limit: int | None) -> list[list[dict[str, Any]]]:
    dialogues: list[list[dict[str, Any]]] = []
    with Path(path).open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
            messages = row.get("messages") if isinstance(row, dict) else None
            if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
                raise ValueError(
                    f'{path}:{number}: expected {{"messages": [{{"role": ..., "content": ...}}]}}'
                )
            dialogues.append(messages)
            if limit is not None and len(dialogues) >= limit:
                break
    return dialogues


def run_evaluate(args: argparse.Namespace) -> int:
    """Print the evaluation JSON (2 with one line on stderr when the input is bad)."""
    from tokenomy.exceptions import ConfigurationError, MemoryBudgetError
    from tokenomy.memory import ConversationMemory, MessageCounter, sequence_problems

    if args.strategy == "window" and args.budget is None and args.max_turns is None:
        return _fail("--strategy window needs --budget N (input tokens) and/or --max-turns N")
    try:
        dialogues = _read(args.dialogues, args.limit)
    except OSError as exc:
        return _fail(f"cannot read {args.dialogues}: {exc.strerror or exc}")
    except (ValueError, UnicodeDecodeError) as exc:
        return _fail(str(exc))
    try:
        memory = (
            ConversationMemory(
                max_tokens=args.budget,
                max_turns=args.max_turns,
                model=args.model,
                provider=args.provider,
            )
            if args.strategy == "window"
            else None
        )
    except ConfigurationError as exc:
        return _fail(str(exc))
    counter = memory.counter() if memory else MessageCounter(args.model, provider=args.provider)
    per_dialogue: list[list[int]] = []
    by_turn: list[list[int]] = []
    calls = valid_openai = valid_anthropic = over_budget = largest = 0
    sent_total = full_total = 0
    for index, messages in enumerate(dialogues):
        tokens: list[int] = []
        for end, message in enumerate(messages, 1):
            if message.get("role") != "user":
                continue
            history = messages[:end]
            full = counter.total(counter.infos(history))
            if memory is None:
                sent_messages, sent = history, full
            else:
                try:
                    view = memory.window(history, conversation=str(index))
                except MemoryBudgetError:  # the app would get the error: counted apart
                    over_budget += 1
                    sent_messages, sent = history, full
                else:
                    sent_messages, sent = view.messages, view.tokens
                    largest = max(largest, sent)
            if memory is None:
                largest = max(largest, sent)
            calls += 1
            valid_openai += not sequence_problems(sent_messages, "openai")
            valid_anthropic += not sequence_problems(sent_messages, "anthropic")
            sent_total += sent
            full_total += full
            if len(by_turn) < len(tokens) + 1:
                by_turn.append([])
            by_turn[len(tokens)].append(sent)
            tokens.append(sent)
        per_dialogue.append(tokens)
    doc: dict[str, Any] = {
        "strategy": args.strategy,
        "budget": args.budget,
        "max_turns": args.max_turns,
        "model": args.model,
        "dialogues": len(dialogues),
        "calls": calls,
        "valid_share": {
            "openai": round(valid_openai / calls, 6) if calls else None,
            "anthropic": round(valid_anthropic / calls, 6) if calls else None,
        },
        "largest_history_tokens": largest,
        "input_tokens_sent": sent_total,
        "input_tokens_full": full_total,
        "saved_share": round(1 - sent_total / full_total, 6) if full_total else 0.0,
        "over_budget_calls": over_budget,
        "mean_input_tokens_by_turn": [round(sum(t) / len(t), 2) for t in by_turn],
    }
    doc["input_tokens_per_call"] = per_dialogue
    print(json.dumps(doc, indent=args.indent or None))
    return 0
