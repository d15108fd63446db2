"""``result.md``: the outputs of a run's sink steps (the ones nothing depends on), assembled."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from tokenplan.money import format_usd

if TYPE_CHECKING:
    from tokenplan.execution.records import StepRecord
    from tokenplan.planning.schema import Plan

__all__ = ["SIMULATED_NOTE", "result_markdown"]

SIMULATED_NOTE = (
    "> **Simulated.** These outputs were produced by tokenplan's offline simulator, not by a "
    "real model: they are placeholders that show the run's shape, cost and timing. Set a "
    "provider key (OPENAI_API_KEY, ANTHROPIC_API_KEY, ...) to run the plan for real."
)


def result_markdown(
    plan: Plan,
    records: Mapping[str, StepRecord],
    outputs: Mapping[str, str],
    *,
    run_id: str,
    status: str,
    spent_usd: float,
    budget_usd: float | None,
    simulated: bool,
) -> str:
    """The run's result document: the goal, each sink step's output under its title (or why
    it is missing), and a footer with the run's status and spend."""
    lines = [f"# {_one_line(plan.goal)}", ""]
    if simulated:
        lines += [SIMULATED_NOTE, ""]
    sinks = plan.sinks()
    by_id = {s.id: s for s in plan.steps}
    for sid in sinks:
        step = by_id[sid]
        if len(sinks) > 1:
            lines += [f"## {_one_line(step.title)}", ""]
        text = outputs.get(sid)
        if text is not None:
            lines += [text.rstrip(), ""]
        else:
            record = records.get(sid)
            status_of = record.status if record is not None else "not run"
            why = f": {record.error}" if record is not None and record.error else ""
            blocked = (
                f" (blocked by '{record.blocked_by}')"
                if record is not None and record.blocked_by
                else ""
            )
            lines += [f"*Not produced: step '{sid}' {status_of}{blocked}{why}.*", ""]
    budget = "no limit" if budget_usd is None else format_usd(budget_usd)
    ok = sum(1 for r in records.values() if r.succeeded)
    lines += [
        "---",
        f"*tokenplan run {run_id}: {status}, {ok}/{len(records)} steps succeeded, "
        f"{format_usd(spent_usd)} spent of {budget}.*",
        "",
    ]
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())
