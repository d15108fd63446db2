from __future__ import annotations

import json

from rich.console import Console

from _planning_factories import ladder, make_plan, step
from tokenplan.planning.allocator import allocate, format_usd
from tokenplan.planning.planfile import PlannerInfo, plan_document
from tokenplan.planning.render import (
    plan_json,
    plan_mermaid,
    plan_table,
    plan_totals,
    plan_tree,
    render_plan,
)
from tokenplan.planning.schema import Plan


def sample() -> Plan:
    return make_plan(
        step("outline", capability="reasoning", tout=800),
        step("code", ["outline"], capability="code", tout=2000),
        step("notes", ["outline"], tout=100),
        step("end", ["code", "notes"]),
        goal="Parse CSV and explain it",
    )


def text_of(renderable: object, width: int = 220) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_mermaid_without_allocation() -> None:
    assert plan_mermaid(sample()) == (
        "graph TD\n"
        '    step_outline["outline: Title of outline<br/>reasoning"]\n'
        '    step_code["code: Title of code<br/>code"]\n'
        '    step_notes["notes: Title of notes<br/>general"]\n'
        '    step_end["end: Title of end<br/>general"]\n'
        "    step_outline --> step_code\n"
        "    step_outline --> step_notes\n"
        "    step_code --> step_end\n"
        "    step_notes --> step_end\n"
        "    classDef critical stroke-width:3px\n"
        "    class step_outline,step_code,step_end critical\n"
    )


def test_mermaid_with_models_and_escaping() -> None:
    plan = make_plan(
        step("draft-1", title='Say "hi" <b>#1</b> & more'),
        step("draft-2", ["draft-1"]),
    )
    alloc = allocate(plan, ladder(), budget_usd=0.5, strategy="cheapest")
    text = plan_mermaid(plan, alloc)
    assert (
        '    step_draft_1["draft-1: Say #quot;hi#quot; #lt;b#gt;#35;1#lt;/b#gt; #amp; more'
        '<br/>general · cheap/small · $0.0003"]'
    ) in text
    assert "    step_draft_1 --> step_draft_2\n" in text
    assert '"' not in text.split('["', 1)[1].split('"]', 1)[0]


def test_single_step_mermaid_has_no_critical_class() -> None:
    text = plan_mermaid(make_plan(step("only")))
    assert "classDef" not in text
    assert text.startswith("graph TD\n")


def test_table_shows_every_column_and_reason() -> None:
    plan = sample()
    alloc = allocate(plan, ladder(), budget_usd=0.5, strategy="best_quality")
    out = text_of(plan_table(plan, alloc))
    for header in ("step", "capability", "depends on", "model", "tier", "est. cost", "why"):
        assert header in out
    assert "Plan: Parse CSV and explain it" in out
    assert "outline *" in out  # critical path marker
    assert "notes *" not in out
    assert "code, notes" in out
    assert "top/large" in out
    assert "flagship" in out
    assert alloc.for_step("code").reason.split(":")[0] in out
    assert "* on the critical path" in out
    for s in alloc.steps:
        assert format_usd(s.est_cost_usd) in out


def test_table_without_allocation_shows_estimates() -> None:
    out = text_of(plan_table(sample()))
    assert "est. tokens in/out" in out
    assert "1,000/2,000" in out
    assert "model" not in out.split("\n")[2]


def test_tree_hangs_each_step_under_its_last_dependency() -> None:
    plan = sample()
    alloc = allocate(plan, ladder(), budget_usd=0.5, strategy="cheapest")
    out = text_of(plan_tree(plan, alloc))
    lines = out.splitlines()
    assert lines[0] == "goal: Parse CSV and explain it"
    assert lines[1].startswith("└── outline")
    end = next(line for line in lines if "end  Title of end" in line)
    assert "also after: code" in end
    assert "cheap/small (budget)" in end


def test_totals_and_render_plan() -> None:
    plan = sample()
    alloc = allocate(plan, ladder(), budget_usd=0.5, planner_cost_usd=0.004)
    planner = PlannerInfo(model="mid/medium", cost_usd=0.004, calls=3, simulated=True)
    totals = text_of(plan_totals(alloc, planner=planner))
    rows = {line.split()[0]: line for line in totals.splitlines() if line.strip()}
    assert list(rows) == ["steps", "reserve", "planner", "left", "budget"]
    assert rows["steps"].split()[2] == format_usd(alloc.total_est_cost_usd)
    assert "expected success" in rows["steps"]
    assert rows["reserve"].split()[1:5] == ["$0.10", "20%", "for", "escalation"]
    assert rows["planner"].split()[1:] == ["$0.004", "mid/medium,", "3", "calls,", "simulated"]
    assert rows["left"].split()[1] == format_usd(alloc.left_usd)
    assert rows["budget"].split()[1] == "$0.50"

    console = Console(width=200, record=True, color_system=None)
    render_plan(plan, alloc, planner=planner, console=console, view="tree")
    out = console.export_text()
    assert "goal: Parse CSV and explain it" in out
    assert "planned by the offline simulator" in out
    assert "mid/medium, 3 calls, simulated" in out


def test_totals_without_allocation() -> None:
    out = text_of(plan_totals(None, planner=PlannerInfo(model="m/x", cost_usd=0.01, calls=1)))
    assert out.split() == ["planner", "$0.01", "m/x,", "1", "call"]


def test_json_is_the_plan_file_document() -> None:
    plan = sample()
    alloc = allocate(plan, ladder(), budget_usd=0.5)
    planner = PlannerInfo(model="mid/medium", cost_usd=0.001)
    doc = plan_json(plan, alloc, planner=planner, created="2025-01-01T00:00:00Z")
    assert doc == plan_document(plan, alloc, planner=planner, created="2025-01-01T00:00:00Z")
    assert json.loads(json.dumps(doc)) == doc
    assert [s["id"] for s in doc["steps"]] == ["outline", "code", "notes", "end"]
    assert doc["allocation"]["steps"][0]["model"] == alloc.steps[0].model
