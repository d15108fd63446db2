from __future__ import annotations

import itertools
import json

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _planning_factories import answer, make_plan, step
from tokenplan.errors import InvalidPlanError, PlanParseError
from tokenplan.planning.schema import Plan
from tokenplan.planning.validate import check_plan, extract_json, parse_plan, validate_plan


def problems_of(*steps: dict[str, object], max_steps: int | None = None) -> tuple[str, ...]:
    with pytest.raises(InvalidPlanError) as info:
        parse_plan(answer(*steps), goal="g", max_steps=max_steps)
    return info.value.problems


def test_valid_plan_parses() -> None:
    plan = parse_plan(answer(step("a"), step("b", ["a"])), goal="  g  ", max_steps=2)
    assert isinstance(plan, Plan)
    assert plan.ids == ("a", "b")
    assert plan.goal == "  g  "  # the caller decides about whitespace


def test_duplicate_ids_name_their_positions() -> None:
    assert problems_of(step("a"), step("b", ["a"]), step("a")) == (
        "duplicate step id 'a' (steps #1, #3); ids must be unique",
    )


def test_unknown_dependency_with_close_match() -> None:
    assert problems_of(step("draft"), step("edit", ["drfat"]), step("x", ["edit", "zzz"])) == (
        "step 'edit' depends on unknown step 'drfat' (did you mean 'draft'?)",
        "step 'x' depends on unknown step 'zzz'",
        "step 'draft' is disconnected: it depends on no step and no step depends on it "
        "(add it to the depends_on of the step that uses its output)",
    )


def test_self_dependency() -> None:
    assert problems_of(step("a", ["a"])) == ("step 'a' depends on itself",)


def test_cycle_reports_its_path_in_depends_on_direction() -> None:
    # a depends on c, b on a, c on b: a -> c -> b -> a
    problems = problems_of(step("a", ["c"]), step("b", ["a"]), step("c", ["b"]))
    assert problems == ("dependency cycle: a -> c -> b -> a",)


def test_two_cycles_are_both_reported() -> None:
    problems = problems_of(
        step("a", ["b"]), step("b", ["a"]), step("c", ["d"]), step("d", ["c"]), step("e", ["b"])
    )
    assert problems == ("dependency cycle: a -> b -> a", "dependency cycle: c -> d -> c")


def test_too_many_steps_uses_the_limit() -> None:
    steps = [step("s0")] + [step(f"s{i}", [f"s{i - 1}"]) for i in range(1, 5)]
    assert problems_of(*steps, max_steps=4) == (
        "too many steps: 5 (the limit is 4; merge small steps)",
    )
    parse_plan(answer(*steps), goal="g", max_steps=5)


def test_orphans_are_isolated_steps_in_multi_step_plans() -> None:
    # One step alone is a fine plan; two disconnected chains are not orphans.
    parse_plan(answer(step("only")), goal="g")
    parse_plan(answer(step("a"), step("b", ["a"]), step("c"), step("d", ["c"])), goal="g")
    problems = problems_of(step("a"), step("b", ["a"]), step("lonely"))
    assert problems == (
        "step 'lonely' is disconnected: it depends on no step and no step depends on it "
        "(add it to the depends_on of the step that uses its output)",
    )


def test_shape_problems_are_precise() -> None:
    problems = problems_of(
        step("Bad Id"),
        step("x", ["Bad Id"], capability="coding", tin=0, acceptance="regex:("),
        {**step("y", ["x"]), "depend_on": ["x"], "title": "  "},
        {k: v for k, v in step("z", ["y"]).items() if k != "est_output_tokens"},
    )
    assert problems == (
        "step 'Bad Id': id 'Bad Id' is not a slug (a lowercase letter, then lowercase letters, "
        "digits or '-', at most 32 characters)",
        "step 'x': capability 'coding' is not one of code, reasoning, math, general",
        "step 'x': est_input_tokens must be a whole number >= 1, got 0",
        "step 'x': acceptance: regex '(' does not compile: missing ), unterminated subpattern "
        "at position 0",
        "step 'y': title: must not be empty",
        "step 'y': unknown field 'depend_on'",
        "step 'z': missing field 'est_output_tokens'",
    )


def test_every_problem_is_collected_in_one_pass() -> None:
    problems = problems_of(
        step("a", ["a"]),
        step("a", ["b"]),
        step("b", ["a", "ghost"]),
        step("c", capability="art"),
        step("d"),
        max_steps=4,
    )
    assert len(problems) == 8, problems
    # Shape problems first (per step), then the DAG rules in a fixed order.
    assert problems[0].startswith("step 'c': capability 'art'")
    assert problems[1].startswith("too many steps: 5")
    assert any(p.startswith("duplicate step id 'a'") for p in problems)
    assert "step 'a' depends on itself" in problems
    assert any("unknown step 'ghost'" in p for p in problems)
    assert any(p.startswith("dependency cycle: a -> b -> a") for p in problems)
    assert any("capability 'art'" in p for p in problems)
    assert any(p.startswith("step 'c' is disconnected") for p in problems)
    assert any(p.startswith("step 'd' is disconnected") for p in problems)


def test_non_object_steps_and_wrong_types() -> None:
    problems = problems_of(step("a"), "just text", step("b", ["a"], tout="many"))  # type: ignore[arg-type]
    assert problems[0] == "step #2 is not an object"
    assert problems[1].startswith("step 'b': est_output_tokens: ")


def test_pins_allowed_in_files_but_not_from_the_planner() -> None:
    doc = answer(step("a", model="x/y"))
    assert parse_plan(doc, goal="g").pinned == {"a": "x/y"}
    with pytest.raises(InvalidPlanError) as info:
        parse_plan(doc, goal="g", allow_pins=False)
    assert info.value.problems == (
        "step 'a': unknown field 'model' (models are chosen by the allocator)",
    )


@pytest.mark.parametrize(
    "text",
    [
        "```json\n" + answer(step("a")) + "\n```",
        "```\n" + answer(step("a")) + "\n```\n",
        "Here is the plan:\n" + answer(step("a")) + "\nGood luck!",
        "  \n" + answer(step("a")),
    ],
)
def test_fences_and_surrounding_prose_are_tolerated(text: str) -> None:
    assert parse_plan(text, goal="g").ids == ("a",)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("I cannot plan this.", "not valid JSON"),
        ('{"steps": [', "not valid JSON"),
        ("[1, 2]", "got an array"),
        ('{"plan": []}', "'steps' array"),
        ('"steps"', "got str"),
    ],
)
def test_unparseable_answers(text: str, match: str) -> None:
    with pytest.raises(PlanParseError, match=match) as info:
        parse_plan(text, goal="g")
    assert info.value.raw == text


def test_empty_steps_is_invalid_not_unparseable() -> None:
    with pytest.raises(InvalidPlanError) as info:
        parse_plan('{"steps": []}', goal="g")
    assert info.value.problems == ("the plan has no steps",)


def test_unknown_top_level_fields_are_ignored() -> None:
    doc = json.dumps({"steps": [step("a")], "summary": "one step"})
    assert parse_plan(doc, goal="g").ids == ("a",)


def test_check_and_validate_built_plans() -> None:
    good = make_plan(step("a"), step("b", ["a"]))
    assert check_plan(good) == []
    assert validate_plan(good, max_steps=2) is good
    with pytest.raises(InvalidPlanError, match="too many steps"):
        validate_plan(good, max_steps=1)
    assert check_plan(Plan(goal="g", steps=())) == ["the plan has no steps"]


def test_extract_json_reports_position() -> None:
    with pytest.raises(PlanParseError, match="line 1 column"):
        extract_json('{"steps": [}')


@st.composite
def random_dags(draw: st.DrawFn) -> list[tuple[str, list[str]]]:
    n = draw(st.integers(min_value=2, max_value=9))
    ids = [f"s{i}" for i in range(n)]
    nodes = []
    for i, sid in enumerate(ids):
        deps = draw(st.lists(st.sampled_from(ids[:i]), unique=True)) if i else []
        nodes.append((sid, deps))
    # Keep the plan connected: every step without links hangs off the first one.
    used = {d for _, deps in nodes for d in deps}
    nodes = [
        (sid, deps if deps or sid in used or i == 0 else [ids[0]])
        for i, (sid, deps) in enumerate(nodes)
    ]
    if not any(ids[0] in deps for _, deps in nodes):
        nodes[-1] = (nodes[-1][0], [*nodes[-1][1], ids[0]])
    return nodes


@settings(max_examples=60, deadline=None)
@given(random_dags(), st.data())
def test_random_dags_are_valid_and_a_back_edge_is_reported_as_a_real_cycle(
    dag: list[tuple[str, list[str]]], data: st.DataObject
) -> None:
    plan = parse_plan(answer(*(step(s, d) for s, d in dag)), goal="g")
    assert nx.is_directed_acyclic_graph(plan.graph)
    # Add an edge from an ancestor back to a descendant: now there is exactly one new SCC.
    edges = list(plan.graph.edges)
    if not edges:
        return
    src, dst = data.draw(st.sampled_from(edges))  # dst depends on src
    looped = [(s, [*d, dst]) if s == src else (s, d) for s, d in dag]
    with pytest.raises(InvalidPlanError) as info:
        parse_plan(answer(*(step(s, d) for s, d in looped)), goal="g")
    cycles = [p for p in info.value.problems if p.startswith("dependency cycle: ")]
    assert len(cycles) == 1
    path = cycles[0].removeprefix("dependency cycle: ").split(" -> ")
    assert path[0] == path[-1]
    deps = {s: set(d) for s, d in looped}
    for a, b in itertools.pairwise(path):
        assert b in deps[a], (a, b, path)
