"""Rendering for ``tokenplan ledger`` and ``tokenplan runs``: rich tables (stderr) and CSV (stdout).

Tables fit the terminal (:mod:`tokenplan.cli._table`); money, tokens and times follow
:mod:`tokenplan.cli._format`. Imported only from command bodies: it pulls in rich.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from tokenplan.cli._format import ago, ago_dt, clip, percent, timestamp, tokens, usd
from tokenplan.cli._output import stderr_console
from tokenplan.cli._table import Cell, Col, Fitted, fit
from tokenplan.ledger.attempt import Attempt

if TYPE_CHECKING:
    from tokenplan.ledger.runs import RunInfo
    from tokenplan.ledger.summary import Summary, SummaryRow

__all__ = [
    "ATTEMPT_COLUMNS",
    "SUMMARY_COLUMNS",
    "attempts_table",
    "print_summary",
    "run_steps_table",
    "runs_table",
    "summary_table",
    "usd",
    "write_attempts_csv",
    "write_summary_csv",
]

ATTEMPT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Attempt))
SUMMARY_COLUMNS: tuple[str, ...] = (
    "attempts",
    "ok",
    "failed",
    "success_rate",
    "cost_usd",
    "wasted_usd",
    "planner_usd",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "baseline_usd",
    "savings_usd",
    "savings_pct",
    "simulated",
)


def _outcome(outcome: str) -> Text:
    return Text(
        outcome, style={"ok": "green", "error": "red", "invalid": "yellow"}.get(outcome, "")
    )


def _width() -> int:
    return stderr_console().width


# -- attempts -------------------------------------------------------------------------------------

_ATTEMPT_COLS = (
    Col("when", "num", priority=2),
    Col("run", priority=5),
    Col("kind", priority=3),
    Col("step", priority=4),
    Col("#", "num", priority=6),
    Col("model", priority=0),
    Col("sim", priority=4),
    Col("outcome", priority=0),
    Col("in", "num", priority=3),
    Col("out", "num", priority=3),
    Col("cost", "num", priority=0),
    Col("ms", "num", priority=6),
    Col("escalated from", priority=7),
    Col("error", "text", priority=1, min_width=16, max_width=60),
)


def attempts_table(
    attempts: Sequence[Attempt],
    *,
    title: str | None = None,
    width: int | None = None,
    now: float | None = None,
) -> Fitted:
    """Attempts, one per row; the run column only when they span several runs, the sim column
    only when some (not all) were simulated (the title says so when all were)."""
    show_run = len({a.run_id for a in attempts}) > 1
    simulated = sum(a.simulated for a in attempts)
    if title is not None and attempts and simulated == len(attempts):
        title += " · all simulated"
    rows: list[list[Cell]] = []
    for a in attempts:
        rows.append(
            [
                ago(a.ts, now=now),
                (a.run_id or "-") if show_run else "",
                a.kind,
                a.step_id or "-",
                str(a.attempt),
                a.model,
                "sim" if a.simulated and simulated < len(attempts) else "",
                _outcome(a.outcome),
                tokens(a.input_tokens),
                tokens(a.output_tokens),
                usd(a.cost_usd),
                f"{a.latency_ms:,.0f}",
                a.escalated_from or "",
                clip(a.error, 200),
            ]
        )
    return fit(_ATTEMPT_COLS, rows, width=width or _width(), title=title)


def write_attempts_csv(attempts: Iterable[Attempt]) -> None:
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(ATTEMPT_COLUMNS)
    for a in attempts:
        out.writerow(_csv_value(getattr(a, c)) for c in ATTEMPT_COLUMNS)
    sys.stdout.flush()


# -- summaries ------------------------------------------------------------------------------------


def print_summary(summary: Summary, *, ledger: str) -> Fitted | None:
    """The totals (stderr); returns the per-group table for the caller to print, if any."""
    console = stderr_console()
    t = summary.totals
    period = ""
    if t.attempts:
        period = f", {timestamp(t.first_ts)} → {timestamp(t.last_ts)}"
    console.print(f"[bold]Ledger[/] {escape(ledger)}{escape(period)}")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("Total spend", usd(t.cost_usd))
    sim = f", {t.simulated:,} simulated" if t.simulated else ""
    grid.add_row(
        "Attempts",
        f"{t.attempts:,} ({t.ok:,} ok, {percent(t.success_rate)} success{sim})",
    )
    grid.add_row("Wasted spend", f"{usd(t.wasted_usd)} on {t.failed:,} failed attempt(s)")
    grid.add_row("Planner spend", usd(t.planner_usd))
    grid.add_row(
        "Tokens",
        f"in {tokens(t.input_tokens)} (cached {tokens(t.cached_tokens)}) · "
        f"out {tokens(t.output_tokens)} (reasoning {tokens(t.reasoning_tokens)})",
    )
    grid.add_row(
        Text(f"Savings vs {summary.baseline_model}"),
        f"{usd(t.savings_usd)} ({t.savings_pct:.1f}%); the baseline would have cost "
        f"{usd(t.baseline_usd)}",
    )
    console.print(grid)
    if summary.by is not None and summary.groups:
        return summary_table(summary)
    return None


_SUMMARY_COLS = (
    Col("", priority=0),
    Col("attempts", "num", priority=2),
    Col("success", "num", priority=1),
    Col("spend", "num", priority=0),
    Col("wasted", "num", priority=3),
    Col("planner", "num", priority=5),
    Col("in", "num", priority=4),
    Col("out", "num", priority=4),
    Col("savings", "num", priority=2),
)


def summary_table(summary: Summary, *, width: int | None = None) -> Fitted:
    cols = (Col(summary.by or "group", priority=0), *_SUMMARY_COLS[1:])
    rows: list[list[Cell]] = [
        [
            g.key or "-",
            f"{g.attempts:,}",
            percent(g.success_rate),
            usd(g.cost_usd),
            usd(g.wasted_usd),
            usd(g.planner_usd),
            tokens(g.input_tokens),
            tokens(g.output_tokens),
            f"{usd(g.savings_usd)} ({g.savings_pct:.0f}%)",
        ]
        for g in summary.groups
    ]
    return fit(cols, rows, width=width or _width())


def write_summary_csv(summary: Summary) -> None:
    out = csv.writer(sys.stdout, lineterminator="\n")
    key = summary.by or "scope"
    out.writerow((key, *SUMMARY_COLUMNS))
    rows: Iterable[SummaryRow] = summary.groups if summary.by is not None else (summary.totals,)
    for row in rows:
        d = row.to_dict()
        out.writerow(
            (row.key if row.key is not None else "total", *(d[c] for c in SUMMARY_COLUMNS))
        )
    sys.stdout.flush()


def _csv_value(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return v


# -- runs -----------------------------------------------------------------------------------------

_RUN_COLS = (
    Col("run", priority=0),
    Col("created", "num", priority=2),
    Col("status", priority=0),
    Col("spent", "num", priority=1),
    Col("budget", "num", priority=3),
    Col("steps ok", "num", priority=2),
    Col("goal", "text", priority=0, min_width=12),
)


def runs_table(
    runs: Sequence[RunInfo], *, width: int | None = None, now: float | None = None
) -> Fitted:
    rows: list[list[Cell]] = [
        [
            r.run_id,
            ago_dt(r.created, now=now),
            r.status or "-",
            usd(r.spent_usd),
            usd(r.budget_usd),
            f"{r.steps_ok}/{len(r.steps)}",
            clip(r.goal, 200),
        ]
        for r in runs
    ]
    return fit(_RUN_COLS, rows, width=width or _width())


_STEP_COLS = (
    Col("step", priority=0),
    Col("status", priority=0),
    Col("capability", priority=3),
    Col("model", priority=1),
    Col("attempts", "num", priority=4),
    Col("cost", "num", priority=1),
    Col("output", priority=5),
    Col("title", "text", priority=2, min_width=10, max_width=50),
)


def run_steps_table(run: RunInfo, *, width: int | None = None) -> Fitted:
    rows: list[list[Cell]] = []
    for s in run.steps:
        out = "-"
        if s.output_path is not None:
            out = _relative(s.output_path, run.folder)
            out += "" if s.output_path.exists() else " (missing)"
        rows.append(
            [
                s.id,
                s.status or "-",
                s.capability or "-",
                s.model or "-",
                str(s.attempts),
                usd(s.cost_usd),
                out,
                clip(s.title, 200),
            ]
        )
    return fit(_STEP_COLS, rows, width=width or _width(), title="Steps")


def _relative(path: Path, folder: Path) -> str:
    """``path`` relative to the run's folder when it is inside it (outputs are listed under
    the folder's path), else in full."""
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return str(path)
