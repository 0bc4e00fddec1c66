"""Export to the observability tools teams run: OpenTelemetry spans and metrics following the
GenAI semantic conventions, and Prometheus exposition text.

* :func:`export_otel`: one span per record (name ``"{operation} {model}"``, kind CLIENT, its
  start and end from the record's timestamp and latency) with ``gen_ai.operation.name``,
  ``gen_ai.provider.name`` (and the older ``gen_ai.system``), ``gen_ai.request.model``,
  ``gen_ai.response.model``, ``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``,
  ``gen_ai.response.finish_reasons`` (``["length"]`` for a truncated answer), ``error.type``;
  tokenomy's own as ``tokenomy.*`` (``tokenomy.cost_usd``, ``tokenomy.cache.outcome``,
  ``tokenomy.usage.cache_read_input_tokens``, ``tokenomy.tag.<key>``). Metrics: the
  conventions' ``gen_ai.client.token.usage`` histogram (``{token}``, by
  ``gen_ai.token.type`` input/output) and ``gen_ai.client.operation.duration`` (s), and a
  ``tokenomy.cost`` counter (USD). Needs the ``otel`` extra; the caller's tracer and meter
  providers are used (an OTLP exporter sends them on to Langfuse, Phoenix or a collector).
* :func:`prometheus_text`: the exposition format (``prometheus_client``, the ``prometheus``
  extra) of ``tokenomy_spend_usd_total``, ``tokenomy_tokens_total`` (``type`` input / output /
  cache_read), ``tokenomy_calls_total``, ``tokenomy_cache_hits_total`` by model and the tags
  chosen, and ``tokenomy_budget_spent_usd`` / ``tokenomy_budget_limit_usd`` per budget and
  scope when budget statuses are given. Label cardinality is bounded: per label, the
  ``max_values`` values that cost most keep their name, the rest are summed under ``"other"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tokenomy.exceptions import MissingDependencyError

if TYPE_CHECKING:
    from tokenomy.budget import BudgetStatus
    from tokenomy.ledger import CostRecord, LedgerStore, RecordFilter

__all__ = ["export_otel", "prometheus_text"]

_OPERATIONS = {"chat": "chat", "completion": "text_completion", "embedding": "embeddings"}


def export_otel(
    records: Iterable[CostRecord], *, tracer_provider: Any = None, meter_provider: Any = None
) -> int:
    """Emit each record as a span and into the GenAI metrics; returns how many."""
    try:
        from opentelemetry import metrics, trace
        from opentelemetry.trace import SpanKind, Status, StatusCode
    except ImportError as exc:  # pragma: no cover - the extra is installed in the project
        raise MissingDependencyError("opentelemetry-sdk", "otel", "OpenTelemetry export") from exc
    tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer("tokenomy")
    meter = (meter_provider or metrics.get_meter_provider()).get_meter("tokenomy")
    tokens = meter.create_histogram(
        "gen_ai.client.token.usage", unit="{token}", description="Measures number of input and output tokens used"
    )
    duration = meter.create_histogram(
        "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration"
    )
    cost = meter.create_counter("tokenomy.cost", unit="USD", description="What the calls cost")
    n = 0
    for r in records:
        op = _OPERATIONS.get(r.kind, r.kind)
        provider = r.provider or "unknown"
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": op,
            "gen_ai.provider.name": provider,
            "gen_ai.system": provider,
            "gen_ai.request.model": r.model,
            "gen_ai.response.model": r.model,
            "gen_ai.usage.input_tokens": r.usage.input,
            "gen_ai.usage.output_tokens": r.usage.output,
            "tokenomy.usage.cache_read_input_tokens": r.usage.cache_read,
            "tokenomy.cache.outcome": r.cache.outcome,
            "tokenomy.record_id": r.record_id,
        }
        if r.truncated:
            attrs["gen_ai.response.finish_reasons"] = ["length"]
        if r.cost is not None:
            attrs["tokenomy.cost_usd"] = float(r.cost.total)
        if r.error is not None:
            attrs["error.type"] = r.error
        for k, v in r.tags.items():
            attrs[f"tokenomy.tag.{k}"] = v
        start = int(r.timestamp.timestamp() * 1e9)
        end = start + int((r.latency_ms or 0.0) * 1e6)
        span = tracer.start_span(f"{op} {r.model}", kind=SpanKind.CLIENT, attributes=attrs, start_time=start)
        if r.error is not None:
            span.set_status(Status(StatusCode.ERROR, r.error))
        span.end(end_time=end)
        base = {
            "gen_ai.operation.name": op,
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": r.model,
        }
        tokens.record(r.usage.input, {**base, "gen_ai.token.type": "input"})
        tokens.record(r.usage.output, {**base, "gen_ai.token.type": "output"})
        if r.latency_ms is not None:
            duration.record(r.latency_ms / 1000.0, base)
        if r.cost is not None:
            cost.add(float(r.cost.total), base)
        n += 1
    return n


def _bounded(values: dict[str | None, Decimal], max_values: int) -> dict[str | None, str]:
    """Each value's label: itself for the ``max_values`` costliest, ``"other"`` for the rest."""
    ranked = sorted(values, key=lambda v: (-values[v], str(v)))
    keep = set(ranked[:max_values])
    return {v: (str(v) if v is not None else "") if v in keep else "other" for v in values}


def prometheus_text(
    store: LedgerStore,
    where: RecordFilter | None = None,
    *,
    labels: Sequence[str] = ("feature",),
    max_values: int = 20,
    budgets: Sequence[BudgetStatus] = (),
) -> str:
    """The ledger's totals (and budget usage) in the Prometheus exposition format."""
    try:
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
    except ImportError as exc:  # pragma: no cover - the extra is installed in the project
        raise MissingDependencyError("prometheus-client", "prometheus", "Prometheus export") from exc
    names = ["model", *labels]
    groups = store.aggregate(tuple(names), where)
    maps: list[dict[str | None, str]] = []
    for name in names:
        per: dict[str | None, Decimal] = {}
        for g in groups:
            per[g.key[name]] = per.get(g.key[name], Decimal(0)) + g.cost
        maps.append(_bounded(per, max_values))
    merged: dict[tuple[str, ...], list[Any]] = {}
    for g in groups:
        key = tuple(m[g.key[n]] for m, n in zip(maps, names, strict=True))
        slot = merged.setdefault(key, [Decimal(0), 0, 0, 0, 0, 0])
        slot[0] += g.cost
        slot[1] += g.count
        slot[2] += g.usage.input
        slot[3] += g.usage.output
        slot[4] += g.usage.cache_read
        slot[5] += g.cache_hits
    label_names = [n.replace(":", "_").replace("-", "_") for n in names]

    class _Collector:
        def collect(self) -> Iterable[Any]:
            spend = CounterMetricFamily("tokenomy_spend_usd", "Spend in USD", labels=label_names)
            calls = CounterMetricFamily("tokenomy_calls", "Model calls", labels=label_names)
            hits = CounterMetricFamily("tokenomy_cache_hits", "Response-cache hits", labels=label_names)
            toks = CounterMetricFamily("tokenomy_tokens", "Tokens", labels=[*label_names, "type"])
            for key, (c, n, i, o, cr, h) in sorted(merged.items()):
                spend.add_metric(list(key), float(c))
                calls.add_metric(list(key), n)
                hits.add_metric(list(key), h)
                toks.add_metric([*key, "input"], i)
                toks.add_metric([*key, "output"], o)
                toks.add_metric([*key, "cache_read"], cr)
            yield from (spend, calls, hits, toks)
            if budgets:
                spent = GaugeMetricFamily("tokenomy_budget_spent_usd", "Budget spent in its window",
                                          labels=["budget", "scope"])
                limit = GaugeMetricFamily("tokenomy_budget_limit_usd", "Budget limit",
                                          labels=["budget", "scope"])
                for b in budgets:
                    spent.add_metric([b.budget, b.scope], float(b.spent_usd))
                    if b.limit_usd is not None:
                        limit.add_metric([b.budget, b.scope], float(b.limit_usd))
                yield from (spent, limit)

    registry = CollectorRegistry()
    registry.register(_Collector())
    text: bytes = generate_latest(registry)
    return text.decode("utf-8")
