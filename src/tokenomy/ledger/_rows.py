"""A :class:`CostRecord` as a flat row of SQL values, and back (shared by the SQL stores).

The hot path of every SQL ledger: fields are read straight off the model and its dataclasses
(no ``model_dump``), and rows are turned back into records without re-validation (they were
validated when first built).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from json.encoder import encode_basestring as _q
from typing import Any

from tokenomy.ledger import _stored as st
from tokenomy.ledger._filter import epoch_us
from tokenomy.ledger._record import _MISS, CacheInfo, CostRecord
from tokenomy.ledger._stored import Stored
from tokenomy.pricing._model import Cost
from tokenomy.usage._model import Usage

__all__ = ["BOOL_COLUMNS", "COLUMNS", "record_to_row", "row_to_record", "stored_to_row", "to_row"]

#: Column order of a row; the SQL schemas declare the same names.
COLUMNS: tuple[str, ...] = (
    "record_id",
    "ts_us",
    "timestamp",
    "run_id",
    "parent_run_id",
    "root_run_id",
    "provider",
    "model",
    "kind",
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
    "priced",
    "estimated",
    "latency_ms",
    "ttft_ms",
    "streamed",
    "tags",
    "cache_outcome",
    "cache_saved",
    "cache_similarity",
    "attempt",
    "error",
    "usable",
    "service_tier",
    "name",
    "framework",
)


#: Columns holding a flag: rows carry them as 0/1 ints (SQLite binds exact ints fastest; the
#: PostgreSQL store casts them to boolean in its INSERT).
BOOL_COLUMNS: frozenset[str] = frozenset(
    {"usage_estimated", "priced", "estimated", "streamed", "usable"}
)


def _json_object(items: Iterable[tuple[str, str]]) -> str:
    # A flat {str: str} object as compact JSON; ~5x faster than json.dumps for small dicts.
    return "{" + ",".join([_q(k) + ":" + _q(v) for k, v in items]) + "}"


def _json_parts(parts: Mapping[str, Decimal]) -> str:
    # str(Decimal) is only digits, '.', 'E', '+', '-' (or NaN/Infinity): nothing to escape.
    return "{" + ",".join([_q(k) + ':"' + str(v) + '"' for k, v in parts.items()]) + "}"


def to_row(item: CostRecord | Stored) -> tuple[Any, ...]:
    """The row of a record or of a stored call (see ``ledger/_stored.py``)."""
    return stored_to_row(item) if isinstance(item, tuple) else record_to_row(item)


def stored_to_row(s: Stored) -> tuple[Any, ...]:
    """The row of a stored call: ``record_to_row(materialize(s))``, without building the
    record (the SQL writer thread's path for calls the framework handlers recorded)."""
    ts = s[st.TS]
    if type(ts) is float:
        ts = datetime.fromtimestamp(ts, UTC)
    total = s[st.TOTAL]
    if total is None:
        total_text = parts_text = price_model = None
    else:
        total_text = str(total)
        flat = s[st.PARTS]
        parts_text = _json_parts(
            {"input": s[st.P_IN], "output": s[st.P_OUT]}
            if flat is None
            else dict(zip(flat[::2], flat[1::2], strict=True))
        )
        price_model = s[st.PRICE_MODEL] or None
    cache = s[st.CACHE] or _MISS
    saved = cache.saved
    tags = s[st.TAGS]
    return (
        st.stored_id(s),
        epoch_us(ts),
        ts.isoformat(),
        st.run_id_text(s[st.RUN]),
        st.run_id_text(s[st.PARENT]),
        st.run_id_text(s[st.ROOT]),
        s[st.PROVIDER],
        s[st.MODEL],
        s[st.KIND],
        s[st.IN],
        s[st.OUT],
        s[st.READ],
        s[st.W5M],
        s[st.W1H],
        s[st.REASONING],
        1 if s[st.USAGE_ESTIMATED] else 0,
        total_text,
        parts_text,
        price_model,
        1 if s[st.PRICED] else 0,
        1 if s[st.ESTIMATED] else 0,
        s[st.LATENCY],
        s[st.TTFT],
        1 if s[st.STREAMED] else 0,
        _json_object(tags.items()) if tags else "{}",
        cache.outcome,
        None if saved is None else str(saved),
        cache.similarity,
        s[st.ATTEMPT],
        s[st.ERROR],
        None,
        s[st.SERVICE_TIER],
        s[st.NAME],
        s[st.FRAMEWORK],
    )


def record_to_row(r: CostRecord) -> tuple[Any, ...]:
    """The row of ``r`` in :data:`COLUMNS` order (money as exact decimal strings, flags 0/1).

    Reads the model's ``__dict__`` directly: half the cost of 34 attribute lookups.
    """
    d = r.__dict__
    ts = d["timestamp"]
    u = d["usage"]
    c = d["cost"]
    cache = d["cache"]
    tags = d["tags"]
    if c is None:
        total = parts = price_model = None
    else:
        total = str(c.total)
        parts = _json_parts(c.parts)
        price_model = c.model or None
    saved = cache.saved
    usable = d["usable"]
    return (
        d["record_id"],
        epoch_us(ts),
        ts.isoformat(),
        d["run_id"],
        d["parent_run_id"],
        d["root_run_id"],
        d["provider"],
        d["model"],
        d["kind"],
        u.input,
        u.output,
        u.cache_read,
        u.cache_write_5m,
        u.cache_write_1h,
        u.reasoning,
        1 if u.estimated else 0,
        total,
        parts,
        price_model,
        1 if d["priced"] else 0,
        1 if d["estimated"] else 0,
        d["latency_ms"],
        d["ttft_ms"],
        1 if d["streamed"] else 0,
        _json_object(tags.items()) if tags else "{}",
        cache.outcome,
        None if saved is None else str(saved),
        cache.similarity,
        d["attempt"],
        d["error"],
        None if usable is None else (1 if usable else 0),
        d["service_tier"],
        d["name"],
        d["framework"],
    )


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
_ALL_SET: set[str] = set(CostRecord.model_fields)
# What model_construct does for a model without aliases, extras, private attributes or
# post-init hook, minus its per-field loop (half the cost of reading a row back).
_FAST = not CostRecord.__pydantic_post_init__ and all(
    f.alias is None and f.validation_alias is None for f in CostRecord.model_fields.values()
)


def _construct(values: dict[str, Any]) -> CostRecord:
    if not _FAST:  # pragma: no cover - a future CostRecord with aliases or hooks
        return CostRecord.model_construct(**values)
    return CostRecord._construct(values, _ALL_SET)


def row_to_record(row: Sequence[Any]) -> CostRecord:
    """The record a row (from :func:`record_to_row`, read back from SQL) stands for.

    No re-validation: the values were validated when the record was first built.
    """
    (
        record_id,
        _ts_us,
        timestamp,
        run_id,
        parent_run_id,
        root_run_id,
        provider,
        model,
        kind,
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
        priced,
        estimated,
        latency_ms,
        ttft_ms,
        streamed,
        tags,
        cache_outcome,
        cache_saved,
        cache_similarity,
        attempt,
        error,
        usable,
        service_tier,
        name,
        framework,
    ) = row
    cost = None
    if cost_total is not None:
        cost = Cost(_decimal(cost_total), _parts(cost_parts), price_model or "")
    if cache_outcome == "miss" and cache_saved is None and cache_similarity is None:
        cache = _MISS
    else:
        cache = CacheInfo.model_construct(
            outcome=cache_outcome,
            saved=None if cache_saved is None else _decimal(cache_saved),
            similarity=cache_similarity,
        )
    return _construct(
        {
            "record_id": record_id,
            "run_id": run_id,
            "parent_run_id": parent_run_id,
            "root_run_id": root_run_id,
            "timestamp": datetime.fromisoformat(timestamp),
            "provider": provider,
            "model": model,
            "kind": kind,
            "usage": Usage(t_in, t_out, t_cr, t_cw5, t_cw1, t_reas, bool(usage_estimated)),
            "cost": cost,
            "priced": bool(priced),
            "estimated": bool(estimated),
            "latency_ms": latency_ms,
            "ttft_ms": ttft_ms,
            "streamed": bool(streamed),
            "tags": _tags(tags),
            "cache": cache,
            "attempt": attempt,
            "error": error,
            "usable": None if usable is None else bool(usable),
            "service_tier": service_tier,
            "name": name,
            "framework": framework,
        }
    )
