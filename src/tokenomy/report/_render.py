"""Rich tables of a :class:`Report` (rich is imported here only, when rendering)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from tokenomy.ledger._filter import utc
from tokenomy.pricing._model import COST_DIMENSIONS
from tokenomy.report._format import format_cost, format_latency, format_tokens, format_usd
from tokenomy.report._runs import root_of

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.table import Table

    from tokenomy.ledger import GroupTotals
    from tokenomy.ledger._view import RecordView
    from tokenomy.report._prompt_cache import PromptCache
    from tokenomy.report._report import Report
    from tokenomy.report._runs import RunReport

__all__ = ["render_report"]

_HUNDRED = Decimal(100)


def _when(dt: datetime) -> str:
    return utc(dt).strftime("%Y-%m-%d %H:%M:%S")


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _call_cost(r: RecordView) -> str:
    charged = r.charged_usd
    if charged is None:
        return "unpriced"
    text = format_usd(charged)
    if r.billed_mismatch:  # the bill, flagged: the price book says otherwise
        book = "unpriced" if r.cost is None else format_usd(r.cost.total)
        text = f"{text} (billed; book {book})"
    return f"{text} (est.)" if r.estimated or r.usage.estimated else text


def _bills_text(t: GroupTotals) -> str:
    """The calls the provider billed: what it billed against the price book, and how many
    differ by more than the tolerance (their bill is what the cost counts)."""
    from tokenomy.ledger._billed import BILLED_TOLERANCE

    book = format_usd(t.billed_cost)
    if t.billed_unpriced:
        book += f" + {t.billed_unpriced} unpriced"
    text = f"{_plural(t.billed, 'call')} billed {format_usd(t.billed_usd)} (price book {book})"
    if t.billed_mismatch:
        pct = format((BILLED_TOLERANCE * 100).normalize(), "f") + "%"
        verb = "differs" if t.billed_mismatch == 1 else "differ"
        text += f"; [bold]{_plural(t.billed_mismatch, 'call')} {verb} by more than {pct}[/bold]"
    return text


def _table(title: str) -> Table:
    from rich.table import Table

    return Table(title=title, title_justify="left", title_style="bold", header_style="bold")


def _totals_table(report: Report) -> Table:
    from rich.table import Table

    t = report.totals
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("Calls", f"{t.count:,} in {_plural(report.run_count, 'run')}")
    grid.add_row("Cost", format_cost(t.charged, t.uncharged))
    if t.billed:
        grid.add_row("Provider bills", _bills_text(t))
    dims = [
        f"{d} {format_usd(t.cost_by_dimension[d])}"
        for d in COST_DIMENSIONS
        if t.cost_by_dimension.get(d)
    ]
    if dims:
        grid.add_row("Cost by dimension", " · ".join(dims))
    u = t.usage
    grid.add_row(
        "Tokens",
        f"input {u.input:,} (cache read {u.cache_read:,}, cache write {u.cache_write:,}) · "
        f"output {u.output:,} (reasoning {u.reasoning:,})",
    )
    grid.add_row(
        "Response cache", f"{_plural(t.cache_hits, 'hit')}, saved {format_usd(t.saved)}"
    )
    prompt = report.prompt_cache()
    if prompt:
        from tokenomy.report._prompt_cache import total_of

        p = total_of(prompt)
        grid.add_row("Prompt cache", _prompt_text(p))
        unread = report.unread_cache_writes()
        if unread:
            tokens = sum(u.unread for u in unread)
            known = [u.lost for u in unread if u.lost is not None]
            lost = format_usd(sum(known, Decimal(0))) if known else "unknown"
            grid.add_row(
                "Unread cache writes",
                f"{tokens:,} of {sum(u.written for u in unread):,} placed write tokens never "
                f"read, lost {lost}",
            )
    batch = report.batch_savings()
    if batch.calls:
        share = f" ({batch.saved_share:.0%})" if batch.saved_share is not None else ""
        grid.add_row(
            "Batch API",
            f"{_plural(batch.calls, 'call')} in {_plural(len(batch.jobs), 'job')}, "
            f"{format_usd(batch.cost)} against {format_usd(batch.sync_cost)} synchronous: "
            f"saved {format_usd(batch.saved)}{share}",
        )
    approx = " (approximate, within 1%)" if t.latency_approximate else ""
    grid.add_row(
        "Latency",
        f"p50 {format_latency(t.latency_p50_ms)} · p95 {format_latency(t.latency_p95_ms)} · "
        f"p99 {format_latency(t.latency_p99_ms)}{approx}",
    )
    if t.truncated:
        grid.add_row(
            "Truncated", f"{_plural(t.truncated, 'call')} cut by max_tokens ({_rate(t.truncated, t.count)})"
        )
    grid.add_row("Unpriced / estimated", f"{t.unpriced:,} / {t.estimated:,}")
    if t.first is not None and t.last is not None:
        grid.add_row("Period (UTC)", f"{_when(t.first)} → {_when(t.last)}")
    return grid


#: Below this console width the tables leave out their secondary columns, so names fit.
WIDE = 150
_NARROW_DROP = frozenset({"Cache write", "Reasoning", "Cache", "Truncated", "p95", "Cache hits"})


def _name_width(texts: list[str]) -> int:
    """Room for the longest name (plain text, markup removed), capped at 40 columns."""
    from rich.text import Text

    return min(40, max((Text.from_markup(t).cell_len for t in texts), default=4))


def _build(
    title: str,
    heads: list[tuple[str, str, bool]],
    rows: list[list[str] | None],
    wide: bool,
) -> Table:
    """A table of ``rows`` (``None``: a section line); ``heads`` are (title, justify, is a
    name). Name columns never wrap and get room for their longest name; on a narrow console
    the secondary columns are left out."""
    keep = [i for i, (head, _, _) in enumerate(heads) if wide or head not in _NARROW_DROP]
    table = _table(title)
    for i in keep:
        head, justify, name = heads[i]
        if name:
            width = _name_width([head] + [r[i] for r in rows if r is not None])
            table.add_column(head, justify=justify, no_wrap=True, min_width=width)  # type: ignore[arg-type]
        else:
            table.add_column(head, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        if row is None:
            table.add_section()
        else:
            table.add_row(*(row[i] for i in keep))
    return table


def _prompt_text(p: PromptCache) -> str:
    saved = "saved unknown (unpriced model)" if p.saved is None else f"saved {format_usd(p.saved)}"
    rate = "-" if p.hit_rate is None else f"{p.hit_rate * 100:.1f}%"
    return (
        f"read {p.cache_read:,} · write {p.cache_write:,} tokens (hit rate {rate} of input), "
        f"{saved} against the uncached price"
    )


def _prompt_table(groups: list[PromptCache], wide: bool) -> Table:
    names = list(groups[0].key)
    heads = [(n, "left", True) for n in names]
    heads += [(h, "right", False) for h in ("Calls", "Input", "Cache read", "Cache write")]
    heads += [("Hit rate", "right", False), ("Saved", "right", False)]
    rows: list[list[str] | None] = [
        [
            *(_key_text(n, g.key.get(n)) for n in names),
            f"{g.calls:,}",
            format_tokens(g.input),
            format_tokens(g.cache_read),
            format_tokens(g.cache_write),
            "-" if g.hit_rate is None else f"{g.hit_rate * 100:.1f}%",
            "unknown" if g.saved is None else format_usd(g.saved),
        ]
        for g in groups
        if g.cache_read or g.cache_write
    ]
    del wide  # few columns: all of them fit at 120
    return _build("Provider prompt caching by " + ", ".join(names), heads, rows, True)


def _runs_table(runs: list[RunReport[RecordView]], total: int, wide: bool = True) -> Table:
    shown = f"latest {len(runs)} of {total}" if len(runs) < total else f"{total}"
    heads = [("Run / call", "left", True), ("Started (UTC)", "left", False), ("Model", "left", True)]
    heads += [(h, "right", False) for h in ("Input", "Cache read", "Cache write", "Output", "Reasoning")]
    heads += [("Cost", "right", False), ("Latency", "right", False), ("Cache", "left", False)]
    rows: list[list[str] | None] = []
    for run in runs:
        u = run.totals.usage
        hits = run.cache_hits
        rows.append([
            f"[bold]{_escape(run.label)}[/bold]",
            _when(run.start),
            _plural(len(run.calls), "call"),
            format_tokens(u.input),
            format_tokens(u.cache_read),
            format_tokens(u.cache_write),
            format_tokens(u.output),
            format_tokens(u.reasoning),
            f"[bold]{format_cost(run.cost, run.unpriced)}[/bold]",
            format_latency(run.latency_ms),
            _plural(hits, "hit") if hits else "-",
        ])  # fmt: skip
        group = None
        for call in run.tree():
            r = call.record
            cu = r.usage
            if call.group is not None and call.group != group:
                rows.append(
                    ["  " * (call.depth - 1) + f"└ [dim](run {_escape(call.group[:8])})[/dim]"]
                    + [""] * 10
                )
            group = call.group
            rows.append([
                "  " * call.depth + "└ " + _escape(r.name or r.kind),
                utc(r.timestamp).strftime("%H:%M:%S"),
                _escape(r.model),
                format_tokens(cu.input),
                format_tokens(cu.cache_read),
                format_tokens(cu.cache_write),
                format_tokens(cu.output),
                format_tokens(cu.reasoning),
                _call_cost(r),
                format_latency(r.latency_ms),
                r.cache.outcome,
            ])  # fmt: skip
        rows.append(None)
    return _build(f"Runs ({shown})", heads, rows, wide)


def _key_text(name: str, value: str | None) -> str:
    return _escape(value) if value is not None else f"[dim](no {_escape(name)})[/dim]"


def _rate(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage ("-" when there is nothing to show)."""
    return f"{part * 100 / whole:.1f}%" if part and whole else "-"


def _groups_table(
    groups: list[GroupTotals], by: tuple[str, ...], total: Decimal, wide: bool = True
) -> Table:
    heads = [(name, "left", True) for name in by]
    heads += [(h, "right", False) for h in ("Calls", "Cost", "Share", "Input", "Cache read")]
    heads += [(h, "right", False) for h in ("Output", "Cache hits", "Saved", "Truncated")]
    heads += [("p50", "right", False), ("p95", "right", False)]
    rows: list[list[str] | None] = []
    for g in groups:
        share = f"{(g.charged * _HUNDRED / total):.1f}%" if total else "-"
        rows.append([
            *(_key_text(name, g.key.get(name)) for name in by),
            f"{g.count:,}",
            format_cost(g.charged, g.uncharged),
            share,
            format_tokens(g.usage.input),
            format_tokens(g.usage.cache_read),
            format_tokens(g.usage.output),
            format_tokens(g.cache_hits),
            format_usd(g.saved) if g.saved else "-",
            _rate(g.truncated, g.count),
            format_latency(g.latency_p50_ms),
            format_latency(g.latency_p95_ms),
        ])  # fmt: skip
    return _build("Spend by " + ", ".join(by), heads, rows, wide)


def _top_table(records: list[RecordView], labels: dict[str, str], wide: bool = True) -> Table:
    heads = [("When (UTC)", "left", False), ("Run", "left", True), ("Call", "left", True)]
    heads += [("Model", "left", True), ("Input", "right", False), ("Output", "right", False)]
    heads += [("Cost", "right", False), ("Latency", "right", False)]
    rows: list[list[str] | None] = [
        [
            _when(r.timestamp),
            _escape(labels.get(root_of(r), "")),
            _escape(r.name or r.kind),
            _escape(r.model),
            format_tokens(r.usage.input),
            format_tokens(r.usage.output),
            _call_cost(r),
            format_latency(r.latency_ms),
        ]
        for r in records
    ]
    return _build(f"Most expensive calls (top {len(records)})", heads, rows, wide)


def _warning_panel(report: Report) -> RenderableType | None:
    from rich.panel import Panel

    unpriced = report.unpriced_models()
    estimated = report._shown_estimated(None)
    if not unpriced and not estimated:
        return None
    lines: list[str] = []
    if unpriced:
        n = sum(unpriced.values())
        models = ", ".join(f"{_escape(m)} ({_plural(c, 'call')})" for m, c in unpriced.items())
        lines.append(
            f"[bold]{_plural(n, 'unpriced call')}[/bold]: cost unknown (not $0), so every "
            f"total above that includes them is a lower bound."
        )
        lines.append(f"Add prices for: [bold]{models}[/bold]")
        lines.append(
            "  with PriceBook.with_overrides({...}), a TOKENOMY_PRICES file, or an alias to a "
            "known model."
        )
    if estimated:
        models = ", ".join(sorted({_escape(r.model) for r in estimated}))
        lines.append(
            f"[bold]{_plural(len(estimated), 'call')} with estimated usage[/bold] "
            f"(tokens counted locally, the provider reported none): {models}"
        )
    return Panel("\n".join(lines), title="Incomplete costs", border_style="yellow")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def default_console() -> Console:
    """A console for reports: the terminal's width, or 160 columns when output is piped or
    redirected (rich's 80-column fallback would truncate the tables in files and CI logs)."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal and console.width < 160:
        console = Console(width=160)
    return console


def render_report(
    report: Report,
    console: Console | None,
    *,
    by: tuple[str, ...],
    top: int,
    runs: int | None,
) -> None:
    """Print ``report`` to ``console`` (a new stdout console when ``None``)."""

    out = console if console is not None else default_console()
    wide = out.width >= WIDE
    report.prepare(by, ("model",))  # one query: the totals, the groups, the unpriced models
    if not report:
        out.print("No records: nothing to report.")
        return
    out.print("[bold]tokenomy report[/bold]")
    out.print(_totals_table(report))
    shown = report._shown_runs(runs)
    if shown:
        out.print()
        out.print(_runs_table(shown, report.run_count, wide))
    if by:
        out.print()
        out.print(_groups_table(report.by(*by), by, report.totals.charged, wide))
    prompt = report.prompt_cache(*dict.fromkeys((*by, "model")))
    if any(g.cache_read or g.cache_write for g in prompt):
        out.print()
        out.print(_prompt_table(prompt, wide))
    retries = report.retries
    if retries.retries or retries.failed_attempts:
        from tokenomy.report._retries import retries_table

        out.print()
        out.print(retries_table(retries))
    expensive = report._shown_top(top)
    if expensive:
        out.print()
        labels = {run.root_run_id: run.label for run in shown}
        out.print(_top_table(expensive, labels, wide))
    panel = _warning_panel(report)
    if panel is not None:
        out.print()
        out.print(panel)
