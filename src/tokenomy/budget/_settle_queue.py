"""``SettleQueue``: settles waiting to be sent by a networked budget store, and the background
flusher that sends them when no reservation carries them first.

A settle only lowers what a budget holds (its reservation, the worst case, is replaced by the
actual cost, which is never more unless the estimate was wrong), so sending it a little later
never lets a budget be passed: until it lands, the reservation is still counted. The store
takes the queue's contents in front of its next reservation (one script, one round trip);
when none comes within ``delay`` seconds the flusher thread sends them, many in one round
trip. :meth:`SettleQueue.close` and interpreter exit (``atexit``, and multiprocessing's exit
finalizers in a child process) send the rest.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tokenomy.budget._store import Reservation, Settled

__all__ = ["Pending", "SettleQueue", "deliver", "lost"]

LOG = logging.getLogger("tokenomy.budget")

#: the most settles one script carries (keeps every script short on the server)
BATCH = 256
#: seconds the flusher thread waits idle before ending (the next settle starts another)
IDLE = 2.0


@dataclass(frozen=True, slots=True)
class Pending:
    """One settle waiting to be sent; ``then(settled)`` runs once it is applied."""

    reservation: Reservation
    nanos: int
    tokens: int
    then: Callable[[Settled], None] | None


def deliver(batch: Sequence[Pending], fired: Sequence[tuple[int, int, int, int]]) -> None:
    """Run each applied settle's ``then`` with its alerts (``fired``: settle index, line,
    threshold, spent); a ``then`` that raises is logged, never passed to the caller whose
    round trip carried it."""
    if not batch:
        return
    per: dict[int, list[tuple[int, int, int]]] = {}
    for s, i, j, spent in fired:
        per.setdefault(s, []).append((i, j, spent))
    for k, item in enumerate(batch):
        if item.then is None:
            continue
        try:
            item.then(Settled(tuple(per.get(k, ()))))
        except Exception:
            LOG.exception("budget: an alert hook failed after a settle")


def lost(batch: Sequence[Pending], error: BaseException) -> None:
    """Log settles that could not be sent (their holds lapse after their time to live)."""
    if batch:
        LOG.error("budget: could not settle %d call(s) (their reservations will lapse): %s",
                  len(batch), error)


class SettleQueue:
    """Settles waiting for ``send(batch)`` (thread-safe, fork-aware)."""

    def __init__(self, send: Callable[[Sequence[Pending]], None], *, delay: float) -> None:
        self._send = send
        self.delay = float(delay)
        self._items: list[Pending] = []
        self._lock = threading.Lock()
        self._added = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        ref = weakref.ref(self)

        def at_exit() -> None:
            queue = ref()
            if queue is not None:
                queue.close()

        atexit.register(at_exit)
        if "multiprocessing" in sys.modules:  # a spawned/forked child ends with os._exit
            from multiprocessing import util

            util.Finalize(self, at_exit, exitpriority=10)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: Pending) -> None:
        """Queue ``item``; sent with the next reservation or by the flusher (no wake-up per
        item: the flusher polls every ``delay`` seconds while settles keep coming)."""
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's settles are the parent's
                self._items, self._thread, self._pid = [], None, os.getpid()
            closed = self._closed
            if not closed:
                self._items.append(item)
                self._added += 1
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="tokenomy-budget-settles", daemon=True
                    )
                    self._thread.start()
        if closed:  # after close(): sent at once
            self._flush_batch([item])

    def take(self) -> list[Pending]:
        """Everything queued (up to :data:`BATCH`), for the caller's round trip to carry."""
        if not self._items:
            return []
        with self._lock:
            if self._pid != os.getpid():
                self._items, self._thread, self._pid = [], None, os.getpid()
            items, self._items = self._items[:BATCH], self._items[BATCH:]
            return items

    def flush(self) -> None:
        """Send everything queued now (on the calling thread)."""
        while True:
            batch = self.take()
            if not batch:
                return
            self._flush_batch(batch)

    def _flush_batch(self, batch: Sequence[Pending]) -> None:
        try:
            self._send(batch)
        except Exception as exc:
            lost(batch, exc)

    def close(self) -> None:
        """Send what is queued and stop the flusher; later settles are sent at once."""
        with self._lock:
            self._closed = True
        self.flush()

    def _run(self) -> None:
        idle, seen = 0.0, -1
        while True:
            time.sleep(self.delay)
            if self._items:
                self.flush()
            with self._lock:
                if self._closed:
                    self._thread = None
                    return
                if self._added != seen:
                    idle, seen = 0.0, self._added
                else:
                    idle += self.delay
                    if idle >= IDLE and not self._items:  # idle: end (add starts another)
                        self._thread = None
                        return
