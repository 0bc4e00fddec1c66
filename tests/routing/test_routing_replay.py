"""Replay evaluation and calibration on the shared routing data, through the real cascade
code; the command line; and the routing benchmark's rows (run quickly)."""

from __future__ import annotations

import importlib.util
import json
from decimal import Decimal
from pathlib import Path

import pytest

from shared_data import shared_file
from tokenomy.cli import main
from tokenomy.exceptions import ConfigurationError
from tokenomy.routing import (
    calibrate,
    calibrate_prerouter,
    evaluate_prerouter,
    evaluate_replay,
    load_replay,
    split_rows,
)

TIERS = [
    {"key": "cheap", "model": "mistralai/Mixtral-8x7B-Instruct-v0.1",
     "price_per_million": {"input": "0.60", "output": "0.60"}},
    {"key": "strong", "model": "gpt-4-1106-preview",
     "price_per_million": {"input": "10", "output": "30"}},
]
BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_routing.py"


def test_calibrated_figures_equal_the_cascade_replayed_on_the_same_rows() -> None:
    """What calibrate expects on its rows (computed from gate verdicts) is exactly what the
    Cascade policy in a Pipeline gives when the rows are replayed through it (cost from the
    ledger records): calibration and evaluation run the same gate code."""
    rows = load_replay(shared_file("routing/gsm8k-dev.jsonl"))[:160]
    config = calibrate(rows, target=0.9, tiers=TIERS)
    result = evaluate_replay(rows, config)["cascade"]
    assert config["calibration"]["reached"]
    assert result["cost_usd"] == config["calibration"]["expected_cost_usd"]
    assert result["quality"] == config["calibration"]["expected_quality"]
    assert result["quality"] >= 0.9 * config["calibration"]["strong_quality"]


def test_baselines_and_cascade_costs_add_up() -> None:
    """always-strong costs the strong prices times cl100k tokens; the cascade's per-tier
    costs sum to its total; its cheap calls are one per row; the oracle is no dearer than
    always-strong and at least as accurate."""
    rows = load_replay(shared_file("routing/gsm8k-dev.jsonl"))[:40]
    config = calibrate(rows, target=0.95, tiers=TIERS)
    result = evaluate_replay(rows, config)
    strong = sum(
        (r.tokens("strong")[0] * Decimal(10) + r.tokens("strong")[1] * Decimal(30)) / 10**6
        for r in rows
    )
    assert Decimal(result["always_strong"]["cost_usd"]) == strong.quantize(Decimal("0.000001"))
    cascade = result["cascade"]
    assert cascade["calls_per_tier"]["cheap"] == len(rows)
    parts = sum(Decimal(v) for v in cascade["cost_per_tier_usd"].values())
    assert abs(parts - Decimal(cascade["cost_usd"])) <= Decimal("0.000002")
    assert Decimal(result["oracle"]["cost_usd"]) <= Decimal(result["always_strong"]["cost_usd"])
    assert result["oracle"]["quality"] >= result["always_strong"]["quality"]


def test_mmlu_pre_routing_and_split() -> None:
    """MMLU rows have no answer text: calibrate refuses a gate, calibrate_prerouter gives a
    pre-router that sends some prompts to each tier; split_rows is disjoint and seeded."""
    rows = load_replay(shared_file("routing/mmlu-dev.jsonl"))[::20]
    with pytest.raises(ConfigurationError, match="no text"):
        calibrate(rows, target=0.95, tiers=TIERS)
    cal, held = split_rows(rows, seed=3)
    assert {r.id for r in cal}.isdisjoint({r.id for r in held})
    assert [r.id for r in split_rows(rows, seed=3)[0]] == [r.id for r in cal]
    config = calibrate_prerouter(cal, target=0.9, tiers=TIERS)
    result = evaluate_prerouter(held, config)
    assert 0.0 < result["pre_router"]["escalation_rate"] < 1.0
    assert result["pre_router"]["cost_usd"] < result["always_strong"]["cost_usd"]


def test_cli_calibrate_then_evaluate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """route calibrate writes a config (and refuses to replace it without --force); route
    evaluate prints JSON for the held-out rows with the three baselines; bad input (a
    missing file, a --margin out of range) is one line on stderr and exit code 2."""
    data = shared_file("routing/gsm8k-dev.jsonl")
    small = tmp_path / "small.jsonl"
    small.write_text("".join(data.read_text(encoding="utf-8").splitlines(True)[:80]))
    out = tmp_path / "route.json"
    args = ["route", "calibrate", "--data", str(small), "--target-quality", "0.95",
            "--out", str(out), "--tier", "cheap=0.60/0.60", "--tier", "strong=10/30"]
    assert main(args) == 0
    written = json.loads(out.read_text())
    assert written["split"]["seed"] == 0
    assert "margin" in written["calibration"]
    printed_cal = json.loads(capsys.readouterr().out)
    assert printed_cal["calibration"] == written["calibration"]
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*args, "--force", "--margin", "1.5"]) == 2
    assert "--margin must be in [0, 1)" in capsys.readouterr().err
    assert main(["route", "evaluate", "--data", str(small), "--config", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["part"] == "held-out" and printed["rows"] == 40
    assert {"cascade", "always_cheap", "always_strong", "oracle"} <= set(printed)
    assert main(["route", "evaluate", "--data", str(tmp_path / "nope.jsonl"),
                 "--config", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tokenomy route evaluate:") and err.count("\n") == 1


def test_benchmark_rows() -> None:
    """bench_routing runs quickly on a slice: a cascade row with a goal verdict next to the
    three baselines, the seeds table with its mean and worst, a cross-fitted row, and the
    MMLU pre-router rows."""
    shared_file("routing/gsm8k-dev.jsonl")
    spec = importlib.util.spec_from_file_location("bench_routing", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.run_gsm8k(limit=120)
    assert [r["router"] for r in rows] == [
        "cascade (held-out)", "always-cheap", "always-strong", "oracle"
    ]
    assert rows[0]["goal"].split()[0] in ("PASS", "MISS")
    assert rows[2]["saving vs strong"] == "0.0%"
    seeds = bench.run_seeds(seeds=2, limit=120)
    assert [r["router"] for r in seeds] == ["seed 0", "seed 1", "mean of 2", "worst of 2"]
    fit = bench.run_crossfit(folds=2, repeats=1, limit=120)
    assert fit[0]["router"] == "2-fold, shuffle 0" and fit[0]["goal"].split()[0] in ("PASS", "MISS")
    mmlu = bench.run_mmlu(limit=600)
    assert mmlu[0]["router"].startswith("pre-router: ")


def test_cli_route_report_reads_a_sqlite_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """route report prints the escalation rate and cost per tier of the routed calls in a
    SQLite ledger (written by a Cascade in a Pipeline); a missing ledger is exit code 2."""
    from tokenomy import ModelRequest, Pipeline, SQLiteLedger
    from tokenomy.routing import Cascade, FinalNumber
    from tokenomy.testing import MockSender

    path = tmp_path / "ledger.sqlite"
    ledger = SQLiteLedger(path, sync=True)
    pipeline = Pipeline([Cascade(["gpt-4o-mini", "gpt-4o"], FinalNumber())], ledger=ledger)
    send = MockSender(lambda r: "#### 4" if r.model == "gpt-4o" or "easy" in r.messages[0]["content"] else "hm")
    for text in ("easy one", "hard one", "easy two", "hard two"):
        pipeline.call(ModelRequest(model=None, messages=[{"role": "user", "content": text}]), send)
    ledger.close()
    assert main(["route", "report", "--ledger", str(path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["calls"], printed["attempts"], printed["escalated"]) == (4, 6, 2)
    assert printed["escalation_rate"] == 0.5
    assert printed["answered_per_tier"] == {"gpt-4o-mini": 2, "gpt-4o": 2}
    assert Decimal(printed["cost_usd"]) == sum(
        (Decimal(v) for v in printed["cost_per_tier_usd"].values()), Decimal(0)
    )
    assert main(["route", "report", "--ledger", str(tmp_path / "none.sqlite")]) == 2
