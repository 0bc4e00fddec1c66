"""Records for the report tests: real ``record_call`` calls inside ``track()`` blocks.

Three root runs, fixed timestamps one second apart, the real price book:

* ``search-flow`` (tag ``run_name``; feature search, user alice): gpt-4o "plan" with a cache
  read, gpt-4o-mini "rank", and a text-embedding-3-small call in a nested ``track()`` block;
* run B (feature chat, user bob, no ``run_name``; its first call is named "answer"):
  claude-sonnet-4-5 with cache writes, an unpriced ``acme-llm-9000`` call, an exact cache hit;
* run C (feature chat, user alice): gpt-4o-mini with estimated usage, unpriced acme again.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

import tokenomy
from tokenomy import CostRecord, LedgerStore, MemoryLedger, Usage
from tokenomy.exceptions import UnknownModelPriceWarning

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
UNPRICED_MODEL = "acme-llm-9000"


def build_sample(ledger: LedgerStore, start: datetime = T0) -> list[CostRecord]:
    """Write the sample records into ``ledger``; returns them in time order."""
    clock = iter(start + timedelta(seconds=i) for i in range(100))
    out: list[CostRecord] = []

    def call(**kwargs: object) -> None:
        out.append(tokenomy.record_call(timestamp=next(clock), **kwargs))  # type: ignore[arg-type]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownModelPriceWarning)
        with tokenomy.track(feature="search", user="alice", run_name="search-flow", ledger=ledger):
            call(
                model="gpt-4o",
                provider="openai",
                name="plan",
                latency_ms=800.0,
                usage=Usage(input=1200, output=300, cache_read=200),
            )
            call(
                model="gpt-4o-mini",
                provider="openai",
                name="rank",
                latency_ms=200.0,
                usage=Usage(input=500, output=100),
            )
            with tokenomy.track(step="embed"):
                call(
                    model="text-embedding-3-small",
                    provider="openai",
                    kind="embedding",
                    name="embed",
                    latency_ms=50.0,
                    usage=Usage(input=1000),
                )
        with tokenomy.track(feature="chat", user="bob", ledger=ledger):
            call(
                model="claude-sonnet-4-5",
                provider="anthropic",
                name="answer",
                latency_ms=1500.0,
                usage=Usage(input=2000, output=500, cache_read=1000, cache_write_5m=500),
            )
            call(
                model=UNPRICED_MODEL,
                name="draft",
                latency_ms=400.0,
                usage=Usage(input=100, output=10),
            )
            call(
                model="gpt-4o",
                provider="openai",
                name="answer-again",
                latency_ms=5.0,
                cache="exact",
                usage=Usage(input=1200, output=300),
            )
        with tokenomy.track(feature="chat", user="alice", ledger=ledger):
            call(
                model="gpt-4o-mini",
                provider="openai",
                name="reply",
                latency_ms=300.0,
                usage=Usage(input=300, output=50, estimated=True),
            )
            call(
                model=UNPRICED_MODEL,
                name="draft",
                latency_ms=450.0,
                usage=Usage(input=80, output=20),
            )
    return out


@pytest.fixture
def sample() -> Callable[..., list[CostRecord]]:
    """``sample(ledger=None)`` writes the sample records (into a new MemoryLedger by default)."""

    def make(ledger: LedgerStore | None = None, start: datetime = T0) -> list[CostRecord]:
        return build_sample(ledger if ledger is not None else MemoryLedger(), start)

    return make
