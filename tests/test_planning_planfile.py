from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from _planning_factories import ladder, make_plan, step
from tokenplan.errors import InvalidPlanError, UsageError
from tokenplan.planning.allocator import allocate
from tokenplan.planning.planfile import (
    PLAN_FILE_VERSION,
    PlannerInfo,
    load_plan,
    loads_plan,
    plan_document,
    save_plan,
)
from tokenplan.planning.schema import Plan


def sample() -> Plan:
    return make_plan(
        step("outline", capability="reasoning", acceptance="max_words:200"),
        step("code", ["outline"], capability="code", acceptance="python"),
        step("write", ["outline", "code"]),
        goal="Write a parser — and explain it",
    )


def test_round_trip(tmp_path: Path) -> None:
    plan = sample()
    alloc = allocate(plan, ladder(), budget_usd=0.4, planner_cost_usd=0.003)
    planner = PlannerInfo(model="mid/medium", cost_usd=0.003, calls=2)
    path = save_plan(
        tmp_path / "run" / "plan.json", plan, alloc, planner=planner, created="2025-01-02T03:04:05Z"
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["plan.json"]  # no temp file left

    doc = load_plan(path)
    assert doc.plan == plan
    assert doc.allocation == alloc
    assert doc.planner == planner
    assert doc.created == "2025-01-02T03:04:05Z"
    assert doc.version == PLAN_FILE_VERSION
    assert doc.allocation_is_current
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["version"] == 1
    assert raw["goal"] == "Write a parser — and explain it"
    assert raw["allocation"]["budget_usd"] == 0.4
    assert raw["allocation"]["reserve_usd"] == pytest.approx(0.08)
    assert raw["allocation"]["planner_cost_usd"] == 0.003
    assert "model" not in raw["steps"][0]
    assert doc.to_dict() == raw
    # Saving what was loaded gives the same file.
    again = save_plan(
        tmp_path / "again.json", doc.plan, doc.allocation, planner=doc.planner, created=doc.created
    )
    assert again.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


def test_plan_without_allocation(tmp_path: Path) -> None:
    path = save_plan(tmp_path / "plan.json", sample())
    doc = load_plan(path)
    assert doc.allocation is None
    assert doc.planner is None
    assert not doc.allocation_is_current
    assert doc.created.endswith("Z")


def test_edited_pins_are_loaded_and_honoured(tmp_path: Path) -> None:
    plan = sample()
    path = save_plan(tmp_path / "plan.json", plan, allocate(plan, ladder(), budget_usd=0.4))
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["steps"][1]["model"] = "top/large"
    path.write_text(json.dumps(raw), encoding="utf-8")
    doc = load_plan(path)
    assert doc.plan.pinned == {"code": "top/large"}
    assert not doc.allocation_is_current  # the saved choice disagrees with the pin
    again = allocate(doc.plan, ladder(), budget_usd=0.4, strategy="cheapest")
    assert again.for_step("code").model == "top/large"
    assert again.for_step("code").pinned


def test_edited_estimates_make_the_allocation_stale() -> None:
    plan = sample()
    text = json.dumps(plan_document(plan, allocate(plan, ladder(), budget_usd=0.4)))
    raw = json.loads(text)
    assert loads_plan(text).allocation_is_current
    raw["steps"][0]["est_input_tokens"] = 9999
    assert not loads_plan(json.dumps(raw)).allocation_is_current


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "is not valid JSON"),
        ("[]", "expected a JSON object"),
        ('{"steps": []}', "'goal' must be a non-empty string"),
        ('{"goal": "g"}', "expected a JSON object with a 'steps' array"),
        ('{"goal": "g", "steps": [], "version": 99}', "format version 99"),
        ('{"goal": "g", "steps": [], "version": "one"}', "'version' must be"),
        ('{"goal": "g", "steps": []}', "the plan has no steps"),
    ],
)
def test_malformed_files_are_one_line_usage_errors(
    tmp_path: Path, content: str, match: str
) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=match) as info:
        load_plan(path)
    assert "\n" not in str(info.value)
    assert info.value.exit_code == 2


def test_invalid_dag_in_file_keeps_the_problems_on_the_cause(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(
        json.dumps({"goal": "g", "steps": [step("a", ["b"]), step("b", ["a"])]}), encoding="utf-8"
    )
    with pytest.raises(UsageError, match="dependency cycle: a -> b -> a") as info:
        load_plan(path)
    assert isinstance(info.value.__cause__, InvalidPlanError)
    assert info.value.__cause__.problems == ("dependency cycle: a -> b -> a",)
    # The step limit applies when asked for.
    path.write_text(json.dumps({"goal": "g", "steps": [step("a"), step("b", ["a"])]}))
    with pytest.raises(UsageError, match="too many steps"):
        load_plan(path, max_steps=1)


def test_bad_allocation_section_and_missing_file(tmp_path: Path) -> None:
    doc = plan_document(sample())
    doc["allocation"] = {"strategy": "balanced"}
    with pytest.raises(UsageError, match=r"allocation\.budget_usd: Field required"):
        loads_plan(json.dumps(doc))
    with pytest.raises(UsageError, match="does not exist"):
        load_plan(tmp_path / "missing.json")
