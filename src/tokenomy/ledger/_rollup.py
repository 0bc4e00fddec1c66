"""The monthly rollup of a SQL ledger (schema v7): the report's partial groups, kept on write.

The report's one query (``ledger/_sql_report.py``) adds the records up per partial group, the
inner ``GROUP BY tagset, model, provider, kind, lat_bucket`` and the flag keys
(``_sql_sums.FLAG_KEYS``), then the groups asked for from those few rows. The rollup table
(``<table>_rollup`` / ``cost_rollup``) holds the same partial groups per UTC month
(:data:`KEYS`), with the count and the sum of every column the report sums (:data:`COLUMNS`:
picodollar integers, token counts, first and last call, the bills), so that summing its rows
gives exactly the partial rows of the raw ``GROUP BY`` over the same records.

It is kept on write, in the records' transaction, from the rows actually inserted (a duplicate
ignored by ``INSERT OR IGNORE`` / ``ON CONFLICT DO NOTHING`` adds nothing): :func:`fill_sql`
groups them and adds each group to its row (``ON CONFLICT ... DO UPDATE``, in key order so
that concurrent writers take their row locks in one order). v7's migration fills it from the
stored rows with the same statement, in one pass. The key's nullable columns (``provider``,
``lat_bucket``, ``error``) are unique through ``coalesce`` and an ``IS NULL`` flag (NULLs are
distinct in a unique index). Money sums are NUMERIC in PostgreSQL (exact); SQLite's integers
turn into a REAL past 2**63 in an update, which the reader checks (:func:`real_check_sql`)
before trusting the table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tokenomy.ledger._billed import BILLED_TOLERANCE
from tokenomy.ledger._rows import MONEY_COLUMNS
from tokenomy.ledger._sql_sums import FLAG_KEYS
from tokenomy.ledger._used import SPARSE, TOKEN_SPARSE
from tokenomy.pricing._model import COST_DIMENSIONS

__all__ = [
    "BILLED_SUMS",
    "COLUMNS",
    "KEYS",
    "create_sql",
    "fill_sql",
    "month_bounds",
    "real_check_sql",
    "row_sums",
]

#: The rollup's key: the UTC month (its first microsecond since 1970), then the report's inner
#: group key.
KEYS: tuple[str, ...] = (
    "month_us", "tagset", "model", "provider", "kind", "lat_bucket", *FLAG_KEYS,
)  # fmt: skip
_NULLABLE = frozenset({"provider", "lat_bucket", "error"})
_TOKENS = (
    "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_5m_tokens",
    "cache_write_1h_tokens", "reasoning_tokens",
)  # fmt: skip


def _odd(pg: bool) -> str:
    # a bill more than BILLED_TOLERANCE from the price book's cost (as _sql_sums.billed_sums)
    num, den = BILLED_TOLERANCE.as_integer_ratio()
    diff = "abs(cost_p - billed_p)" + ("::numeric" if pg else "")
    return f"CASE WHEN cost_p IS NULL THEN billed_p <> 0 ELSE {diff} * {den} > billed_p * {num} END"


def _columns(pg: bool) -> tuple[tuple[str, str, str], ...]:
    """``(column, aggregate over the records, how two values combine)``: ``add`` (never
    NULL), ``sum`` (NULL when no record has an amount), ``min``, ``max``. The first ones are
    in the order of ``_sql_sums``' per-row sums (:func:`row_sums`), the bills' in the order of
    its ``billed_sums`` (:data:`BILLED_SUMS`)."""
    billed = "billed_p IS NOT NULL"
    return (
        ("n", "COUNT(*)", "add"),
        ("cost_p", "SUM(cost_p)", "sum"),
        *((MONEY_COLUMNS[d], f"SUM({MONEY_COLUMNS[d]})", "sum") for d in COST_DIMENSIONS),
        ("saved_p", "SUM(saved_p)", "sum"),
        ("priced", "COUNT(cost_p)", "add"),
        *((t, f"SUM({t})", "add") for t in _TOKENS),
        ("first_us", "MIN(ts_us)", "min"),
        ("last_us", "MAX(ts_us)", "max"),
        ("billed_n", "COUNT(billed_p)", "add"),
        ("billed_p", "SUM(billed_p)", "sum"),
        ("billed_cost_p", f"SUM(CASE WHEN {billed} THEN cost_p END)", "sum"),
        ("billed_priced", f"COUNT(CASE WHEN {billed} THEN cost_p END)", "add"),
        ("billed_odd", f"COUNT(CASE WHEN {billed} AND ({_odd(pg)}) THEN 1 END)", "add"),
    )


COLUMNS: tuple[str, ...] = tuple(c for c, _, _ in _columns(False))
_NBILLED = 5


def row_sums(pg: bool, used: frozenset[str] | None = None) -> tuple[str, ...]:
    """The rollup's columns giving, row for row, the partial sums of ``_sql_sums.sums`` (in
    its order, without PostgreSQL's per-row flag counts: the flags are keys of the rollup):
    its rows are partial groups already, so the report's outer query adds them up with no
    inner GROUP BY. With ``used`` (``ledger/_used.py``), a sparse column no record fills reads
    as the constant its sum is (NULL money, 0 tokens), as over the records."""
    out = []
    for c, _, _how in _columns(pg)[:-_NBILLED]:
        if used is not None and c in SPARSE and c not in used:
            c = "0" if c in TOKEN_SPARSE else ("NULL::numeric" if pg else "NULL")
        out.append(c)
    return tuple(out)


#: The rollup's columns giving, row for row, the partial sums of ``_sql_sums.billed_sums``.
BILLED_SUMS: tuple[str, ...] = COLUMNS[-_NBILLED:]


def _key_types(pg: bool) -> dict[str, str]:
    text, integer = "TEXT", "INTEGER"
    big = "BIGINT" if pg else integer
    flag = "BOOLEAN" if pg else integer
    return {
        "month_us": big, "tagset": big, "model": text, "provider": text, "kind": text,
        "lat_bucket": integer, "attempt": integer, "error": text, "cache_outcome": text,
        "estimated": flag, "usage_estimated": flag, "truncated": flag,
    }  # fmt: skip


def _unique(pg: bool) -> str:
    """The conflict target: the key, each nullable column as ``coalesce`` and a NULL flag."""
    parts: list[str] = []
    for k in KEYS:
        if k in _NULLABLE:
            empty = "''" if _key_types(pg)[k] == "TEXT" else "0"
            parts += [f"coalesce({k}, {empty})", f"({k} IS NULL)"]
        else:
            parts.append(k)
    return ", ".join(parts)


def create_sql(rollup: str, index: str, *, pg: bool) -> str:
    """The table and its unique key (``;``-separated statements)."""
    types = _key_types(pg)
    keys = [f"{k} {types[k]}{'' if k in _NULLABLE else ' NOT NULL'}" for k in KEYS]
    values = []
    for c, _, how in _columns(pg):
        exact = "NUMERIC" if how == "sum" or c in _TOKENS else "BIGINT"
        kind = exact if pg else "INTEGER"
        values.append(f"{c} {kind}{'' if how == 'sum' else ' NOT NULL'}")
    return (
        f"CREATE TABLE {rollup} ({', '.join(keys + values)});\n"
        f"CREATE UNIQUE INDEX {index} ON {rollup} ({_unique(pg)})"
    )


def _month_of(pg: bool) -> str:
    """SQL: the first microsecond of the UTC month of ``ts_us`` (seconds floored first, so
    the date functions see exact integers)."""
    secs = "(CASE WHEN ts_us >= 0 THEN ts_us / 1000000 ELSE (ts_us + 1) / 1000000 - 1 END)"
    if pg:
        return (
            "(extract(epoch FROM date_trunc('month', to_timestamp("
            f"{secs}) AT TIME ZONE 'UTC'))::bigint * 1000000)"
        )
    return f"(CAST(strftime('%s', {secs}, 'unixepoch', 'start of month') AS INTEGER) * 1000000)"


def fill_sql(records: str, rollup: str, where: str, *, pg: bool) -> str:
    """Add the records of ``records`` matching ``where`` (a ``WHERE`` clause: the batch just
    inserted, or ``WHERE true`` for all) to the rollup: grouped by :data:`KEYS`, in key order,
    each group added to its row."""
    cols = _columns(pg)
    names = ", ".join([*KEYS, *(c for c, _, _ in cols)])
    select = ", ".join([_month_of(pg), *KEYS[1:], *(agg for _, agg, _ in cols)])
    positions = ", ".join(str(i + 1) for i in range(len(KEYS)))
    low, high = ("LEAST", "GREATEST") if pg else ("min", "max")
    sets = []
    for c, _, how in cols:
        old, new = f"r.{c}", f"excluded.{c}"
        value = {
            "add": f"{old} + {new}",
            "sum": f"coalesce({old} + {new}, {old}, {new})",
            "min": f"{low}({old}, {new})",
            "max": f"{high}({old}, {new})",
        }[how]
        sets.append(f"{c} = {value}")
    return (
        f"INSERT INTO {rollup} AS r ({names}) SELECT {select} FROM {records} {where} "
        f"GROUP BY {positions} ORDER BY {positions} "
        f"ON CONFLICT ({_unique(pg)}) DO UPDATE SET {', '.join(sets)}"
    )


def real_check_sql(rollup: str) -> str:
    """SQLite: a row whose sum left the 64-bit integers (an update past 2**63 gives a REAL)."""
    sums = [c for c, _, how in _columns(False) if how in ("add", "sum")]
    return f"SELECT 1 FROM {rollup} WHERE " + " OR ".join(
        f"typeof({c}) = 'real'" for c in sums
    ) + " LIMIT 1"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _month_start(us: int, *, up: bool) -> int | None:
    """The first microsecond of the UTC month holding ``us`` (``up``: of the first month
    starting at or after it); ``None`` outside the dates Python handles."""
    try:
        dt = _EPOCH + timedelta(microseconds=us)
        start = dt.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        if up and start != dt:
            year, month = (dt.year + 1, 1) if dt.month == 12 else (dt.year, dt.month + 1)
            start = start.replace(year=year, month=month)
    except (OverflowError, ValueError):
        return None
    return (start - _EPOCH) // timedelta(microseconds=1)


def month_bounds(
    since: int | None, until: int | None
) -> tuple[int | None, int | None, list[tuple[int, int]]] | None:
    """The whole UTC months within ``since <= ts_us < until`` (``(first, end)``: month starts,
    ``None`` unbounded) and the edge ranges outside them (read from the records); ``None``
    when no whole month lies inside."""
    lo = None if since is None else _month_start(since, up=True)
    hi = None if until is None else _month_start(until, up=False)
    if (since is not None and lo is None) or (until is not None and hi is None):
        return None
    if lo is not None and hi is not None and lo >= hi:
        return None
    edges: list[tuple[int, int]] = []
    if since is not None and lo is not None and since < lo:
        edges.append((since, lo))
    if until is not None and hi is not None and hi < until:
        edges.append((hi, until))
    return lo, hi, edges
