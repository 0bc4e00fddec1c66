"""The clock and sleep the resilience policies read: real ones by default, injectable for
tests (:class:`tokenomy.testing.FakeClock` gives all three, moving only when slept on)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["AsyncSleep", "Clock", "Sleep", "real_async_sleep", "real_clock", "real_sleep"]

#: seconds, monotonic
Clock = Callable[[], float]
Sleep = Callable[[float], None]
AsyncSleep = Callable[[float], Awaitable[None]]

real_clock: Clock = time.monotonic
real_sleep: Sleep = time.sleep


async def real_async_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)
