"""Naming a ledger with a string (:func:`open_ledger`) and the process-wide default ledger."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tokenomy.exceptions import ConfigurationError
from tokenomy.ledger._store import LedgerStore

if TYPE_CHECKING:
    from tokenomy.ledger._memory import MemoryLedger

__all__ = [
    "ENV_VAR",
    "default_ledger",
    "open_ledger",
    "open_ledger_read_only",
    "set_default_ledger",
    "sqlite_path",
]

#: The environment variable naming the default ledger (same spec as :func:`open_ledger`).
ENV_VAR = "TOKENOMY_LEDGER"


#: How many records the process-wide MemoryLedger (TOKENOMY_LEDGER unset) keeps; older ones
#: are dropped so a long-running process does not grow without bound.
PROCESS_MEMORY_RECORDS = 100_000


def _process_memory_class() -> type[MemoryLedger]:
    # Defined on first use: the memory ledger (and pydantic's records) is not imported by
    # the command line's reads of a SQL ledger.
    from tokenomy.ledger._memory import MemoryLedger

    class _ProcessMemoryLedger(MemoryLedger):
        """The process-wide MemoryLedger: shared by everyone who opens it, so close() keeps
        it."""

        def close(self) -> None:
            """No-op: other code holds this same ledger (``with open_ledger(None)`` is safe)."""

        def __repr__(self) -> str:
            return f"process MemoryLedger({len(self._items)} records)"

    return _ProcessMemoryLedger


_lock = threading.Lock()
_shared_memory: MemoryLedger | None = None
_default: LedgerStore | None = None


def _process_memory_ledger() -> MemoryLedger:
    global _shared_memory
    with _lock:
        if _shared_memory is None:
            _shared_memory = _process_memory_class()(max_records=PROCESS_MEMORY_RECORDS)
        return _shared_memory


def _split_postgres(spec: str) -> tuple[str, str | None, str]:
    """``(url for psycopg, schema, table)``: ``schema=``/``table=`` query items are ours."""
    parts = urlsplit(spec)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None) or None
    table = next((v for k, v in query if k == "table"), None) or "tokenomy_records"
    rest = [(k, v) for k, v in query if k not in ("schema", "table")]
    url = urlunsplit(parts._replace(query=urlencode(rest)))
    return url, schema, table


def open_ledger(spec: str | os.PathLike[str] | None) -> LedgerStore:
    """The ledger a string names.

    * ``None`` or ``""``: the process-wide :class:`MemoryLedger` (the same one every time; its
      ``close()`` does nothing, since others share it);
    * ``":memory:"``: a new, private :class:`MemoryLedger`;
    * ``"postgresql://..."`` or ``"postgres://..."``: a :class:`PostgresLedger`; the optional
      query items ``schema=`` and ``table=`` choose where the records go (they are not passed
      to the server), e.g. ``postgresql://u@db/app?schema=billing&table=llm_calls``;
    * ``"sqlite:///relative/path.db"``, ``"sqlite:////absolute/path.db"`` or a plain path: a
      :class:`SQLiteLedger` (created if missing).
    """
    if spec is None:
        return _process_memory_ledger()
    text = os.fspath(spec).strip()
    if not text:
        return _process_memory_ledger()
    if text == ":memory:":
        from tokenomy.ledger._memory import MemoryLedger

        return MemoryLedger()
    if _is_postgres(text):
        from tokenomy.ledger._postgres import PostgresLedger

        url, schema, table = _split_postgres(text)
        return PostgresLedger(url, schema=schema, table=table)
    from tokenomy.ledger._sqlite import SQLiteLedger

    return SQLiteLedger(sqlite_path(text) or text)


def open_ledger_read_only(spec: str | os.PathLike[str] | None) -> LedgerStore:
    """The ledger a string names (as :func:`open_ledger`), opened for reading only: nothing is
    created, migrated or written. A SQLite path that does not exist, or an empty file, reads
    as an empty ledger and stays as it is; so does a PostgreSQL table not created yet."""
    if spec is None:
        return _process_memory_ledger()
    text = os.fspath(spec).strip()
    if not text or text == ":memory:":
        return open_ledger(text)
    if _is_postgres(text):
        from tokenomy.ledger._postgres import PostgresLedger

        url, schema, table = _split_postgres(text)
        return PostgresLedger(url, schema=schema, table=table, read_only=True)
    from tokenomy.ledger._sqlite import SQLiteLedger

    return SQLiteLedger(sqlite_path(text) or text, read_only=True)


def _is_postgres(text: str) -> bool:
    return text.lower().startswith(("postgresql://", "postgres://"))


def sqlite_path(spec: str | os.PathLike[str] | None) -> str | None:
    """The file path a spec names when it is a SQLite ledger (``None`` for memory/PostgreSQL).

    Raises :class:`ConfigurationError` for a malformed ``sqlite:`` URL or an unknown scheme.
    """
    if spec is None:
        return None
    text = os.fspath(spec).strip()
    if not text or text == ":memory:" or _is_postgres(text):
        return None
    if text.lower().startswith("sqlite:"):
        if not text.lower().startswith("sqlite:///") or len(text) == len("sqlite:///"):
            raise ConfigurationError(
                f"cannot read the ledger URL {text!r}: write sqlite:///relative/path.db or "
                f"sqlite:////absolute/path.db (or just the path)"
            )
        return text[len("sqlite:///") :]
    if "://" in text:
        raise ConfigurationError(
            f"unknown ledger {text!r}: use a file path (SQLite), sqlite:///path, "
            f"postgresql://..., ':memory:', or nothing for the in-process ledger"
        )
    return text


def default_ledger() -> LedgerStore:
    """The process-wide ledger: :func:`set_default_ledger`'s, else the one ``TOKENOMY_LEDGER``
    names (read on first use, then kept), else the process-wide :class:`MemoryLedger`."""
    global _default
    store = _default  # lock-free fast path: reading a global is atomic; it is on every call
    if store is not None:
        return store
    created = open_ledger(os.environ.get(ENV_VAR))
    with _lock:
        if _default is None:
            _default = created
            return created
        store = _default
    created.close()  # another thread won the race (a no-op for the process MemoryLedger)
    return store


def set_default_ledger(store: LedgerStore | None) -> LedgerStore | None:
    """Make ``store`` the process-wide ledger; returns the previous one (``None`` if unset).

    ``None`` forgets the current one, so the next :func:`default_ledger` reads
    ``TOKENOMY_LEDGER`` again. The previous store is not closed.
    """
    global _default
    if store is not None and not isinstance(store, LedgerStore):
        raise ConfigurationError(f"set_default_ledger() takes a LedgerStore, got {store!r}")
    with _lock:
        previous, _default = _default, store
    return previous
