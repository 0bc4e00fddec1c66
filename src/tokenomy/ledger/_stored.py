"""The stored form of one call: a flat tuple of plain values, and the ``CostRecord`` it reads as.

Framework handlers record a call on the caller's thread, inside the model call. Building a
:class:`CostRecord` there (a pydantic model, a ``Usage`` and a ``Cost`` dataclass, a datetime,
a UUID string) costs more than reading the usage and pricing it, and keeping thousands of
such objects alive makes every garbage collection slower. So :func:`tokenomy._tracking.
_record_stored` builds a :data:`Stored` tuple instead: counts, Decimals, floats, strings and
one ``{str: str}`` dict, which the garbage collector stops tracking. Stores keep it as it is
(``MemoryLedger``, trackers) or hand it to their writer thread (SQL stores), and
:func:`materialize` turns it into the :class:`CostRecord` when somebody reads it. Materializing
is deterministic: the same tuple always reads as equal records (``tests/ledger`` pins a stored
call equal to the record :func:`tokenomy.record_call` returns for it).

Compact encodings, each undone by :func:`materialize`:

* ``record_id``: an ``int`` from a process counter reads as ``<process prefix><counter>`` in
  UUID form (the prefix is random per process and renewed in a forked child); a ``str`` is
  kept.
* ``timestamp``: a ``float`` (``time.time()``) reads as an aware UTC datetime; a ``datetime``
  is kept.
* run ids: an ``int`` (a ``uuid.UUID``'s ``.int``) reads as the UUID's string.
* ``usage``: the six counts and the estimated flag, as seven fields; ``cost``: the seven
  fields :meth:`ModelPrice.priced` returns (total, ``None`` when unpriced; parts as a flat
  ``(dimension, USD...)`` tuple, or ``None`` for the usual input-and-output-only call whose
  two parts follow as their own fields, saving a tuple per call; price model, service tier,
  context threshold); ``tags``: a
  ``{str: str}`` dict owned by the stored call;
  ``cache``: ``None`` for a miss.

Apart from the tags dict, only strings, numbers, Decimals and flat tuples of them: a stored
call is one object for the garbage collector to visit (a CostRecord is six or more).
"""

from __future__ import annotations

import itertools
import os
import threading
from datetime import UTC, datetime
from typing import Any

from tokenomy.ledger._filter import epoch_us
from tokenomy.ledger._record import _MISS, _NO_USAGE, CostRecord
from tokenomy.pricing._model import Cost
from tokenomy.usage._model import Usage

__all__ = [
    "RECORD_NUMBERS",
    "Stored",
    "materialize",
    "run_id_text",
    "stored_id",
    "stored_key",
]

#: One call as stored in process: see the module docstring for the layout.
Stored = tuple[Any, ...]

# Positions in a Stored tuple.
ID, TS, RUN, PARENT, ROOT, PROVIDER, MODEL, KIND = range(8)
IN, OUT, READ, W5M, W1H, REASONING, USAGE_ESTIMATED = range(8, 15)
TOTAL, PARTS, PRICE_MODEL, PRICE_TIER, CONTEXT_ABOVE, P_IN, P_OUT = range(15, 22)
PRICED, ESTIMATED, LATENCY, TTFT, STREAMED, TAGS, CACHE, ATTEMPT, ERROR = range(22, 31)
SERVICE_TIER, NAME, FRAMEWORK = range(31, 34)

# Every field but ``usable`` is set by the producer (one shared set: CostRecord is frozen and
# pydantic copies the set before changing it).
_SET: set[str] = set(CostRecord.model_fields) - {"usable"}

# -- record numbers ------------------------------------------------------------------------

#: ``next(RECORD_NUMBERS)`` is a stored call's ``record_id``: a number that :func:`stored_id`
#: formats after this process's random prefix (a forked child gets its own prefix, so the
#: numbers may repeat across processes and the ids do not).
RECORD_NUMBERS = itertools.count(1)
_prefix: str | None = None
_prefix_lock = threading.Lock()


def _new_prefix() -> str:
    """20 random hex digits in UUID-4 form, to which a 12-digit counter is appended."""
    global _prefix
    with _prefix_lock:
        if _prefix is None:
            h = os.urandom(10).hex()
            _prefix = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-"
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=_forked)
        return _prefix


def _forked() -> None:
    # A forked child must never hand out the parent's ids (they may share a ledger): it
    # gets its own prefix (the numbers may repeat, the prefix does not).
    global _prefix
    _prefix = None


def _format_id(n: int) -> str:
    return f"{_prefix or _new_prefix()}{n:012x}"


def stored_id(s: Stored) -> str:
    """The ``record_id`` ``s`` materializes with."""
    rid = s[ID]
    return rid if type(rid) is str else _format_id(rid)


def stored_key(s: Stored) -> int:
    """Microseconds since the epoch of ``s``'s timestamp (the stores' sort key)."""
    ts = s[TS]
    if type(ts) is float:
        return round(ts * 1_000_000)
    return epoch_us(ts)


def _unflat(values: tuple[Any, ...]) -> dict[Any, Any]:
    return dict(zip(values[::2], values[1::2], strict=True))


# -- materializing -------------------------------------------------------------------------


def run_id_text(value: Any) -> str | None:
    """A stored run id as the record's string (an int is a UUID's, formatted like ``str()``)."""
    if value is None or type(value) is str:
        return value
    if type(value) is int:
        h = f"{value:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return str(value)


def materialize(s: Stored) -> CostRecord:
    """The :class:`CostRecord` a stored call reads as (a new, equal one on every call)."""
    ts = s[TS]
    total = s[TOTAL]
    counts = s[IN:USAGE_ESTIMATED + 1]
    values = {
        "record_id": stored_id(s),
        "run_id": run_id_text(s[RUN]),
        "parent_run_id": run_id_text(s[PARENT]),
        "root_run_id": run_id_text(s[ROOT]),
        "timestamp": datetime.fromtimestamp(ts, UTC) if type(ts) is float else ts,
        "provider": s[PROVIDER],
        "model": s[MODEL],
        "kind": s[KIND],
        "usage": Usage(*counts) if any(counts) else _NO_USAGE,
        "cost": None
        if total is None
        else Cost(
            total=total,
            parts=_unflat(s[PARTS])
            if s[PARTS] is not None
            else {"input": s[P_IN], "output": s[P_OUT]},
            model=s[PRICE_MODEL],
            service_tier=s[PRICE_TIER],
            context_above=s[CONTEXT_ABOVE],
        ),
        "priced": s[PRICED],
        "estimated": s[ESTIMATED],
        "latency_ms": s[LATENCY],
        "ttft_ms": s[TTFT],
        "streamed": s[STREAMED],
        "tags": dict(s[TAGS]),
        "cache": s[CACHE] or _MISS,
        "attempt": s[ATTEMPT],
        "error": s[ERROR],
        "usable": None,
        "service_tier": s[SERVICE_TIER],
        "name": s[NAME],
        "framework": s[FRAMEWORK],
    }
    return CostRecord._construct(values, _SET)
