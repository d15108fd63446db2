"""Showing a plan: a rich table or tree with totals (for people), Mermaid, and JSON.

rich is imported inside the functions that need it, so importing this module stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from tokenplan.money import format_usd
from tokenplan.planning.planfile import PlannerInfo, plan_document

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.tree import Tree

    from tokenplan.planning.allocator import Allocation, StepAllocation
    from tokenplan.planning.planner import PlannerResult
    from tokenplan.planning.schema import Plan, Step

__all__ = [
    "plan_json",
    "plan_mermaid",
    "plan_table",
    "plan_totals",
    "plan_tree",
    "render_plan",
]


def _model_cell(sa: StepAllocation | None) -> tuple[str, str, str]:
    if sa is None:
        return ("-", "-", "-")
    model = f"{sa.model} (pinned)" if sa.pinned else sa.model
    return (model, sa.tier, format_usd(sa.est_cost_usd))


def plan_table(plan: Plan, allocation: Allocation | None = None) -> Table:
    """One row per step: step, capability, dependencies, model, tier, est. cost, why."""
    from rich.table import Table
    from rich.text import Text

    by_id = {s.step_id: s for s in allocation.steps} if allocation else {}
    critical = set(plan.critical_path())
    table = Table(title=f"Plan: {_one_line(plan.goal, 80)}", title_justify="left", expand=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("step", no_wrap=True)
    table.add_column("capability")
    table.add_column("depends on")
    if allocation is not None:
        table.add_column("model")
        table.add_column("tier")
        table.add_column("est. cost", justify="right")
        table.add_column("why", overflow="fold")
    else:
        table.add_column("est. tokens in/out", justify="right")
        table.add_column("acceptance")
    position = {sid: i for i, sid in enumerate(plan.ids, start=1)}
    for sid in plan.topological_order():
        step = plan.step(sid)
        name = Text(step.id, style="bold")
        if sid in critical and len(plan) > 1:
            name.append(" *", style="yellow")
        name.append("\n" + _one_line(step.title, 40), style="dim")
        deps = ", ".join(step.depends_on) or "-"
        if allocation is not None:
            sa = by_id.get(sid)
            model, tier, cost = _model_cell(sa)
            table.add_row(
                str(position[sid]),
                name,
                step.capability,
                deps,
                model,
                tier,
                cost,
                sa.reason if sa else "",
            )
        else:
            tokens = f"{step.est_input_tokens:,}/{step.est_output_tokens:,}"
            table.add_row(
                str(position[sid]), name, step.capability, deps, tokens, step.acceptance or "-"
            )
    if len(plan) > 1:
        table.caption = "* on the critical path"
        table.caption_justify = "left"
    return table


def plan_tree(plan: Plan, allocation: Allocation | None = None) -> Tree:
    """The DAG as a tree: each step under its last dependency, other dependencies noted."""
    from rich.text import Text
    from rich.tree import Tree

    by_id = {s.step_id: s for s in allocation.steps} if allocation else {}
    order = plan.topological_order()
    rank = {sid: i for i, sid in enumerate(order)}
    root = Tree(Text(f"goal: {_one_line(plan.goal, 80)}", style="bold"))
    nodes: dict[str, Tree] = {}
    for sid in order:
        step = plan.step(sid)
        label = Text(step.id, style="bold")
        label.append(f"  {_one_line(step.title, 50)}  ", style="")
        label.append(step.capability, style="cyan")
        sa = by_id.get(sid)
        if sa is not None:
            model, tier, cost = _model_cell(sa)
            label.append(f"  {model} ({tier})  {cost}", style="green")
        parents = sorted(step.depends_on, key=rank.__getitem__)
        if len(parents) > 1:
            label.append(f"  also after: {', '.join(parents[:-1])}", style="dim")
        parent = nodes[parents[-1]] if parents else root
        nodes[sid] = parent.add(label)
    return root


def plan_totals(
    allocation: Allocation | None, *, planner: PlannerInfo | PlannerResult | None = None
) -> Table:
    """Steps total, reserve, planner cost, left and budget as a two-column grid."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(justify="right")
    grid.add_column(style="dim")
    info = _planner_info(planner)
    if allocation is None:
        if info is not None:
            grid.add_row("planner", format_usd(info.cost_usd), _planner_note(info))
        return grid
    a = allocation
    exact = "" if a.exact else ", best found (not proven optimal)"
    grid.add_row(
        "steps (est.)",
        format_usd(a.total_est_cost_usd),
        f"{a.strategy}; expected success {a.expected_success:.1%}{exact}",
    )
    grid.add_row("reserve", format_usd(a.reserve_usd), f"{a.reserve_fraction:.0%} for escalation")
    planner_note = _planner_note(info) if info is not None else ""
    grid.add_row("planner", format_usd(a.planner_cost_usd), planner_note)
    grid.add_row("left", format_usd(a.left_usd), "budget not allocated")
    grid.add_row(
        "budget",
        format_usd(a.budget_usd),
        f"minimum for this plan {format_usd(a.minimum_budget_usd)}",
    )
    return grid


def render_plan(
    plan: Plan,
    allocation: Allocation | None = None,
    *,
    planner: PlannerInfo | PlannerResult | None = None,
    console: Console | None = None,
    view: Literal["table", "tree"] = "table",
) -> None:
    """Print the plan (table or tree) and its totals on ``console`` (default: stderr)."""
    if console is None:
        from rich.console import Console

        console = Console(stderr=True, highlight=False)
    console.print(plan_tree(plan, allocation) if view == "tree" else plan_table(plan, allocation))
    info = _planner_info(planner)
    if info is not None and info.simulated:
        console.print("[yellow]planned by the offline simulator: the plan is synthetic[/yellow]")
    console.print(plan_totals(allocation, planner=planner))


def plan_mermaid(plan: Plan, allocation: Allocation | None = None) -> str:
    """A Mermaid flowchart (``graph TD``): one node per step, edges from dependency to step.

    Node ids are ``step_<id>`` (with ``-`` as ``_``), so ids such as ``end`` cannot clash
    with Mermaid keywords; label text is escaped. Critical-path steps get class ``critical``.
    """
    by_id = {s.step_id: s for s in allocation.steps} if allocation else {}
    lines = ["graph TD"]
    for step in plan.steps:
        lines.append(f'    {_node(step.id)}["{_label(step, by_id.get(step.id))}"]')
    for step in plan.steps:
        for dep in step.depends_on:
            lines.append(f"    {_node(dep)} --> {_node(step.id)}")
    if len(plan) > 1:
        crit = ",".join(_node(s) for s in plan.critical_path())
        lines.append("    classDef critical stroke-width:3px")
        lines.append(f"    class {crit} critical")
    return "\n".join(lines) + "\n"


def plan_json(
    plan: Plan,
    allocation: Allocation | None = None,
    *,
    planner: PlannerInfo | PlannerResult | None = None,
    created: str | None = None,
) -> dict[str, Any]:
    """The JSON form (``plan --json``): the same document ``plan.json`` holds."""
    return plan_document(plan, allocation, planner=planner, created=created)


def _node(step_id: str) -> str:
    return "step_" + step_id.replace("-", "_")


def _label(step: Step, sa: StepAllocation | None) -> str:
    head = f"{step.id}: {_one_line(step.title, 60)}"
    parts: list[str] = [step.capability]
    if sa is not None:
        parts += [sa.model, format_usd(sa.est_cost_usd)]
    return _escape(head) + "<br/>" + _escape(" · ".join(parts))


def _escape(text: str) -> str:
    return (
        text.replace("#", "#35;")
        .replace("&", "#amp;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
    )


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _planner_info(planner: PlannerInfo | PlannerResult | None) -> PlannerInfo | None:
    if planner is None or isinstance(planner, PlannerInfo):
        return planner
    return PlannerInfo.from_result(planner)


def _planner_note(info: PlannerInfo) -> str:
    calls = f"{info.calls} {'call' if info.calls == 1 else 'calls'}"
    sim = ", simulated" if info.simulated else ""
    return f"{info.model}, {calls}{sim}"
