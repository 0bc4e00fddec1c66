"""Export: records as OpenTelemetry spans and metrics named by the GenAI semantic conventions
(checked with the SDK's in-memory span exporter and metric reader), and the ledger's totals
as Prometheus exposition text (parsed by prometheus_client's own parser), labels bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client.parser import text_string_to_metric_families

import tokenomy
from tokenomy import MemoryLedger, Usage
from tokenomy.budget import BudgetStatus
from tokenomy.review import export_otel, prometheus_text

BASE = datetime(2026, 9, 1, tzinfo=UTC)


def ledger_of(features: int = 3) -> MemoryLedger:
    ledger = MemoryLedger()
    for i in range(30):
        tokenomy.store_call(
            model="gpt-4o" if i % 2 else "gpt-4o-mini", provider="openai",
            usage=Usage(input=1000 + i, output=50 + i, cache_read=100 if i % 3 == 0 else 0),
            ledger=ledger, tags={"feature": f"f{i % features}"},
            timestamp=BASE + timedelta(minutes=i), latency_ms=250.0,
            error="RateLimitError" if i == 5 else None, truncated=i == 7,
        )
    return ledger


def test_otel_spans_and_metrics_follow_the_genai_conventions() -> None:
    """One CLIENT span per record named "chat <model>", with gen_ai.* attributes equal to the
    record's; the token-usage histogram by gen_ai.token.type sums to the ledger's tokens."""
    ledger = ledger_of()
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    records = ledger.query()
    assert export_otel(records, tracer_provider=tracer_provider, meter_provider=meter_provider) == 30
    finished = spans.get_finished_spans()
    assert len(finished) == 30
    by_id = {s.attributes["tokenomy.record_id"]: s for s in finished}
    for r in records:
        s = by_id[r.record_id]
        assert s.name == f"chat {r.model}" and s.kind is SpanKind.CLIENT
        a = s.attributes
        assert a["gen_ai.operation.name"] == "chat"
        assert a["gen_ai.provider.name"] == "openai"
        assert a["gen_ai.request.model"] == r.model
        assert a["gen_ai.usage.input_tokens"] == r.usage.input
        assert a["gen_ai.usage.output_tokens"] == r.usage.output
        assert a["tokenomy.cost_usd"] == float(r.cost.total)
        assert a["tokenomy.tag.feature"] == r.tags["feature"]
        assert (s.end_time - s.start_time) == 250_000_000
    failed = [s for s in finished if s.status.status_code is StatusCode.ERROR]
    assert len(failed) == 1 and failed[0].attributes["error.type"] == "RateLimitError"
    assert sum(1 for s in finished if s.attributes.get("gen_ai.response.finish_reasons") == ("length",)) == 1
    data = reader.get_metrics_data()
    metrics = {m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    usage = metrics["gen_ai.client.token.usage"]
    assert usage.unit == "{token}"
    sums = {"input": 0, "output": 0}
    for p in usage.data.data_points:
        sums[p.attributes["gen_ai.token.type"]] += p.sum
    assert sums == {"input": sum(r.usage.input for r in records), "output": sum(r.usage.output for r in records)}
    assert "gen_ai.client.operation.duration" in metrics
    cost = sum(p.value for p in metrics["tokenomy.cost"].data.data_points)
    assert abs(cost - float(sum(r.cost.total for r in records))) < 1e-9


def test_prometheus_exposition_parses_and_adds_up() -> None:
    """prometheus_client's parser reads the text; spend, calls and tokens by model and feature
    add up to the ledger's totals; budget usage is exposed per budget and scope."""
    ledger = ledger_of()
    status = BudgetStatus(
        budget="per-user", scope="user=u1", window="1d", limit_usd=Decimal("5"), limit_tokens=None,
        spent_usd=Decimal("1.25"), reserved_usd=Decimal(0), spent_tokens=0, reserved_tokens=0,
        open_reservations=0, resets_at=None,
    )
    text = prometheus_text(ledger, labels=("feature",), budgets=[status])
    families = {f.name: f for f in text_string_to_metric_families(text)}
    spend = families["tokenomy_spend_usd"]
    assert spend.type == "counter"
    assert abs(sum(s.value for s in spend.samples) - float(ledger.totals().cost)) < 1e-9
    assert {s.labels["feature"] for s in spend.samples} == {"f0", "f1", "f2"}
    calls = sum(s.value for s in families["tokenomy_calls"].samples)
    assert calls == 30
    tokens = families["tokenomy_tokens"].samples
    assert sum(s.value for s in tokens if s.labels["type"] == "input") == ledger.totals().usage.input
    (budget,) = families["tokenomy_budget_spent_usd"].samples
    assert budget.labels == {"budget": "per-user", "scope": "user=u1"} and budget.value == 1.25


def test_prometheus_label_cardinality_is_bounded() -> None:
    """30 feature values with max_values=5: the 5 costliest keep their names, the rest are one
    "other" series; the total is unchanged."""
    ledger = ledger_of(features=30)
    text = prometheus_text(ledger, labels=("feature",), max_values=5)
    spend = next(f for f in text_string_to_metric_families(text) if f.name == "tokenomy_spend_usd")
    values = {s.labels["feature"] for s in spend.samples}
    assert len(values - {"other"}) == 5 and "other" in values
    assert abs(sum(s.value for s in spend.samples) - float(ledger.totals().cost)) < 1e-9
