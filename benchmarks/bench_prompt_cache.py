"""Prompt-cache placement replayed against the simulator's Anthropic prompt cache.

A realistic workload over about two hours on a fake clock (no sleeping): one 3,000-token
system prompt shared by everything; a support FAQ asking single questions under it every 4-9
minutes (so a 5-minute cache often expires between them); five ~2,000-token RAG documents,
each asked 3-5 questions a minute or two apart, two of them asked again 20 minutes later; and
a 30-turn conversation with the system prompt, turns 40-200 s apart with two 10-minute
pauses. Every request goes through a real ``tokenomy.Pipeline`` and the real ``anthropic``
SDK client to the simulator (``cache_min_tokens="model"``, claude-sonnet-4-5), three ways:

* none: no ``cache_control`` at all;
* naive: "cache everything": a 5-minute breakpoint on the system prompt, each document and
  the end of the prompt (at most four);
* policy: ``tokenomy.CachePlacement`` (it sees only the requests and its own clock).

Input cost = the ledger records' input, cache-read and cache-write parts at the price book's
claude-sonnet-4-5 rates. Goal: the policy's is the lowest and at least 60% below none.
"""

from __future__ import annotations

import random
import sys
from decimal import Decimal
from typing import Any

MODEL = "claude-sonnet-4-5"
INPUT_PARTS = ("input", "cache_read", "cache_write_5m", "cache_write_1h")


def _system() -> str:
    rules = [
        f"Rule {i}: when a customer asks about topic {i}, answer from the handbook section {i}, "
        "quote the clause, never promise refunds beyond policy, and keep a polite tone."
        for i in range(95)
    ]
    return "You are the support assistant of Acme Corp.\n" + "\n".join(rules)


def _document(n: int) -> str:
    lines = [
        f"Document {n}, paragraph {i}: the warranty of product line {n} covers parts and labour "
        f"for {12 + i % 24} months when the device is registered within 30 days of purchase."
        for i in range(60)
    ]
    return "\n".join(lines)


def workload(seed: int = 0) -> list[tuple[float, list[dict[str, Any]], str]]:
    """(arrival second, OpenAI-shape messages, feature) in arrival order."""
    rng = random.Random(seed)
    system = {"role": "system", "content": _system()}
    events: list[tuple[float, list[dict[str, Any]], str]] = []
    t = 0.0
    while t < 7200:  # FAQ
        t += rng.uniform(240, 540)
        q = f"FAQ question {int(t)}: how do I reset my device model {rng.randint(1, 99)}?"
        events.append((t, [system, {"role": "user", "content": q}], "faq"))
    for n in range(5):  # RAG
        start = 300 + n * 1300
        times = [start + k * rng.uniform(40, 120) for k in range(rng.randint(3, 5))]
        if n in (1, 3):
            times.append(times[-1] + 1200)
        doc = _document(n)
        for k, at in enumerate(times):
            parts = [
                {"type": "text", "text": doc},
                {
                    "type": "text",
                    "text": f"Question {k} about document {n}: how long is the warranty?",
                },
            ]
            events.append((at, [system, {"role": "user", "content": parts}], "rag"))
    t = 100.0  # conversation: (time, index of the user turn)
    turns: list[float] = []
    for k in range(30):
        t += 600 if k in (10, 20) else rng.uniform(40, 200)
        turns.append(t)
    for k, at in enumerate(turns):
        events.append((at, [system, ("conversation", k)], "chat"))  # type: ignore[list-item]
    events.sort(key=lambda e: e[0])
    return events


def _naive(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    control = {"type": "ephemeral"}
    out = []
    for m in messages:
        content = m["content"]
        parts = (
            [dict(p) for p in content]
            if isinstance(content, list)
            else [{"type": "text", "text": content}]
        )
        if m["role"] == "system":
            parts[-1]["cache_control"] = control
        else:
            for p in parts[:-1]:
                p["cache_control"] = control
        out.append({**m, "content": parts})
    out[-1]["content"][-1]["cache_control"] = control
    marks = [p for m in out for p in m["content"] if "cache_control" in p]
    for extra in marks[:-4] if len(marks) > 4 else []:
        del extra["cache_control"]
    return out


def replay(mode: str, seed: int = 0) -> dict[str, Any]:
    import anthropic

    from tokenomy import CachePlacement, ModelRequest, ModelResponse, Pipeline
    from tokenomy.batch._wire import anthropic_params, response_from_body
    from tokenomy.ledger import MemoryLedger
    from tokenomy.placement import unread_cache_writes
    from tokenomy.testing import FakeClock, ProviderSimulator

    clock = FakeClock(0.0)
    ledger = MemoryLedger()
    answers = [
        f"Answer {i}: the handbook clause covers this case; please register the device."
        for i in range(40)
    ]
    with ProviderSimulator(
        clock=clock, cache_min_tokens="model", answer=lambda r: answers[len(r.messages) % 40]
    ) as sim:
        client = anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key="bench")

        def send(request: ModelRequest) -> ModelResponse:
            message = client.messages.create(**anthropic_params(request))
            return response_from_body(
                "anthropic", message.model_dump(mode="json"), service_tier=None
            )

        policies = [CachePlacement(clock=clock)] if mode == "policy" else []
        pipeline = Pipeline(policies, ledger=ledger)
        history: list[dict[str, Any]] = []
        for at, messages, feature in workload(seed):
            clock.advance(at - clock())
            if len(messages) == 2 and isinstance(messages[1], tuple):
                k = messages[1][1]
                history.append(
                    {"role": "user", "content": f"Turn {k}: what about my order number {1000 + k}?"}
                )
                messages = [messages[0], *history]
            if mode == "naive":
                messages = _naive(messages)
            request = ModelRequest(
                model=MODEL,
                provider="anthropic",
                messages=messages,
                params={"max_tokens": 64},
                tags={"feature": feature},
            )
            response = pipeline.call(request, send)
            if feature == "chat":
                history.append({"role": "assistant", "content": response.text})
        records = ledger.query()
        cost = sum(
            (
                r.cost.parts.get(p, Decimal(0))
                for r in records
                if r.cost is not None
                for p in INPUT_PARTS
            ),
            Decimal(0),
        )
        lost = sum((u.lost or Decimal(0) for u in unread_cache_writes(ledger)), Decimal(0))
        return {
            "mode": mode,
            "calls": len(records),
            "input_cost_usd": cost,
            "cache_read": sum(r.usage.cache_read for r in records),
            "cache_write": sum(r.usage.cache_write_5m + r.usage.cache_write_1h for r in records),
            "unread_write_lost_usd": lost,
        }


def run(seed: int = 0) -> list[dict[str, Any]]:
    results = {mode: replay(mode, seed) for mode in ("none", "naive", "policy")}
    base = results["none"]["input_cost_usd"]
    cheapest = min(r["input_cost_usd"] for r in results.values())
    rows = []
    for mode, r in results.items():
        saving = 1 - r["input_cost_usd"] / base if base else Decimal(0)
        row = {
            "mode": mode,
            "calls": r["calls"],
            "input cost": f"${r['input_cost_usd']:.4f}",
            "vs none": f"{-saving * 100:+.1f}%",
            "cache read tok": f"{r['cache_read']:,}",
            "cache write tok": f"{r['cache_write']:,}",
            "unread writes lost": f"${r['unread_write_lost_usd']:.4f}" if mode == "policy" else "-",
            "met": "-",
        }
        if mode == "policy":
            ok = r["input_cost_usd"] == cheapest and saving >= Decimal("0.6")
            row["met"] = "yes" if ok else "no"
        rows.append(row)
    return rows


def main() -> int:
    from _table import print_table

    rows = run()
    print_table(
        "Prompt-cache placement: input cost of one replayed workload (goal: policy lowest, >= 60% below none)",
        rows,
    )
    return 0 if rows[-1]["met"] == "yes" else 1


if __name__ == "__main__":
    sys.exit(main())
