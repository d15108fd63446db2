"""Rich rendering of a route decision (stderr). Imported only for human output."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from tokenplan.cli._format import tokens, usd
from tokenplan.cli._output import stderr_console
from tokenplan.cli._table import Cell, Col, Fitted, fit, print_tables

if TYPE_CHECKING:
    from tokenplan.routing.decision import RouteDecision
    from tokenplan.types import ChatResponse

__all__ = ["answer_warning", "candidates_table", "dropped_table", "show"]


def show(decision: RouteDecision, *, explain: bool, next_rungs: int = 3) -> None:
    """The decision in a few lines; with ``explain`` also the classification and tables."""
    from rich.table import Table

    con = stderr_console()
    d = decision
    m = d.model
    head = Text("→ ", style="bold green")
    head.append(m.id, style="bold green")
    head.append(f"  ({m.tier} tier, {m.provider})", style="dim")
    con.print(head)

    # A label column, so that wrapped lines stay aligned under their text.
    grid = Table.grid(padding=(0, 1), pad_edge=False)
    grid.add_column(style="bold", no_wrap=True, min_width=7, justify="right")
    grid.add_column()
    strategy = f"strategy {d.strategy}" + (
        f" (as {d.requested})" if d.requested != d.strategy else ""
    )
    forced = " (forced)" if d.capability_forced else ""
    grid.add_row("task:", Text(f"{d.capability}{forced} · {d.complexity} · {strategy}"))
    budget = "no budget" if d.budget_usd is None else f"budget {usd(d.budget_usd)}"
    cost = Text(
        f"worst case {usd(d.estimated_cost_usd)} for {tokens(d.estimated_input_tokens)} input "
        f"+ {tokens(d.max_tokens)} max output tokens · {budget}"
    )
    if not d.within_budget:
        cost.append("  OVER BUDGET", style="bold red")
    grid.add_row("cost:", cost)
    grid.add_row("why:", Text(d.reason))
    for note in d.notes:
        grid.add_row(Text("note:", style="bold yellow"), Text(note, style="yellow"))
    rest = [c for c in d.ladder if c.model.id != m.id]
    if rest and not explain:
        shown = ", ".join(f"{c.model.id} ({usd(c.estimated_cost_usd)})" for c in rest[:next_rungs])
        more = f" and {len(rest) - next_rungs} more" if len(rest) > next_rungs else ""
        grid.add_row(Text("next:", style="dim"), Text(f"{shown}{more}", style="dim"))
    con.print(grid)
    if not explain:
        return

    cls = d.classification
    con.print()
    title = Text("classification ", style="bold")
    title.append(
        ", ".join(f"{k} {v:.2f}" for k, v in cls.scores.items())
        + f"; complexity score {cls.complexity_score:+.2f}",
        style="",
    )
    con.print(title)
    for signal in cls.signals:
        con.print(Text(f"  · {signal}"))
    con.print()
    tables = [candidates_table(d, width=con.width)]
    if d.dropped:
        tables.append(dropped_table(d, width=con.width))
    print_tables(con, *tables)


_CANDIDATE_COLS = (
    Col("#", "num", priority=3),
    Col("model", priority=0),
    Col("tier", priority=2),
    Col("quality", "num", priority=1),
    Col("worst case", "num", priority=0),
    Col("score", "num", priority=1),
)


def candidates_table(decision: RouteDecision, *, width: int) -> Fitted:
    """The ladder, best first: what ``--send`` falls back along."""
    rows: list[list[Cell]] = [
        [
            str(i),
            c.model.id,
            c.model.tier,
            f"{c.quality:.2f}",
            usd(c.estimated_cost_usd),
            f"{c.score:.4g}",
        ]
        for i, c in enumerate(decision.ladder)
    ]
    return fit(_CANDIDATE_COLS, rows, width=width, title="candidates (ladder)")


_DROPPED_COLS = (
    Col("model", priority=0),
    Col("why", "prose", priority=0, min_width=20),
)


def dropped_table(decision: RouteDecision, *, width: int) -> Fitted:
    """Every model left out, and why."""
    rows: list[list[Cell]] = [[model_id, why] for model_id, why in decision.dropped.items()]
    return fit(_DROPPED_COLS, rows, width=width, title=f"dropped ({len(rows)})")


def answer_warning(response: ChatResponse, *, max_tokens: int | None) -> str | None:
    """What to tell the user when a sent prompt's answer is unusable as it stands: cut off by
    the output limit, or empty. ``None`` when the answer is fine."""
    if response.finish_reason == "length":
        limit = f"{tokens(max_tokens)} tokens" if max_tokens else "the model's output limit"
        return (
            f"the answer was cut off at {limit} (finish_reason 'length'); raise --max-tokens, "
            "or ask for a shorter answer"
        )
    if not response.text.strip():
        return (
            f"{response.model} returned an empty answer; run the command again with "
            "--strategy best_quality, or check 'tokenplan ledger' for what happened"
        )
    return None
