"""Rendering for ``tokenplan ledger`` and ``tokenplan runs``: rich tables (stderr) and CSV (stdout).

Imported only from command bodies: it pulls in rich.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from tokenplan.cli._output import stderr_console
from tokenplan.ledger.attempt import Attempt

if TYPE_CHECKING:
    from tokenplan.ledger.runs import RunInfo
    from tokenplan.ledger.summary import Summary, SummaryRow

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


def usd(value: float | None) -> str:
    if value is None:
        return "-"
    if value != 0 and abs(value) < 0.01:
        return f"${value:,.6f}"
    return f"${value:,.4f}"


def count(value: int) -> str:
    if value >= 10_000_000:
        return f"{value / 1_000_000:,.1f}M"
    if value >= 100_000:
        return f"{value / 1_000:,.0f}k"
    return f"{value:,}"


def when(ts: float | None) -> str:
    if ts is None:
        return "-"
    try:
        return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return "?"


def when_dt(dt: datetime | None) -> str:
    return "-" if dt is None else dt.astimezone().strftime("%Y-%m-%d %H:%M")


def clip(text: str | None, width: int) -> str:
    if not text:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def outcome_style(outcome: str) -> str:
    return {"ok": "green", "error": "red", "invalid": "yellow"}.get(outcome, "dim")


# -- attempts -------------------------------------------------------------------------------------


def attempts_table(attempts: Sequence[Attempt], *, title: str | None = None) -> Table:
    show_run = len({a.run_id for a in attempts}) > 1
    show_esc = any(a.escalated_from for a in attempts)
    show_err = any(a.error for a in attempts)
    table = Table(title=title, title_justify="left", header_style="bold", pad_edge=False)
    table.add_column("time")
    if show_run:
        table.add_column("run", overflow="fold")
    table.add_column("kind")
    table.add_column("step")
    table.add_column("#", justify="right")
    table.add_column("model", overflow="fold")
    table.add_column("outcome")
    table.add_column("in", justify="right")
    table.add_column("out", justify="right")
    table.add_column("cost", justify="right")
    table.add_column("ms", justify="right")
    if show_esc:
        table.add_column("escalated from", overflow="fold")
    if show_err:
        table.add_column("error", overflow="fold", max_width=40)
    for a in attempts:
        row = [when(a.ts)]
        if show_run:
            row.append(escape(a.run_id or "-"))
        row += [
            a.kind,
            escape(a.step_id or "-"),
            str(a.attempt),
            escape(a.model) + (" (sim)" if a.simulated else ""),
            f"[{outcome_style(a.outcome)}]{a.outcome}[/]",
            count(a.input_tokens),
            count(a.output_tokens),
            usd(a.cost_usd),
            f"{a.latency_ms:,.0f}",
        ]
        if show_esc:
            row.append(escape(a.escalated_from or ""))
        if show_err:
            row.append(escape(clip(a.error, 80)))
        table.add_row(*row)
    return table


def write_attempts_csv(attempts: Iterable[Attempt]) -> None:
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(ATTEMPT_COLUMNS)
    for a in attempts:
        out.writerow(_csv_value(getattr(a, c)) for c in ATTEMPT_COLUMNS)
    sys.stdout.flush()


# -- summaries ------------------------------------------------------------------------------------


def print_summary(summary: Summary, *, ledger: str) -> None:
    console = stderr_console()
    t = summary.totals
    period = f", {when(t.first_ts)} → {when(t.last_ts)}" if t.attempts else ""
    console.print(f"[bold]Ledger[/] {escape(ledger)}{period}")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("Total spend", usd(t.cost_usd))
    sim = f", {t.simulated:,} simulated" if t.simulated else ""
    grid.add_row(
        "Attempts",
        f"{t.attempts:,} ({t.ok:,} ok, {100 * t.success_rate:.1f}% success{sim})",
    )
    grid.add_row("Wasted spend", f"{usd(t.wasted_usd)} on {t.failed:,} failed attempt(s)")
    grid.add_row("Planner spend", usd(t.planner_usd))
    grid.add_row(
        "Tokens",
        f"in {count(t.input_tokens)} (cached {count(t.cached_tokens)}) · "
        f"out {count(t.output_tokens)} (reasoning {count(t.reasoning_tokens)})",
    )
    grid.add_row(
        f"Savings vs {escape(summary.baseline_model)}",
        f"{usd(t.savings_usd)} ({t.savings_pct:.1f}%); the baseline would have cost "
        f"{usd(t.baseline_usd)}",
    )
    console.print(grid)
    if summary.by is not None and summary.groups:
        console.print(summary_table(summary))


def summary_table(summary: Summary) -> Table:
    table = Table(header_style="bold", pad_edge=False)
    table.add_column(summary.by or "", overflow="fold")
    for name in ("attempts", "success", "spend", "wasted", "planner", "in", "out", "savings"):
        table.add_column(name, justify="right")
    for g in summary.groups:
        table.add_row(
            escape(g.key or "-"),
            f"{g.attempts:,}",
            f"{100 * g.success_rate:.0f}%",
            usd(g.cost_usd),
            usd(g.wasted_usd),
            usd(g.planner_usd),
            count(g.input_tokens),
            count(g.output_tokens),
            f"{usd(g.savings_usd)} ({g.savings_pct:.0f}%)",
        )
    return table


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


def runs_table(runs: Sequence[RunInfo]) -> Table:
    table = Table(header_style="bold", pad_edge=False)
    table.add_column("run", no_wrap=True)
    table.add_column("created", no_wrap=True)
    table.add_column("goal", max_width=48)
    table.add_column("status")
    table.add_column("spend / budget", justify="right")
    table.add_column("steps ok", justify="right")
    for r in runs:
        table.add_row(
            escape(r.run_id),
            when_dt(r.created),
            escape(clip(r.goal, 48)),
            escape(r.status or "-"),
            f"{usd(r.spent_usd)} / {usd(r.budget_usd)}",
            f"{r.steps_ok}/{len(r.steps)}",
        )
    return table


def run_steps_table(run: RunInfo) -> Table:
    table = Table(title="Steps", title_justify="left", header_style="bold", pad_edge=False)
    for name in ("step", "capability", "status", "model", "attempts", "cost", "output"):
        table.add_column(name, justify="right" if name in ("attempts", "cost") else "left")
    for s in run.steps:
        out = "-"
        if s.output_path is not None:
            out = str(s.output_path) + ("" if s.output_path.exists() else " (missing)")
        table.add_row(
            escape(s.id + (f" - {clip(s.title, 30)}" if s.title else "")),
            escape(s.capability or "-"),
            escape(s.status or "-"),
            escape(s.model or "-"),
            str(s.attempts),
            usd(s.cost_usd),
            escape(out),
        )
    return table
