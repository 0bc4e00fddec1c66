"""What the review reads from a ledger: a few grouped sums, computed where the data is.

A SQL ledger (schema v3 and up, exact picodollar money) answers each part with one ``GROUP BY``
over its table (:func:`_sql_parts`): no record is built. Any other store (a memory ledger, a
custom store, an older schema, a ledger with money the picodollar columns do not hold exactly)
is read once, record by record, into the same parts (:func:`_python_parts`); the two paths are
tested to give equal facts for the same records. The parts are keyed by the tags the review
reads (:data:`REVIEW_TAGS`): the SQL path turns each tag set's id into those tag values.

The parts (``Facts``):

* ``hourly``: per (hour, tags): calls and cost (the daily and hourly series, spend by feature
  and user over time);
* ``groups``: per (model, provider, tags, output bucket of 16 tokens): :data:`SUMS`;
* ``prefixes``: per (model, provider, prefix_hash): calls, the smallest ``prefix_tokens``,
  the distinct hours it was seen in, cache-read and input tokens (SQL groups them by hour too,
  rather than counting distinct hours);
* ``repeats``: per (model, provider, n), over the request hashes seen ``n`` > 1 times (cache
  misses only): how many such hashes and their calls' cost (a cache would serve ``n - 1`` of
  each hash's ``n`` calls: ``cost x (n - 1) / n`` exactly, without listing every hash);
* ``latency``: per (model, latency): calls (SQL: per latency bucket, within 1%, as the
  report's percentiles);
* ``run_sizes``: per (tags of the run's first tag set, calls in the run): runs, cost,
  streamed runs; ``big_runs``: the runs of at least :data:`BIG_RUN` calls;
* ``texts``: the opted-in prompt texts (``prompt_text``), newest first, at most 20,000.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tokenomy.ledger._filter import epoch_us
from tokenomy.ledger._rows import bucket_value

if TYPE_CHECKING:
    from tokenomy.ledger import CostRecord, LedgerStore, RecordFilter

__all__ = ["BIG_RUN", "REVIEW_TAGS", "SUMS", "Facts", "TagNames", "read_facts"]

#: The sums of each ``groups`` row, in order.
SUMS: tuple[str, ...] = (
    "calls",
    "cost",
    "unpriced",
    "errors",
    "error_cost",
    "retries",
    "truncated",
    "truncated_cost",
    "labelled",
    "usable",
    "cache_hits",
    "saved",
    "input",
    "output",
    "cache_read",
    "streamed",
    "history_tokens",
    "cache_write_5m",
    "cache_write_1h",
)
_MONEY_SUMS = frozenset({"cost", "error_cost", "truncated_cost", "saved"})
#: A run with at least this many calls is listed in ``big_runs``.
BIG_RUN = 20
_OUT_BUCKET = 16
_TEXTS = 20_000
_ZERO = Decimal(0)
_PICO = Decimal(10) ** 12


@dataclass(frozen=True, slots=True)
class TagNames:
    """Which tag keys the review reads as what (``--feature-tag``, ``--user-tag``), and the
    memory window the history estimate assumes."""

    feature: str = "feature"
    user: str = "user"
    window_tokens: int = 4000
    history_messages: int = 6


def review_tags(names: TagNames) -> tuple[str, ...]:
    """The tag keys a row is keyed by, in order."""
    return (
        names.feature,
        names.user,
        "route_tier",
        "route_start",
        "route_accepted",
        "budget_downgraded_from",
        "run_name",
    )


#: The default tag keys (see :func:`review_tags`).
REVIEW_TAGS = review_tags(TagNames())

TagKey = tuple[str | None, ...]


@dataclass(slots=True)
class Facts:
    """The grouped sums the review is computed from (see the module docstring)."""

    tags: tuple[str, ...]
    hourly: dict[tuple[int, TagKey], list[Any]] = field(default_factory=dict)
    groups: dict[tuple[str, str | None, TagKey, int], list[Any]] = field(default_factory=dict)
    prefixes: dict[tuple[str, str | None, str], list[Any]] = field(default_factory=dict)
    repeats: dict[tuple[str, str | None, int], list[Any]] = field(default_factory=dict)
    latency: dict[tuple[str, float], int] = field(default_factory=dict)
    run_sizes: dict[tuple[TagKey, int], list[Any]] = field(default_factory=dict)
    big_runs: list[tuple[str, TagKey, int, Decimal, int, int]] = field(default_factory=list)
    texts: list[tuple[str, str | None, str, Decimal]] = field(default_factory=list)
    exact: bool = True  # read in SQL (False: record by record)


def _add(slot: list[Any], values: Sequence[Any]) -> None:
    for i, v in enumerate(values):
        slot[i] += v


def read_facts(store: LedgerStore, where: RecordFilter | None, names: TagNames) -> Facts:
    """The review's facts of the records of ``store`` matching ``where``."""
    from tokenomy.ledger._sql_report import MoneyOverflowError
    from tokenomy.ledger._sql_store import AggregatedInSql

    tags = review_tags(names)
    store.flush()
    if isinstance(store, AggregatedInSql) and store._fast:
        agg = store._agg()
        if not agg._inexact(where):
            try:
                return _sql_parts(store, agg, where, names, tags)
            except MoneyOverflowError:  # a sum past SQLite's 64 bits: the exact path
                pass
    return _python_parts(store.iter_records(where), names, tags)


# -- record by record ------------------------------------------------------------------------


def _history(r: CostRecord, names: TagNames) -> int:
    n = r.message_count
    if n is None or n < names.history_messages:
        return 0
    extra = r.usage.input - (r.prefix_tokens or 0) - names.window_tokens
    return extra if extra > 0 else 0


def _python_parts(records: Iterable[CostRecord], names: TagNames, tags: tuple[str, ...]) -> Facts:
    facts = Facts(tags, exact=False)
    runs: dict[str, list[Any]] = {}
    prefix_hours: dict[tuple[str, str | None, str], set[int]] = {}
    request_groups: dict[tuple[str, str | None, str], list[Any]] = {}
    texts: list[tuple[int, str, str | None, str, Decimal]] = []
    for r in records:
        key = tuple(r.tags.get(t) for t in tags)
        cost = r.cost.total if r.cost is not None else _ZERO
        ts_us = epoch_us(r.timestamp)
        hour = ts_us // 3_600_000_000
        slot = facts.hourly.setdefault((hour, key), [0, _ZERO])
        _add(slot, (1, cost))
        u = r.usage
        hit = r.cache.outcome != "miss"
        gkey = (r.model, r.provider, key, u.output // _OUT_BUCKET)
        g = facts.groups.setdefault(gkey, [0, _ZERO, *([0] * 9), _ZERO, *([0] * 7)])
        _add(
            g,
            (
                1,
                cost,
                0 if r.cost is not None else 1,
                1 if r.error is not None else 0,
                cost if r.error is not None else _ZERO,
                1 if r.attempt > 1 else 0,
                1 if r.truncated else 0,
                cost if r.truncated else _ZERO,
                1 if r.usable is not None else 0,
                1 if r.usable else 0,
                1 if hit else 0,
                r.cache.saved or _ZERO,
                u.input,
                u.output,
                u.cache_read,
                1 if r.streamed else 0,
                _history(r, names),
                u.cache_write_5m,
                u.cache_write_1h,
            ),
        )
        if r.prefix_hash is not None:
            pkey = (r.model, r.provider, r.prefix_hash)
            p = facts.prefixes.get(pkey)
            if p is None:
                p = facts.prefixes[pkey] = [0, r.prefix_tokens, 0, 0, 0]
            p[0] += 1
            if r.prefix_tokens is not None and (p[1] is None or r.prefix_tokens < p[1]):
                p[1] = r.prefix_tokens
            prefix_hours.setdefault(pkey, set()).add(hour)
            p[3] += u.cache_read
            p[4] += u.input
        if r.request_hash is not None and not hit:
            q = request_groups.setdefault((r.model, r.provider, r.request_hash), [0, _ZERO])
            _add(q, (1, cost))
        run_key = r.root_run_id or r.run_id or r.record_id
        run = runs.get(run_key)
        if run is None:
            runs[run_key] = [1, cost, 1 if r.streamed else 0, key, ts_us, ts_us, ts_us]
        else:
            run[0] += 1
            run[1] += cost
            run[2] |= 1 if r.streamed else 0
            if ts_us < run[6]:
                run[3], run[6] = key, ts_us
            run[4] = min(run[4], ts_us)
            run[5] = max(run[5], ts_us)
        if r.latency_ms is not None:
            lk = (r.model, r.latency_ms)
            facts.latency[lk] = facts.latency.get(lk, 0) + 1
        if r.prompt_text is not None:
            texts.append((ts_us, r.model, r.provider, r.prompt_text, cost))
    for pkey, hours in prefix_hours.items():
        facts.prefixes[pkey][2] = len(hours)
    for (model, provider, _h), (n, cost) in request_groups.items():
        if n > 1:
            _add(facts.repeats.setdefault((model, provider, n), [0, _ZERO]), (1, cost))
    _runs_into(facts, ((k, *v[:6]) for k, v in runs.items()))
    texts.sort(key=lambda t: -t[0])
    facts.texts = [t[1:] for t in texts[:_TEXTS]]
    return facts


def _runs_into(facts: Facts, runs: Iterable[tuple[str, int, Decimal, int, TagKey, int, int]]) -> None:
    for run_key, n, cost, streamed, key, first, last in runs:
        slot = facts.run_sizes.setdefault((key, n), [0, _ZERO, 0])
        _add(slot, (1, cost, streamed))
        if n >= BIG_RUN:
            facts.big_runs.append((run_key, key, n, cost, first, last))
    facts.big_runs.sort(key=lambda b: (-b[2], b[0]))


# -- in SQL ----------------------------------------------------------------------------------


def _usd(pico: Any) -> Decimal:
    return _ZERO if pico is None else Decimal(int(pico)) / _PICO


def _sql_parts(
    store: Any, agg: Any, where: RecordFilter | None, names: TagNames, tags: tuple[str, ...]
) -> Facts:
    from tokenomy.ledger._columns import REQUEST_HASH_VERSION

    facts = Facts(tags)
    d = agg.d
    ph = d.ph
    fetch = agg._fetch
    clause, params = agg.where(where)
    hashed = getattr(store, "schema_version", 0) >= REQUEST_HASH_VERSION
    tag_rows = fetch(
        f"SELECT tagset, key, value FROM {d.items} WHERE key IN ({', '.join([ph] * len(tags))})",
        list(tags),
    )
    index = {t: i for i, t in enumerate(tags)}
    by_set: dict[int, list[str | None]] = {}
    for tagset, k, v in tag_rows:
        by_set.setdefault(int(tagset), [None] * len(tags))[index[k]] = v
    empty: TagKey = (None,) * len(tags)

    def key_of(tagset: Any) -> TagKey:
        found = by_set.get(int(tagset))
        return empty if found is None else tuple(found)

    hour = "(ts_us / 3600000000)"
    sqlite = not d.pg

    def flag(expr: str) -> str:
        # SQLite's comparisons are 0/1 integers already; PostgreSQL's are booleans
        return f"SUM({expr})" if sqlite else f"SUM(CASE WHEN {expr} THEN 1 ELSE 0 END)"

    def money_if(expr: str) -> str:
        return f"SUM(CASE WHEN {expr} THEN cost_p ELSE 0 END)"

    history = (
        f"SUM(CASE WHEN message_count >= {int(names.history_messages)} AND input_tokens - "
        f"COALESCE(prefix_tokens, 0) > {int(names.window_tokens)} THEN input_tokens - "
        f"COALESCE(prefix_tokens, 0) - {int(names.window_tokens)} ELSE 0 END)"
        if hashed
        else "0"
    )
    sums = [
        "COUNT(*)",
        "SUM(cost_p)",
        flag("(cost_p IS NULL AND cost_total IS NULL)"),
        flag("(error IS NOT NULL)"),
        money_if("error IS NOT NULL"),
        flag("(attempt > 1)"),
        flag("(truncated)" if not sqlite else "truncated"),
        money_if("truncated"),
        flag("(usable IS NOT NULL)"),
        flag("(usable)" if not sqlite else "usable"),
        flag("(cache_outcome <> 'miss')"),
        "SUM(saved_p)",
        "SUM(input_tokens)",
        "SUM(output_tokens)",
        "SUM(cache_read_tokens)",
        flag("(streamed)" if not sqlite else "streamed"),
        history,
        "SUM(cache_write_5m_tokens)",
        "SUM(cache_write_1h_tokens)",
        flag("(prompt_text IS NOT NULL)") if hashed else "0",
    ]
    out_b = f"(output_tokens / {_OUT_BUCKET})"
    # runs: the tag set of each run's earliest record (ties: the smaller id), sizes and the
    # runs of at least BIG_RUN calls
    if d.pg:
        first_set = "SUBSTRING(MIN(LPAD(ts_us::text, 20, '0') || ':' || tagset::text) FROM 22)"
    else:
        first_set = "SUBSTR(MIN(printf('%020d:%d', ts_us, tagset)), 22)"
    streamed_max = "MAX(streamed)" if sqlite else "MAX(CASE WHEN streamed THEN 1 ELSE 0 END)"
    runs_sql = (
        f"SELECT run_key, COUNT(*) AS n, SUM(cost_p) AS c, {streamed_max} AS s, "
        f"{first_set} AS ts, MIN(ts_us) AS t0, MAX(ts_us) AS t1 FROM {d.table}{clause} "
        f"GROUP BY run_key"
    )
    pclause, pparams = agg.where(where, "prefix_hash IS NOT NULL")
    rclause, rparams = agg.where(where, "request_hash IS NOT NULL", "cache_outcome = 'miss'")
    jobs: list[tuple[str, list[Any]]] = [
        (
            f"SELECT model, provider, tagset, {out_b}, {', '.join(sums)} FROM {d.table}{clause} "
            f"GROUP BY model, provider, tagset, {out_b}",
            params,
        ),
        (
            f"SELECT {hour}, tagset, COUNT(*), SUM(cost_p) FROM {d.table}{clause} "
            f"GROUP BY {hour}, tagset",
            params,
        ),
        (
            f"WITH r AS MATERIALIZED ({runs_sql}) "
            f"SELECT NULL, n, COUNT(*), SUM(c), SUM(s), ts, 0, 0 FROM r GROUP BY ts, n "
            f"UNION ALL SELECT run_key, n, 1, c, s, ts, t0, t1 FROM r WHERE n >= {BIG_RUN}",
            params,
        ),
        (
            f"SELECT model, lat_bucket, COUNT(*) FROM {d.table}{clause} "
            f"GROUP BY model, lat_bucket",
            params,
        ),
    ]
    if hashed:
        jobs += [
            (
                f"SELECT model, provider, prefix_hash, {hour}, COUNT(*), MIN(prefix_tokens), "
                f"SUM(cache_read_tokens), SUM(input_tokens) FROM {d.table}{pclause} "
                f"GROUP BY model, provider, prefix_hash, {hour}",
                pparams,
            ),
            (
                f"SELECT model, provider, n, COUNT(*), SUM(c) FROM (SELECT model, provider, "
                f"COUNT(*) AS n, SUM(cost_p) AS c FROM {d.table}{rclause} "
                f"GROUP BY model, provider, request_hash HAVING COUNT(*) > 1) q "
                f"GROUP BY model, provider, n",
                rparams,
            ),
        ]
    results = _run_all(store, fetch, jobs)
    group_rows, hour_rows, run_rows, lat_rows = results[:4]
    for h, tagset, n, cost in hour_rows:
        _add(facts.hourly.setdefault((int(h), key_of(tagset)), [0, _ZERO]), (int(n), _usd(cost)))
    texts_seen = 0
    for row in group_rows:
        model, provider, tagset, bucket = row[:4]
        texts_seen += int(row[-1] or 0)
        values = [
            _usd(v) if SUMS[i] in _MONEY_SUMS else int(v or 0) for i, v in enumerate(row[4:-1])
        ]
        gkey = (model, provider, key_of(tagset), int(bucket))
        slot = facts.groups.get(gkey)
        if slot is None:
            facts.groups[gkey] = values
        else:
            _add(slot, values)
    for model, bucket, n in lat_rows:
        if bucket is not None:
            lk = (model, bucket_value(int(bucket)))
            facts.latency[lk] = facts.latency.get(lk, 0) + int(n)
    if hashed:
        hours_of: dict[tuple[str, str | None, str], int] = {}
        for model, provider, prefix, _h, n, tokens, cache_read, inp in results[4]:
            pkey = (model, provider, prefix)
            p = facts.prefixes.get(pkey)
            if p is None:
                p = facts.prefixes[pkey] = [0, None, 0, 0, 0]
            p[0] += int(n)
            if tokens is not None and (p[1] is None or int(tokens) < p[1]):
                p[1] = int(tokens)
            hours_of[pkey] = hours_of.get(pkey, 0) + 1
            p[3] += int(cache_read)
            p[4] += int(inp)
        for pkey, hours in hours_of.items():
            facts.prefixes[pkey][2] = hours
        for model, provider, n, hashes, cost in results[5]:
            facts.repeats[(model, provider, int(n))] = [int(hashes), _usd(cost)]
        if texts_seen:
            tclause, tparams = agg.where(where, "prompt_text IS NOT NULL")
            facts.texts = [
                (m, p, t, _usd(c))
                for m, p, t, c in fetch(
                    f"SELECT model, provider, prompt_text, cost_p FROM {d.table}{tclause} "
                    f"ORDER BY ts_us DESC LIMIT {_TEXTS}",
                    tparams,
                )
            ]
    for run_key, n, runs, cost, streamed, tagset, t0, t1 in run_rows:
        key = key_of(tagset)
        if run_key is None:
            _add(
                facts.run_sizes.setdefault((key, int(n)), [0, _ZERO, 0]),
                (int(runs), _usd(cost), int(streamed)),
            )
        else:
            facts.big_runs.append((run_key, key, int(n), _usd(cost), int(t0), int(t1)))
    facts.big_runs.sort(key=lambda b: (-b[2], b[0]))
    return facts


def _run_all(store: Any, fetch: Any, jobs: list[tuple[str, list[Any]]]) -> list[list[Any]]:
    """The rows of each ``(sql, params)`` job. A SQLite file's jobs run two at a time, each
    thread on a read-only connection of its own (SQLite releases the GIL while it reads), the
    rest one after another through the store's ``fetch``."""
    from tokenomy.ledger._sqlite import SQLiteLedger

    path = getattr(store, "path", None)
    if not isinstance(store, SQLiteLedger) or path is None or len(jobs) < 2:
        return [fetch(sql, params) for sql, params in jobs]
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from tokenomy.ledger._sql_report import MoneyOverflowError
    from tokenomy.ledger._sqlite_schema import open_read_only

    local = threading.local()
    opened: list[Any] = []
    lock = threading.Lock()

    def one(job: tuple[str, list[Any]]) -> list[Any]:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn, _v = open_read_only(path, busy_timeout=5.0)
            local.conn = conn
            with lock:
                opened.append(conn)
        if conn is None:  # pragma: no cover - the file was checked by the store
            found: list[Any] = fetch(*job)
            return found
        try:
            rows: list[Any] = conn.execute(*job).fetchall()
        except Exception as exc:
            if "integer overflow" in str(exc):
                raise MoneyOverflowError(str(exc)) from exc
            raise
        return rows

    try:
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="tokenomy-review") as pool:
            return list(pool.map(one, jobs))
    finally:
        for conn in opened:
            conn.close()
