"""Per-call overhead of several setups, measured so that a CPU that changes speed cannot skew it.

This machine (like many cloud VMs) runs the same code at two speeds about 1.75x apart,
switching every few seconds; timing one long block per setup then compares setups measured at
different speeds. So each setup runs many short blocks of ``block`` calls, in a fresh random
order in every repetition, and each block is compared with the no-handler block of the same
repetition (a few milliseconds apart, so at the same speed): a setup's overhead is the median
over repetitions of ``(t_setup - t_none) / t_none``, expressed in microseconds at the faster
speed (times the smallest ``t_none`` seen). Ratios between setups do not depend on that scale.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["Measured", "measure"]

#: A setup: runs ``n`` calls; it may return the calling thread's CPU seconds spent in that block
#: on work no request waits for (a benchmark's flush at the end of a block), which
#: ``caller_us`` leaves out (``per_call_us`` and ``overhead_us``, process CPU, keep it).
Block = Callable[[int], float | None]


@dataclass(frozen=True)
class Measured:
    """One setup's result."""

    per_call_us: float  #: process CPU µs per call at the faster speed
    overhead_us: float  #: over the no-handler setup, µs per call at the faster speed
    caller_us: float  #: the same, the calling thread's CPU only (no background threads, no
    #: block-end flush: what a request waits)


def measure(
    setups: Mapping[str, Block],
    *,
    baseline: str = "none",
    block: int = 25,
    repetitions: int = 400,
    warmup: int = 200,
    seed: int = 0,
) -> dict[str, Measured]:
    """Measure every setup (see the module docstring); ``baseline`` is the no-handler one."""
    rng = random.Random(seed)
    for run in setups.values():
        run(warmup)
    names = list(setups)
    cpu: dict[str, list[float]] = {k: [] for k in names}
    thread: dict[str, list[float]] = {k: [] for k in names}
    gc.collect()
    for _ in range(repetitions):
        rng.shuffle(names)
        for name in names:
            run = setups[name]
            t0, c0 = time.process_time(), time.thread_time()
            off_path = run(block) or 0.0
            cpu[name].append((time.process_time() - t0) / block)
            thread[name].append((time.thread_time() - c0 - off_path) / block)
    fast = min(cpu[baseline])
    fast_thread = min(thread[baseline])
    out: dict[str, Measured] = {}
    for name in setups:
        rel = statistics.median(
            (t - b) / b for t, b in zip(cpu[name], cpu[baseline], strict=True)
        )
        rel_thread = statistics.median(
            (t - b) / b for t, b in zip(thread[name], thread[baseline], strict=True)
        )
        out[name] = Measured(
            per_call_us=(1 + rel) * fast * 1e6,
            overhead_us=rel * fast * 1e6,
            caller_us=rel_thread * fast_thread * 1e6,
        )
    return out
