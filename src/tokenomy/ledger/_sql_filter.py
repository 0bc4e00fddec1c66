"""A :class:`RecordFilter` as a SQL ``WHERE`` clause (shared by the SQLite and PostgreSQL stores).

Every criterion is translated exactly (no post-filtering in Python): the conformance suite
checks each store returns the same records as :meth:`RecordFilter.matches`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from tokenomy.ledger._filter import RecordFilter

__all__ = ["postgres_tags", "sqlite_tags", "where_clause"]


def where_clause(
    where: RecordFilter | None,
    *,
    ph: str,
    tags_sql: Callable[[Mapping[str, str]], tuple[str, list[Any]]],
) -> tuple[str, list[Any]]:
    """``(" WHERE ...", params)`` (or ``("", [])``); ``ph`` is the placeholder (``?``/``%s``)."""
    if where is None:
        return "", []
    parts: list[str] = []
    params: list[Any] = []
    since, until = where.since_us, where.until_us
    if since is not None:
        parts.append(f"ts_us >= {ph}")
        params.append(since)
    if until is not None:
        parts.append(f"ts_us < {ph}")
        params.append(until)
    for column, values in (("model", where.models), ("provider", where.providers)):
        if values is not None:
            if not values:
                parts.append("1 = 0")
            else:
                parts.append(f"{column} IN ({', '.join([ph] * len(values))})")
                params.extend(values)
    for column, value in (("run_id", where.run_id), ("root_run_id", where.root_run_id)):
        if value is not None:
            parts.append(f"{column} = {ph}")
            params.append(value)
    if where.priced is not None:
        parts.append("cost_total IS NOT NULL" if where.priced else "cost_total IS NULL")
    if where.estimated is not None:
        both = "(estimated OR usage_estimated)"
        parts.append(both if where.estimated else f"NOT {both}")
    if where.cache_hit is not None:
        parts.append(f"cache_outcome {'<>' if where.cache_hit else '='} 'miss'")
    if where.failed is not None:
        parts.append("error IS NOT NULL" if where.failed else "error IS NULL")
    if where.retry is not None:
        parts.append("attempt > 1" if where.retry else "attempt = 1")
    if where.tags:
        sql, tag_params = tags_sql(where.tags)
        parts.append(sql)
        params.extend(tag_params)
    if not parts:
        return "", []
    return " WHERE " + " AND ".join(parts), params


def sqlite_tags(tags: Mapping[str, str]) -> tuple[str, list[Any]]:
    """SQLite: each pair must be an entry of the JSON ``tags`` object (any key characters)."""
    clauses = []
    params: list[Any] = []
    for k, v in tags.items():
        clauses.append(
            "EXISTS (SELECT 1 FROM json_each(tags) AS t WHERE t.key = ? AND t.type = 'text' "
            "AND t.value = ?)"
        )
        params.extend((k, v))
    return " AND ".join(clauses), params


def postgres_tags(tags: Mapping[str, str]) -> tuple[str, list[Any]]:
    """PostgreSQL: JSONB containment (can use the GIN index on ``tags``)."""
    return "tags @> %s::jsonb", [json.dumps(dict(tags))]
