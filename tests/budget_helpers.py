"""Helpers of the budget tests (tests/ is on sys.path): call until a budget refuses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tokenomy import BudgetExceededError


def until_refused(call: Callable[[], object], at_most: int = 100) -> tuple[int, BudgetExceededError]:
    """Call ``call`` until a budget refuses: ``(calls answered before, the refusal)``; the
    test fails when no refusal came within ``at_most`` calls."""
    for n in range(at_most):
        try:
            call()
        except BudgetExceededError as exc:
            return n, exc
    pytest.fail(f"the budget never refused in {at_most} calls")


async def auntil_refused(
    call: Callable[[], Awaitable[object]], at_most: int = 100
) -> tuple[int, BudgetExceededError]:
    """:func:`until_refused` for async calls."""
    for n in range(at_most):
        try:
            await call()
        except BudgetExceededError as exc:
            return n, exc
    pytest.fail(f"the budget never refused in {at_most} calls")
