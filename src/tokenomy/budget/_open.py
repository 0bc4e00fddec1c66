"""``open_budget_store(url)``: a budget store from a URL (``memory://``, ``sqlite:///path``,
``redis://host:port/db``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokenomy.budget._store import BudgetStore
from tokenomy.exceptions import ConfigurationError

__all__ = ["open_budget_store"]

_EXPECTED = "memory://, sqlite:///path/to/file.db or redis://host:port/db"


def open_budget_store(url: str | BudgetStore, **options: Any) -> BudgetStore:
    """The store ``url`` names (a :class:`BudgetStore` is returned as it is).

    * ``memory://``: this process's shared :class:`MemoryBudgetStore` (the one budgets use
      when given no store; build ``MemoryBudgetStore()`` for a private one);
    * ``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or a plain path ending in
      ``.db``/``.sqlite``: :class:`SQLiteBudgetStore`;
    * ``redis://host:port/db`` (``rediss://`` with TLS, ``?prefix=ns``):
      :class:`RedisBudgetStore`.

    ``options`` go to the store's constructor (``timeout``, ``prefix``...).
    """
    if isinstance(url, BudgetStore):
        return url
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError(f"a budget store URL must be a string like {_EXPECTED}, got {url!r}")
    text = url.strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme == "memory":
        if options:
            raise ConfigurationError(f"memory:// takes no options, got {sorted(options)}")
        from tokenomy.budget._budget import default_budget_store

        return default_budget_store()
    if scheme == "sqlite" or (not scheme and Path(text).suffix in (".db", ".sqlite", ".sqlite3")):
        from tokenomy.budget._sqlite import SQLiteBudgetStore

        path = text[len("sqlite:///") :] if scheme else text
        if scheme and not text.startswith("sqlite:///"):
            raise ConfigurationError(f"a SQLite budget store URL is sqlite:///path, got {url!r}")
        if not path:
            raise ConfigurationError(f"the SQLite budget store URL {url!r} names no file")
        return SQLiteBudgetStore(path, **options)
    if scheme in ("redis", "rediss", "unix"):
        from tokenomy.budget._redis import RedisBudgetStore

        return RedisBudgetStore(text, **options)
    raise ConfigurationError(f"unknown budget store URL {url!r}: use {_EXPECTED}")
