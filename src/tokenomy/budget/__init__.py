"""Budgets and spend controls: a limit checked before every call, exact under concurrency.

:class:`Budget` is a pipeline policy; its counters live in a :class:`BudgetStore`
(:class:`MemoryBudgetStore`, :class:`SQLiteBudgetStore`, :class:`RedisBudgetStore`, or
:func:`open_budget_store` from a URL). Every name here is also exported by :mod:`tokenomy`.
"""

from __future__ import annotations

from tokenomy.budget._alerts import BudgetAlert
from tokenomy.budget._budget import Budget
from tokenomy.budget._group import BudgetGroup
from tokenomy.budget._memory import MemoryBudgetStore
from tokenomy.budget._open import open_budget_store
from tokenomy.budget._redis import RedisBudgetStore
from tokenomy.budget._sqlite import SQLiteBudgetStore
from tokenomy.budget._status import BudgetStatus, budget_status
from tokenomy.budget._store import BudgetStore

__all__ = [
    "Budget",
    "BudgetAlert",
    "BudgetGroup",
    "BudgetStatus",
    "BudgetStore",
    "MemoryBudgetStore",
    "RedisBudgetStore",
    "SQLiteBudgetStore",
    "budget_status",
    "open_budget_store",
]
