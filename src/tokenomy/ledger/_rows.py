"""A stored call or a :class:`CostRecord` as a flat row of SQL values, and back.

One serialisation, shared by the SQL stores: :func:`stored_to_row` writes a
:class:`~tokenomy.ledger._stored.StoredCall` (a record added with ``add()`` is written through
:meth:`StoredCall.from_record`), :func:`row_to_record` reads a row back without re-validation
(the values were validated when first built). The columns are the compound ones written here
by hand (ids, time, usage, cost, tags, cache), then one per
:data:`~tokenomy.ledger._stored.PLAIN_FIELDS` field, copied as is: a new plain record field
needs no code here, only its line in ``ledger/_columns.py``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from decimal import Context, Decimal
from functools import cache
from json.encoder import encode_basestring as _q
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from tokenomy.ledger._columns import ADDED_COLUMNS
from tokenomy.ledger._filter import epoch_us
from tokenomy.ledger._stored import PLAIN_FIELDS, RECORD_FIELDS, StoredCall, run_id_text
from tokenomy.ledger._view import MISS_VIEW, CacheView, RecordView
from tokenomy.pricing._model import COST_DIMENSIONS, Cost
from tokenomy.usage._model import Usage

if TYPE_CHECKING:
    from tokenomy.ledger._record import CostRecord

__all__ = [
    "BOOL_COLUMNS",
    "COLUMNS",
    "DERIVED",
    "LAT_STEPS",
    "MONEY_COLUMNS",
    "ROW_COLUMNS",
    "TAGSET_INDEX",
    "bucket_value",
    "from_pico",
    "lat_bucket",
    "pico",
    "read_columns",
    "record_to_row",
    "row_to_record",
    "row_to_view",
    "stored_to_row",
    "to_row",
]

# The columns of schema version 1 (``ledger/_sqlite_schema.py``).
_V1_COLUMNS: frozenset[str] = frozenset(
    {
        "record_id", "ts_us", "timestamp", "run_id", "parent_run_id", "root_run_id",
        "provider", "model", "kind", "input_tokens", "output_tokens", "cache_read_tokens",
        "cache_write_5m_tokens", "cache_write_1h_tokens", "reasoning_tokens",
        "usage_estimated", "cost_total", "cost_parts", "price_model", "priced", "estimated",
        "latency_ms", "ttft_ms", "streamed", "tags", "cache_outcome", "cache_saved",
        "cache_similarity", "attempt", "error", "usable", "service_tier", "name", "framework",
    }
)  # fmt: skip

# Columns written by hand, in row order.
_COMPOUND: tuple[str, ...] = (
    "record_id",
    "ts_us",
    "timestamp",
    "run_id",
    "parent_run_id",
    "root_run_id",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "usage_estimated",
    "cost_total",
    "cost_parts",
    "price_model",
    "price_tier",
    "context_above",
    "tags",
    "cache_outcome",
    "cache_saved",
    "cache_similarity",
)

#: The columns a record is read back from (the stores' SELECT), in row order.
COLUMNS: tuple[str, ...] = _COMPOUND + PLAIN_FIELDS
#: The derived columns (``ledger/_columns.py``), written after :data:`COLUMNS`; never read back
#: into a record, only aggregated.
DERIVED: tuple[str, ...] = tuple(c.name for c in ADDED_COLUMNS if c.derived)
#: Column order of a written row (the stores' INSERT): :data:`COLUMNS` then :data:`DERIVED`.
ROW_COLUMNS: tuple[str, ...] = COLUMNS + DERIVED
#: The picodollar column of each cost dimension (``cost_<dimension>_p``).
MONEY_COLUMNS: dict[str, str] = {d: f"cost_{d}_p" for d in COST_DIMENSIONS}
#: Where a written row holds its tag set: the tags' JSON text, which the store's writer swaps
#: for the tag set's id (``tagset`` column) before inserting.
TAGSET_INDEX = ROW_COLUMNS.index("tagset")
# The derived values in the order :func:`stored_to_row` computes them; DERIVED (the columns'
# order, by the version that added them) is a permutation of it.
_NATURAL = (
    "cost_p", *MONEY_COLUMNS.values(), "saved_p", "money_inexact", "lat_bucket", "tagset",
    "run_key", "billed_p",
)  # fmt: skip
if set(ROW_COLUMNS) != _V1_COLUMNS | {c.name for c in ADDED_COLUMNS} or sorted(DERIVED) != sorted(
    _NATURAL
):  # pragma: no cover
    raise RuntimeError(
        "ledger columns and record fields disagree: add the field's column (or the cost "
        f"dimension's) to ledger/_columns.py (row columns {sorted(set(COLUMNS))})"
    )
_PERM: tuple[int, ...] | None = (
    None if DERIVED == _NATURAL else tuple(_NATURAL.index(c) for c in DERIVED)
)

_ADDED_IN = {c.name: c.version for c in ADDED_COLUMNS}


def read_columns(version: int) -> tuple[tuple[str, bool], ...]:
    """:data:`COLUMNS` as a table at schema ``version`` has them: ``(name, present)``; a column
    added by a later version is read as NULL (a ledger of an older schema read as it is)."""
    return tuple((c, _ADDED_IN.get(c, 1) <= version) for c in COLUMNS)


#: Columns holding a flag: rows carry them as 0/1 ints (SQLite binds exact ints fastest; the
#: PostgreSQL store casts them to boolean in its INSERT).
BOOL_COLUMNS: frozenset[str] = frozenset(
    {"usage_estimated", "priced", "estimated", "streamed", "usable"}
    | {c.name for c in ADDED_COLUMNS if c.flag}
)
_N = len(_COMPOUND)
_NCOL = len(COLUMNS)
_plain_values = attrgetter(*PLAIN_FIELDS)
_PLAIN_FLAGS = tuple(i for i, name in enumerate(PLAIN_FIELDS) if name in BOOL_COLUMNS)
#: Plain record fields holding money (``Decimal``): rows carry them as exact decimal strings
#: (SQLite binds no Decimal; PostgreSQL's NUMERIC takes the text exactly). Read from the
#: fields of ``RecordView``, the record's without pydantic (``ledger/_view.py``).
_FIELD_TYPES = {f.name: str(f.type) for f in fields(RecordView)}
_PLAIN_MONEY = tuple(
    i for i, name in enumerate(PLAIN_FIELDS) if "Decimal" in _FIELD_TYPES[name]
)


_PICO = Decimal(10) ** 12
_WIDE = Context(prec=100)
_INT64 = 2**63 - 1
#: Latency buckets per factor e: a bucket spans 2% and its value is within 1% of its latencies.
LAT_STEPS = 50
_ZERO_BUCKET = -(10**6)  # latencies of 0 ms (or less)


def pico(value: Decimal | None) -> int | None:
    """``value`` USD as integer picodollars; ``None`` when absent or not exact in 12 places."""
    if value is None:
        return None
    q = _WIDE.multiply(value, _PICO)
    if not q.is_finite():
        return None
    i = int(q)
    if i != q or abs(i) > _INT64:
        return None
    return i


def from_pico(units: Any) -> Decimal:
    """A picodollar sum (int, or PostgreSQL's NUMERIC) back as exact USD."""
    return _WIDE.divide(Decimal(units), _PICO)


def lat_bucket(ms: float | None) -> int | None:
    """The logarithmic bucket of a latency (``None`` when there is none)."""
    if ms is None:
        return None
    if not ms > 0:
        return _ZERO_BUCKET
    if not math.isfinite(ms):
        return 10**6
    return round(math.log(ms) * LAT_STEPS)


#: A bucket's latencies lie within a factor e**(0.5 / LAT_STEPS) either side of its centre; the
#: value it stands for is the centre divided by cosh(0.5 / LAT_STEPS), which is equally far,
#: relatively, from both ends: tanh(0.5 / LAT_STEPS), under 1%, from every latency in it (the
#: centre itself is up to expm1(0.01), 1.005%, from its upper end)
_BUCKET_SCALE = 1.0 / math.cosh(0.5 / LAT_STEPS)


def bucket_value(bucket: int) -> float:
    """The latency a bucket stands for (within 1% of every latency in it)."""
    if bucket <= _ZERO_BUCKET:
        return 0.0
    if bucket >= 10**6:
        return math.inf
    return math.exp(bucket / LAT_STEPS) * _BUCKET_SCALE


def _derived(
    total: Decimal | None,
    parts: Mapping[str, Any] | None,
    saved: Decimal | None,
    billed: Decimal | None,
) -> tuple[Any, ...]:
    """The money columns of a row: total, one per dimension, saved, inexact flag (set too
    when the bill is not exact in picodollars; ``billed_p`` is the row's last column)."""
    inexact = 1 if billed is not None and pico(billed) is None else 0
    total_p = pico(total)
    if total is not None and total_p is None:
        inexact = 1
    dims: list[int | None] = [None] * len(COST_DIMENSIONS)
    if parts:
        for k, v in parts.items():
            i = _DIM_INDEX.get(k)
            p = pico(v)
            if i is None or p is None:
                inexact = 1
            else:
                dims[i] = p
    saved_p = pico(saved)
    if saved is not None and saved_p is None:
        inexact = 1
    return (total_p, *dims, saved_p, inexact)


_DIM_INDEX = {d: i for i, d in enumerate(COST_DIMENSIONS)}


def _json_object(items: Iterable[tuple[str, str]]) -> str:
    # A flat {str: str} object as compact JSON; ~5x faster than json.dumps for small dicts.
    return "{" + ",".join([_q(k) + ":" + _q(v) for k, v in items]) + "}"


def _json_parts(parts: Mapping[str, Decimal]) -> str:
    # str(Decimal) is only digits, '.', 'E', '+', '-' (or NaN/Infinity): nothing to escape.
    return "{" + ",".join([_q(k) + ':"' + str(v) + '"' for k, v in parts.items()]) + "}"


def to_row(item: CostRecord | StoredCall) -> tuple[Any, ...]:
    """The row of a record or of a stored call."""
    return stored_to_row(item if type(item) is StoredCall else StoredCall.from_record(item))  # type: ignore[arg-type]


def record_to_row(r: CostRecord) -> tuple[Any, ...]:
    """The row of ``r`` in :data:`COLUMNS` order (money as exact decimal strings, flags 0/1)."""
    return stored_to_row(StoredCall.from_record(r))


def stored_to_row(s: StoredCall) -> tuple[Any, ...]:
    """The row of a stored call, in :data:`ROW_COLUMNS` order (the SQL writer thread's path);
    the ``tagset`` column holds the tags' JSON text, for the writer to swap for its id."""
    if s.request is not None:
        s.resolve_request()  # the request's hashes (tokenomy/_request_hash.py), off the caller
    ts = s.when
    total = s.cost_total
    parts: dict[str, Any] | None = None
    if total is None:
        total_text = parts_text = price_model = None
    else:
        total_text = str(total)
        flat = s.cost_parts
        parts = (
            {"input": s.cost_input, "output": s.cost_output}
            if flat is None
            else dict(zip(flat[::2], flat[1::2], strict=True))
        )
        parts_text = _json_parts(parts)
        price_model = s.price_model or None
    cache = s.cache or MISS_VIEW
    saved = cache.saved
    tags = s.tags
    u = s.usage
    plain = list(_plain_values(s))
    for i in _PLAIN_FLAGS:
        v = plain[i]
        if v is not None:
            plain[i] = 1 if v else 0
    for i in _PLAIN_MONEY:
        v = plain[i]
        if v is not None:
            plain[i] = str(v)
    tags_text = _json_object(tags.items()) if tags else "{}"
    run_id = run_id_text(s.run_id)
    root_run_id = run_id_text(s.root_run_id)
    record_id = s.record_id
    row = (
        record_id,
        epoch_us(ts),
        ts.isoformat(),
        run_id,
        run_id_text(s.parent_run_id),
        root_run_id,
        u.input,
        u.output,
        u.cache_read,
        u.cache_write_5m,
        u.cache_write_1h,
        u.reasoning,
        1 if u.estimated else 0,
        total_text,
        parts_text,
        price_model,
        None if total is None else s.price_tier,
        None if total is None else s.context_above,
        tags_text,
        cache.outcome,
        None if saved is None else str(saved),
        cache.similarity,
        *plain,
        *_derived(total, parts, saved, s.billed_usd),
        lat_bucket(s.latency_ms),
        tags_text,
        root_run_id or run_id or record_id,
        pico(s.billed_usd),
    )
    if _PERM is None:
        return row
    derived = row[_NCOL:]
    return row[:_NCOL] + tuple([derived[i] for i in _PERM])


_CACHE_MAX = 4096
_tags_cache: dict[Any, dict[str, str]] = {}
_parts_cache: dict[Any, dict[str, Decimal]] = {}


def _tags(value: Any) -> dict[str, str]:
    # SQLite hands back JSON text, PostgreSQL (JSONB) a dict. Tag sets repeat a lot: parse
    # each distinct text once, hand out copies.
    if not isinstance(value, str):
        return dict(value) if value else {}
    if value == "{}":
        return {}
    cached = _tags_cache.get(value)
    if cached is None:
        if len(_tags_cache) >= _CACHE_MAX:
            _tags_cache.clear()
        cached = _tags_cache[value] = json.loads(value)
    return dict(cached)


def _parts(value: Any) -> dict[str, Decimal]:
    if value is None:
        return {}
    key = value if isinstance(value, str) else None
    if key is not None:
        cached = _parts_cache.get(key)
        if cached is not None:
            return dict(cached)
        value = json.loads(value)
    parts = {k: _decimal(v) for k, v in value.items()}
    if key is not None:
        if len(_parts_cache) >= _CACHE_MAX:
            _parts_cache.clear()
        _parts_cache[key] = parts
        return dict(parts)
    return parts


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(value)


# Every field is set. One shared set: CostRecord is frozen, so pydantic never mutates it
# (model_copy copies it first).
_ALL_SET: set[str] = set(RECORD_FIELDS)


@cache
def _record_types() -> tuple[type[CostRecord], Any, Any, bool]:
    """``(CostRecord, the miss CacheInfo, CacheInfo, fast)``, imported on the first record read
    (rows read as views, :func:`row_to_view`, import no pydantic). ``fast``: whether
    :func:`_construct` may set the record's ``__dict__`` directly, what ``model_construct`` does
    for a model without aliases, extras, private attributes or post-init hook, minus its
    per-field loop (half the cost of reading a row back)."""
    from tokenomy.ledger._record import _MISS, CacheInfo, CostRecord

    fast = not CostRecord.__pydantic_post_init__ and all(
        f.alias is None and f.validation_alias is None for f in CostRecord.model_fields.values()
    )
    return CostRecord, _MISS, CacheInfo, fast


def _construct(values: dict[str, Any]) -> CostRecord:
    record_type, _, _, fast = _record_types()
    if not fast:  # pragma: no cover - a future CostRecord with aliases or hooks
        return record_type.model_construct(**values)
    return record_type._construct(values, _ALL_SET)


def _row_values(row: Sequence[Any]) -> tuple[dict[str, Any], tuple[Any, Any, Any] | None]:
    """The record fields a row holds, but the cache, and the cache's ``(outcome, saved,
    similarity)`` (``None`` for a plain miss)."""
    (
        record_id,
        _ts_us,
        timestamp,
        run_id,
        parent_run_id,
        root_run_id,
        t_in,
        t_out,
        t_cr,
        t_cw5,
        t_cw1,
        t_reas,
        usage_estimated,
        cost_total,
        cost_parts,
        price_model,
        price_tier,
        context_above,
        tags,
        cache_outcome,
        cache_saved,
        cache_similarity,
    ) = row[:_N]
    cost = None
    if cost_total is not None:
        cost = Cost(
            _decimal(cost_total),
            _parts(cost_parts),
            price_model or "",
            price_tier,
            None if context_above is None else int(context_above),
        )
    values = dict(zip(PLAIN_FIELDS, row[_N:_NCOL], strict=True))
    for i in _PLAIN_FLAGS:
        name = PLAIN_FIELDS[i]
        v = values[name]
        if v is not None:
            values[name] = bool(v)
    for i in _PLAIN_MONEY:
        name = PLAIN_FIELDS[i]
        v = values[name]
        if v is not None:
            values[name] = _decimal(v)
    values["record_id"] = record_id
    values["run_id"] = run_id
    values["parent_run_id"] = parent_run_id
    values["root_run_id"] = root_run_id
    values["timestamp"] = datetime.fromisoformat(timestamp)
    values["usage"] = Usage(t_in, t_out, t_cr, t_cw5, t_cw1, t_reas, bool(usage_estimated))
    values["cost"] = cost
    values["tags"] = _tags(tags)
    if cache_outcome == "miss" and cache_saved is None and cache_similarity is None:
        return values, None
    saved = None if cache_saved is None else _decimal(cache_saved)
    return values, (cache_outcome, saved, cache_similarity)


def row_to_record(row: Sequence[Any]) -> CostRecord:
    """The record a row (from :func:`stored_to_row`, read back from SQL) stands for.

    No re-validation: the values were validated when the record was first built.
    """
    _, miss, cache_info, _ = _record_types()
    values, cache = _row_values(row)
    values["cache"] = (
        miss
        if cache is None
        else cache_info.model_construct(outcome=cache[0], saved=cache[1], similarity=cache[2])
    )
    return _construct({k: values[k] for k in RECORD_FIELDS})


def row_to_view(row: Sequence[Any]) -> RecordView:
    """What :func:`row_to_record` reads, as a :class:`RecordView` (no pydantic: the rows a
    report shows)."""
    values, cache = _row_values(row)
    values["cache"] = MISS_VIEW if cache is None else CacheView(*cache)
    return RecordView(**values)
