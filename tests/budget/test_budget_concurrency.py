"""16 threads in each of 4 processes hammer one $1.00 budget through the SQLite and Redis
stores, calling the provider simulator through the real openai SDK: the settled spend never
passes the limit, no reservation is left open, and every refused call raised before a
request reached the simulator."""

from __future__ import annotations

import multiprocessing
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from services import drop_redis_prefix, require_redis
from tokenomy import budget_status, open_budget_store
from tokenomy.testing import ProviderSimulator, SimRequest

PROCESSES, THREADS, CALLS = 4, 16, 4


def words_asked(request: SimRequest) -> str:
    """Answer with as many words as the prompt asks for (the call's cost varies)."""
    text = str(request.messages[-1]["content"])
    n = int(text.split()[1])
    return " ".join(f"w{i}" for i in range(n))


def run(store_url: str) -> None:
    with ProviderSimulator(answer=words_asked, latency=0.002) as sim:
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        import budget_workers

        procs = [
            ctx.Process(
                target=budget_workers.hammer,
                args=(store_url, sim.openai_base_url, THREADS, CALLS, out),
            )
            for _ in range(PROCESSES)
        ]
        for p in procs:
            p.start()
        results = [out.get(timeout=240) for _ in procs]
        for p in procs:
            p.join(30)
            assert p.exitcode == 0
        requests = len(sim.requests)
    ok = sum(r[1] for r in results)
    refused = sum(r[2] for r in results)
    sent = sum(r[3] for r in results)
    spent = sum(Decimal(r[4]) for r in results)
    assert ok + refused == PROCESSES * THREADS * CALLS
    assert ok > 0 and refused > 0, "the budget must be both used and hit"
    assert sent == ok == requests, "a refused call reached the simulator"
    assert spent <= Decimal("1.00")
    [status] = budget_status(open_budget_store(store_url))
    assert status.open_reservations == 0 and status.reserved_usd == 0
    assert spent <= status.spent_usd <= Decimal("1.00")
    assert status.spent_usd - spent <= Decimal("1e-9") * ok  # rounding up, per call
    print(f"{store_url.split(':')[0]}: {ok} calls, {refused} refused, settled ${status.spent_usd}")


def test_sqlite_across_processes(tmp_path: Path) -> None:
    """SQLite: four processes of 16 threads share one budget file."""
    run(f"sqlite:///{tmp_path / 'budget.db'}")


@pytest.mark.redis
def test_redis_across_processes() -> None:
    """Redis: four processes of 16 threads share one budget on the real server."""
    url = require_redis()
    prefix = f"tokenomy-test:budget:{uuid.uuid4().hex}"
    try:
        run(f"{url}?prefix={prefix}")
    finally:
        drop_redis_prefix(prefix)
