"""The HTML review in a real browser: headless Chromium (Debian's ``chromium``; ``./dev test``
installs it when missing) opens the file from disk with no network, renders every chart, logs
nothing to its console, and the screenshot shows the charts' colours. For the demo's ledger
(the demo itself writes ``review.html``) and for a generated 1,000,000-call ledger."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

from services import IN_CI

ROOT = Path(__file__).resolve().parents[2]
#: The charts' colours (plotly marker colours in review/_html.py): spend bars, model bars,
#: forecast line.
COLOURS = {"spend": (59, 111, 216), "model": (194, 69, 122), "forecast": (232, 131, 44)}


def chromium() -> str:
    """The Chromium binary; skips on a user's machine without it, fails under CI=true."""
    for name in (os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name) or name
    if IN_CI:
        pytest.fail("no chromium on PATH: ./dev test installs Debian's chromium package")
    pytest.skip("no chromium on PATH (apt-get install chromium, or set CHROMIUM)")


def render(html: Path, tmp_path: Path) -> tuple[Image.Image, str, str]:
    """(screenshot, the DOM after scripts ran, the browser's log) of ``html`` opened from disk
    with networking disabled."""
    browser = chromium()
    common = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        "--no-first-run", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=15000",
        "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]  # fmt: skip
    png = tmp_path / "shot.png"
    shot = subprocess.run(
        [*common, "--window-size=1200,1800", f"--screenshot={png}", html.resolve().as_uri()],
        capture_output=True, text=True, timeout=180,
    )
    dom = subprocess.run(
        [*common, "--dump-dom", html.resolve().as_uri()], capture_output=True, text=True, timeout=180
    )
    assert png.exists(), shot.stderr[-2000:]
    return Image.open(png).convert("RGB"), dom.stdout, shot.stderr + dom.stderr


def colour_pixels(image: Image.Image, rgb: tuple[int, int, int], tol: int = 12) -> int:
    """How many pixels of ``image`` are within ``tol`` of ``rgb`` on every channel."""
    import numpy as np

    pixels = np.asarray(image, dtype=np.int32)
    close = np.abs(pixels - np.array(rgb, dtype=np.int32)) <= tol
    return int(close.all(axis=2).sum())


def external_resources(page: str) -> list[str]:
    """The URLs the page's tags load (script src, link href, img src, iframe src)."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            for name, value in attrs:
                if (tag, name) in {("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src")}:
                    found.append(str(value))

    Tags().feed(page)
    return found


def check_page(html: Path, tmp_path: Path) -> None:
    """Every chart rendered (plotly's SVG in each chart div), no console message, no request
    beyond the file, and the screenshot holds each chart's colour."""
    assert external_resources(html.read_text("utf-8")) == []  # everything inlined
    image, dom, log = render(html, tmp_path)
    for div in ("chart-spend", "chart-feature", "chart-model", "chart-cache"):
        start = dom.index(f'id="{div}"')
        assert "main-svg" in dom[start : start + 20_000], div
    console = [line for line in log.splitlines() if "CONSOLE" in line]
    assert console == [], console
    for name, rgb in COLOURS.items():
        assert colour_pixels(image, rgb) > 200, name


def test_demo_review_renders(tmp_path: Path) -> None:
    """``tokenomy demo`` ends by writing review.html beside its ledger and saying where; the
    page renders in Chromium with its charts and no console errors."""
    env = {**os.environ, "COLUMNS": "200"}
    out = subprocess.run(
        [sys.executable, "-m", "tokenomy", "demo"],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    html = tmp_path / ".tokenomy" / "review.html"
    assert str(html.resolve()) in out.stdout.replace("\n", "")
    check_page(html, tmp_path)


def _bench() -> ModuleType:
    path = ROOT / "benchmarks" / "bench_review.py"
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("bench_review", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_million_call_review_renders(tmp_path: Path) -> None:
    """A generated month of 1,000,000 calls (benchmarks/bench_review.py's ledger): ``tokenomy
    review --html`` writes the page (its JSON counts every call and recommends caching the
    repeated prefixes and requests), and it renders in Chromium like the demo's."""
    import json

    bench = _bench()
    ledger = tmp_path / "month.db"
    bench.build(ledger, 1_000_000)
    html = tmp_path / "review.html"
    out = subprocess.run(
        bench.review_argv(str(ledger), html), capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    doc = json.loads(out.stdout)
    assert doc["totals"]["calls"] == 1_000_000
    assert {r["kind"] for r in doc["recommendations"]} >= {"prompt_cache", "response_cache"}
    check_page(html, tmp_path)
