"""The background writer of buffered ledgers, and the flush-at-exit registry.

:meth:`BatchWriter.put` only appends to a deque (no lock, no I/O); a daemon thread wakes every
``flush_interval`` seconds, or as soon as ``batch_size`` records are waiting, and hands
everything queued to ``sink`` (which writes it in one transaction). :meth:`BatchWriter.flush`
enqueues a marker and waits until the writer has passed it, so it returns once everything put
before it is committed.

The thread never references the store that owns it, so a store dropped without ``close()`` is
still garbage-collected (its ``weakref.finalize`` then flushes and stops the writer). Stores
register in :func:`register_for_exit`, which installs one ``atexit`` hook the first time a
store is created (never at import) and holds the stores weakly.
"""

from __future__ import annotations

import atexit
import sys
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from tokenomy.exceptions import ConfigurationError, LedgerError

__all__ = ["BatchWriter", "check_batching", "register_for_exit", "unregister"]

#: Most records written in one transaction when a backlog has built up.
_MAX_TRANSACTION = 20_000


def check_batching(batch_size: int, flush_interval: float) -> None:
    """Raise ConfigurationError unless ``batch_size >= 1`` and ``flush_interval > 0``."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigurationError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if not isinstance(flush_interval, int | float) or not flush_interval > 0:
        raise ConfigurationError(
            f"flush_interval must be a number of seconds > 0, got {flush_interval!r}"
        )


class _Marker:
    __slots__ = ("error", "event")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.error: BaseException | None = None


class BatchWriter:
    """A daemon thread that drains a queue of items into ``sink`` in batches."""

    def __init__(
        self,
        sink: Callable[[list[Any]], None],
        *,
        batch_size: int,
        flush_interval: float,
        name: str,
    ) -> None:
        check_batching(batch_size, flush_interval)
        self._sink = sink
        self._batch_size = batch_size
        self._interval = flush_interval
        self._queue: deque[Any] = deque()
        self._wake = threading.Event()
        self._busy = False
        self._stopping = False
        self.last_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # -- producer side (any thread) ---------------------------------------------------------

    def put(self, item: Any) -> None:
        """Queue one item (thread-safe, never blocks on I/O)."""
        q = self._queue
        q.append(item)
        if len(q) >= self._batch_size and not self._wake.is_set():
            self._wake.set()

    def put_many(self, items: Iterable[Any]) -> None:
        """Queue several items."""
        self._queue.extend(items)
        if len(self._queue) >= self._batch_size:
            self._wake.set()

    @property
    def pending(self) -> int:
        """Items queued but not yet handed to the sink."""
        return sum(1 for x in list(self._queue) if not isinstance(x, _Marker))

    def flush(self) -> None:
        """Block until everything put before this call went through the sink.

        Raises :class:`LedgerError` if writing failed (the records stay queued and are retried).
        """
        if threading.current_thread() is self._thread:
            return
        if not self._queue and not self._busy:
            return
        marker = _Marker()
        self._queue.append(marker)
        self._wake.set()
        while not marker.event.wait(1.0):
            if not self._thread.is_alive():
                raise LedgerError("the ledger writer thread has stopped; records were not written")
        if marker.error is not None:
            raise LedgerError(
                f"writing the ledger failed: {marker.error}; {self.pending} record(s) are still "
                f"queued and will be retried"
            ) from marker.error

    def stop(self) -> None:
        """Flush, then end the thread (idempotent). Raises LedgerError if records were lost."""
        if self._stopping:
            return
        try:
            self.flush()
        finally:
            self._stopping = True
            self._wake.set()
            if threading.current_thread() is not self._thread:
                self._thread.join()
        lost = self.pending
        if lost:
            raise LedgerError(
                f"{lost} record(s) could not be written before the ledger closed: {self.last_error}"
            )

    # -- the writer thread ------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            self._drain()
            if self._stopping:
                return

    def _drain(self) -> None:
        q = self._queue
        self._busy = True
        try:
            while q:
                batch: list[Any] = []
                markers: list[_Marker] = []
                while q and len(batch) < _MAX_TRANSACTION:
                    item = q.popleft()
                    if isinstance(item, _Marker):
                        markers.append(item)
                        break
                    batch.append(item)
                error: BaseException | None = None
                if batch:
                    try:
                        self._sink(batch)
                        self.last_error = None
                    except Exception as exc:
                        error = self.last_error = exc
                        q.extendleft(reversed(batch))  # keep order; retried next round
                for m in markers:
                    m.error = error
                    m.event.set()
                if error is not None:
                    for item in [x for x in q if isinstance(x, _Marker)]:
                        item.error = error
                        item.event.set()
                    return
        finally:
            self._busy = False


class _Closeable(Protocol):
    def close(self) -> None: ...


_LIVE: weakref.WeakSet[Any] = weakref.WeakSet()
_REGISTER_LOCK = threading.Lock()
_registered = False


def register_for_exit(store: _Closeable) -> None:
    """Close (and so flush) ``store`` at interpreter exit unless it was closed or collected."""
    global _registered
    with _REGISTER_LOCK:
        _LIVE.add(store)
        if not _registered:
            atexit.register(_close_all_at_exit)
            _registered = True


def unregister(store: _Closeable) -> None:
    """Forget ``store`` (it was closed)."""
    _LIVE.discard(store)


def _close_all_at_exit() -> None:
    for store in list(_LIVE):
        try:
            store.close()
        except Exception as exc:  # pragma: no cover - reported, exit must go on
            print(f"tokenomy: could not flush ledger {store!r} at exit: {exc}", file=sys.stderr)
