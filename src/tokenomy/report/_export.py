"""Machine output of a :class:`Report`: the JSON-ready dict and the three CSV tables.

Keys and columns are stable; money is written as exact plain decimal strings (one way:
``decimal_text``), never floats, and every row says whether its cost is complete
(``cost_complete``) or a lower bound because some of its calls are unpriced. A group (or run)
whose calls are all unpriced has cost ``null`` in JSON and an empty cell in CSV: its cost is
unknown, and a spreadsheet must not sum it as $0.

JSON shape version 2 (``schema``): ``prompt_cache`` is the provider's prompt caching per
``by`` and model (apart from ``cache_hits``/``saved``, the response caches); ``runs`` holds the shown page of runs (``runs_total``
counts them all), ``unpriced`` and ``estimated`` list at most ``LISTED`` records, newest
(their counts are in ``totals``), and group totals carry ``latency_approximate``.

Version 3: ``cost`` is what was charged: the provider's bill where it reported one (OpenRouter's
``usage.cost``), else the price book's cost; ``price_book_cost`` is the price book's alone
(``cost_by_dimension`` breaks it down), ``billed`` counts the calls with a bill,
``billed_usd`` sums their bills and ``billed_mismatch`` counts those whose bill and price-book
cost differ by more than ``BILLED_TOLERANCE`` (3%); ``cost_complete`` is false while a call
has neither a price nor a bill. Records carry ``charged_usd`` and ``billed_mismatch``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from tokenomy.exceptions import ConfigurationError
from tokenomy.ledger._aggregate import decimal_text
from tokenomy.pricing._model import COST_DIMENSIONS
from tokenomy.usage._model import USAGE_FIELDS

if TYPE_CHECKING:
    from tokenomy.ledger import CostRecord, GroupTotals
    from tokenomy.ledger._view import RecordView
    from tokenomy.report._report import CsvKind, Report
    from tokenomy.report._runs import RunReport

__all__ = [
    "GROUP_COLUMNS",
    "RECORD_COLUMNS",
    "RUN_COLUMNS",
    "record_json",
    "report_csv",
    "report_dict",
    "write_csv",
]

#: Version of the ``to_dict`` / ``--format json`` shape.
SCHEMA_VERSION = 3

_TOKEN_COLUMNS = tuple(f"{k}_tokens" for k in USAGE_FIELDS)
_COST_COLUMNS = tuple(f"cost_{d}" for d in COST_DIMENSIONS)
_TOTALS_COLUMNS = (
    "calls",
    "cost",
    "cost_complete",
    "unpriced",
    "estimated",
    "price_book_cost",
    "billed",
    "billed_usd",
    "billed_mismatch",
    *_COST_COLUMNS,
    *_TOKEN_COLUMNS,
    "cache_hits",
    "saved",
    "truncated",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
)
#: Columns of ``to_csv("groups")`` after the ``by`` key columns.
GROUP_COLUMNS: tuple[str, ...] = (*_TOTALS_COLUMNS, "first", "last")
#: Columns of ``to_csv("runs")``.
RUN_COLUMNS: tuple[str, ...] = (
    "root_run_id",
    "label",
    "start",
    "end",
    *_TOTALS_COLUMNS,
    "latency_ms",
)
#: Columns of ``to_csv("records")``.
RECORD_COLUMNS: tuple[str, ...] = (
    "record_id",
    "run_id",
    "parent_run_id",
    "root_run_id",
    "timestamp",
    "provider",
    "model",
    "kind",
    "name",
    "cost",
    "priced",
    "estimated",
    "price_book_cost",
    "billed_usd",
    "billed_mismatch",
    *_COST_COLUMNS,
    *_TOKEN_COLUMNS,
    "latency_ms",
    "ttft_ms",
    "streamed",
    "cache_outcome",
    "cache_saved",
    "attempt",
    "error",
    "usable",
    "service_tier",
    "framework",
    "truncated",
    "tags",
)


def record_json(r: CostRecord | RecordView) -> dict[str, Any]:
    """A record in report JSON: its export dict, money written the report's one way."""
    out = r.to_json_dict()
    charged = r.charged_usd
    out["charged_usd"] = None if charged is None else decimal_text(charged)
    out["billed_mismatch"] = r.billed_mismatch
    if r.billed_usd is not None:
        out["billed_usd"] = decimal_text(r.billed_usd)
    cost = out.get("cost")
    if cost is not None:
        out["cost"] = {k: decimal_text(Decimal(v)) for k, v in cost.items()}
    cache = out.get("cache") or {}
    if cache.get("saved") is not None:
        cache["saved"] = decimal_text(Decimal(cache["saved"]))
    return out


def _prompt_cache_dict(report: Report, by: tuple[str, ...]) -> dict[str, Any]:
    from tokenomy.report._prompt_cache import total_of

    names = tuple(dict.fromkeys((*by, "model")))
    groups = report.prompt_cache(*names)
    total = total_of(groups).to_json_dict()
    del total["key"]
    return {"by": list(names), "totals": total, "groups": [g.to_json_dict() for g in groups]}


def _totals_dict(g: GroupTotals) -> dict[str, Any]:
    out = g.to_json_dict()
    out["cost_complete"] = g.uncharged == 0
    return out


def report_dict(
    report: Report, *, by: tuple[str, ...], top: int, runs: int | None
) -> dict[str, Any]:
    """The JSON-ready dict of ``report``: stable keys, Decimals as strings."""
    from tokenomy.report._report import LISTED

    report.prepare(by, ("model",))  # one query: the totals, the groups, the unpriced models
    totals = _totals_dict(report.totals)
    del totals["key"]
    return {
        "schema": SCHEMA_VERSION,
        "totals": totals,
        "by": list(by),
        "groups": [_totals_dict(g) for g in report.by(*by)],
        "runs_total": report.run_count,
        "runs": [run.to_json_dict() for run in report._shown_runs(runs)],
        "most_expensive": [record_json(r) for r in report._shown_top(top)],
        "prompt_cache": _prompt_cache_dict(report, by),
        "retries": _retries_dict(report),
        "unpriced_models": report.unpriced_models(),
        "unpriced": [record_json(r) for r in report._shown_unpriced(LISTED)],
        "estimated": [record_json(r) for r in report._shown_estimated(LISTED)],
    }


def _retries_dict(report: Report) -> dict[str, Any]:
    from tokenomy.report._retries import retries_dict

    return retries_dict(report.retries)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _totals_row(g: GroupTotals) -> dict[str, Any]:
    unknown = g.count > 0 and g.unpriced == g.count
    row: dict[str, Any] = {
        "calls": g.count,
        "cost": None if g.count > 0 and g.uncharged == g.count else decimal_text(g.charged),
        "cost_complete": g.uncharged == 0,
        "unpriced": g.unpriced,
        "estimated": g.estimated,
        "price_book_cost": None if unknown else decimal_text(g.cost),
        "billed": g.billed,
        "billed_usd": decimal_text(g.billed_usd),
        "billed_mismatch": g.billed_mismatch,
    }
    for d, col in zip(COST_DIMENSIONS, _COST_COLUMNS, strict=True):
        part = g.cost_by_dimension.get(d)
        row[col] = None if unknown else decimal_text(part) if part is not None else "0"
    for k, col in zip(USAGE_FIELDS, _TOKEN_COLUMNS, strict=True):
        row[col] = getattr(g.usage, k)
    row["cache_hits"] = g.cache_hits
    row["saved"] = decimal_text(g.saved)
    row["truncated"] = g.truncated
    row["latency_p50_ms"] = g.latency_p50_ms
    row["latency_p95_ms"] = g.latency_p95_ms
    row["latency_p99_ms"] = g.latency_p99_ms
    return row


def _group_row(g: GroupTotals) -> dict[str, Any]:
    row: dict[str, Any] = {f"key_{k}": v for k, v in g.key.items()}
    row.update(_totals_row(g))
    row["first"] = None if g.first is None else g.first.isoformat()
    row["last"] = None if g.last is None else g.last.isoformat()
    return row


def _run_row(run: RunReport[RecordView]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "root_run_id": run.root_run_id,
        "label": run.label,
        "start": run.start.isoformat(),
        "end": run.end.isoformat(),
    }
    row.update(_totals_row(run.totals))
    row["latency_ms"] = run.latency_ms
    return row


def _record_row(r: RecordView) -> dict[str, Any]:
    row: dict[str, Any] = {
        "record_id": r.record_id,
        "run_id": r.run_id,
        "parent_run_id": r.parent_run_id,
        "root_run_id": r.root_run_id,
        "timestamp": r.timestamp.isoformat(),
        "provider": r.provider,
        "model": r.model,
        "kind": r.kind,
        "name": r.name,
        "cost": None if r.charged_usd is None else decimal_text(r.charged_usd),
        "priced": r.cost is not None,
        "estimated": r.estimated or r.usage.estimated,
        "price_book_cost": None if r.cost is None else decimal_text(r.cost.total),
        "billed_usd": None if r.billed_usd is None else decimal_text(r.billed_usd),
        "billed_mismatch": r.billed_mismatch,
    }
    for d, col in zip(COST_DIMENSIONS, _COST_COLUMNS, strict=True):
        row[col] = None if r.cost is None else decimal_text(r.cost.parts.get(d, Decimal(0)))
    for k, col in zip(USAGE_FIELDS, _TOKEN_COLUMNS, strict=True):
        row[col] = getattr(r.usage, k)
    row.update(
        {
            "latency_ms": r.latency_ms,
            "ttft_ms": r.ttft_ms,
            "streamed": r.streamed,
            "cache_outcome": r.cache.outcome,
            "cache_saved": None if r.cache.saved is None else decimal_text(r.cache.saved),
            "attempt": r.attempt,
            "error": r.error,
            "usable": r.usable,
            "service_tier": r.service_tier,
            "framework": r.framework,
            "truncated": r.truncated,
            "tags": json.dumps(r.tags, sort_keys=True),
        }
    )
    return row


def _write(out: IO[str], columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])


def write_csv(report: Report, kind: CsvKind, out: IO[str], *, by: tuple[str, ...]) -> None:
    """Write one table of ``report`` as CSV to ``out``; ``records`` streams (constant memory).

    Unpriced costs are empty cells, never ``0``.
    """
    if kind == "groups":
        columns = (*(f"key_{k}" for k in by), *GROUP_COLUMNS)
        _write(out, columns, (_group_row(g) for g in report.by(*by)))
    elif kind == "runs":
        _write(out, RUN_COLUMNS, (_run_row(run) for run in report._shown_runs()))
    elif kind == "records":
        _write(out, RECORD_COLUMNS, (_record_row(r) for r in report._shown_records()))
    else:
        raise ConfigurationError(
            f"to_csv(kind=...) must be 'groups', 'records' or 'runs', got {kind!r}"
        )


def report_csv(report: Report, kind: CsvKind, *, by: tuple[str, ...]) -> str:
    """CSV text of one table of ``report`` (see :func:`write_csv`)."""
    buf = io.StringIO()
    write_csv(report, kind, buf, by=by)
    return buf.getvalue()
