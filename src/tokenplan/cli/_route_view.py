"""Rich rendering of a route decision (stderr). Imported only for human output."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from tokenplan.cli._output import stderr_console

if TYPE_CHECKING:
    from tokenplan.routing.decision import RouteDecision

__all__ = ["show"]


def _usd(value: float) -> str:
    if value == 0:
        return "$0"
    return f"${value:.2g}" if value < 0.01 else f"${value:,.4f}"


def show(decision: RouteDecision, *, explain: bool, next_rungs: int = 3) -> None:
    con = stderr_console()
    d = decision
    m = d.model
    con.print(f"[bold green]→ {escape(m.id)}[/]  [dim]({m.tier} tier, {escape(m.provider)})[/]")
    budget = "no budget" if d.budget_usd is None else f"budget {_usd(d.budget_usd)}"
    over = "  [bold red]OVER BUDGET[/]" if not d.within_budget else ""
    con.print(
        f"  {d.capability}{' (forced)' if d.capability_forced else ''} · {d.complexity} · "
        f"strategy {d.strategy}"
        + (f" (as {escape(d.requested)})" if d.requested != d.strategy else "")
    )
    con.print(
        f"  est. {d.estimated_input_tokens:,} input + {d.max_tokens:,} max output tokens · "
        f"worst case {_usd(d.estimated_cost_usd)} · {budget}{over}"
    )
    con.print(f"  [bold]why:[/] {escape(d.reason)}")
    rest = [c for c in d.ladder if c.model.id != m.id]
    if rest and not explain:
        shown = ", ".join(
            f"{escape(c.model.id)} ({_usd(c.estimated_cost_usd)})" for c in rest[:next_rungs]
        )
        more = f" and {len(rest) - next_rungs} more" if len(rest) > next_rungs else ""
        con.print(f"  [dim]next on the ladder: {shown}{more}[/]")
    if not explain:
        return

    cls = d.classification
    con.print(
        "\n[bold]classification[/] "
        + ", ".join(f"{k} {v:.2f}" for k, v in cls.scores.items())
        + f"; complexity score {cls.complexity_score:+.2f}"
    )
    for signal in cls.signals:
        con.print(f"  · {escape(signal)}")

    table = Table(title="candidates (ladder)", title_justify="left", show_edge=False)
    for col, justify in (("#", "right"), ("model", "left"), ("tier", "left"), ("quality", "right"),
                         ("worst case", "right"), ("score", "right")):  # fmt: skip
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for i, c in enumerate(d.ladder):
        table.add_row(
            str(i),
            escape(c.model.id),
            c.model.tier,
            f"{c.quality:.2f}",
            _usd(c.estimated_cost_usd),
            f"{c.score:.4g}",
        )
    con.print(table)
    if d.dropped:
        dropped = Table(title="dropped", title_justify="left", show_edge=False)
        dropped.add_column("model")
        dropped.add_column("why")
        for model_id, why in d.dropped.items():
            dropped.add_row(escape(model_id), escape(why))
        con.print(dropped)
