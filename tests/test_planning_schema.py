from __future__ import annotations

import json

import jsonschema
import pytest

from _planning_factories import GOOD_ANSWER, make_plan, step
from tokenplan.planning.acceptance import parse_acceptance
from tokenplan.planning.schema import PLAN_JSON_SCHEMA, Plan, Step

# The plan contract, verbatim: the simulator produces instances of exactly this.
CONTRACT = json.loads(
    """
{"type": "object", "additionalProperties": false, "required": ["steps"],
 "properties": {"steps": {"type": "array", "minItems": 1, "items": {
   "type": "object", "additionalProperties": false,
   "required": ["id", "title", "instructions", "capability", "depends_on",
                "est_input_tokens", "est_output_tokens", "acceptance"],
   "properties": {
     "id": {"type": "string", "pattern": "^[a-z][a-z0-9-]{0,31}$"},
     "title": {"type": "string"},
     "instructions": {"type": "string"},
     "capability": {"type": "string", "enum": ["code", "reasoning", "math", "general"]},
     "depends_on": {"type": "array", "items": {"type": "string"}},
     "est_input_tokens": {"type": "integer", "minimum": 1},
     "est_output_tokens": {"type": "integer", "minimum": 1},
     "acceptance": {"type": ["string", "null"]}}}}}}
"""
)


def test_schema_is_the_contract() -> None:
    assert PLAN_JSON_SCHEMA == CONTRACT
    jsonschema.Draft202012Validator.check_schema(PLAN_JSON_SCHEMA)


def test_schema_valid_answer_parses_and_bad_one_is_rejected_by_both() -> None:
    doc = json.loads(GOOD_ANSWER)
    jsonschema.validate(doc, PLAN_JSON_SCHEMA)
    for raw in doc["steps"]:
        Step.model_validate(raw)
    bad = {"steps": [step("Bad", capability="poetry")]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, PLAN_JSON_SCHEMA)


def test_step_to_dict_includes_model_only_when_pinned() -> None:
    s = Step.model_validate(step("a"))
    assert "model" not in s.to_dict()
    pinned = s.model_copy(update={"model": "x/y"})
    assert pinned.to_dict()["model"] == "x/y"
    assert Step.model_validate(pinned.to_dict()) == pinned


def test_depends_on_is_deduplicated_in_order() -> None:
    s = Step.model_validate(step("c", ["b", "a", "b"]))
    assert s.depends_on == ("b", "a")


def diamond() -> Plan:
    # a -> b (long) -> d ; a -> c (short) -> d ; e after d
    return make_plan(
        step("a", tout=100),
        step("b", ["a"], tout=2000),
        step("c", ["a"], tout=50),
        step("d", ["c", "b"], tout=100),
        step("e", ["d"], tout=10),
    )


def test_topological_order_sources_sinks_dependents() -> None:
    p = diamond()
    order = p.topological_order()
    assert order == ["a", "b", "c", "d", "e"]
    for s in p.steps:
        assert all(order.index(d) < order.index(s.id) for d in s.depends_on)
    assert p.sources() == ["a"]
    assert p.sinks() == ["e"]
    assert p.dependents("a") == ["b", "c"]


def test_topological_order_keeps_plan_order_for_ties() -> None:
    p = make_plan(step("z"), step("y"), step("x", ["z", "y"]))
    assert p.topological_order() == ["z", "y", "x"]


def test_critical_path_by_latency_tokens_and_function() -> None:
    p = diamond()
    assert p.critical_path() == ["a", "b", "d", "e"]
    crit = p.criticality()
    assert crit["b"] == pytest.approx(1.0)
    assert 0 < crit["c"] < 1
    # By input tokens only, c is made the heavy branch.
    heavy_c = make_plan(
        step("a"), step("b", ["a"], tin=10), step("c", ["a"], tin=5000), step("d", ["b", "c"])
    )
    assert heavy_c.critical_path("tokens") == ["a", "c", "d"]
    assert heavy_c.critical_path(lambda s: 1.0 if s.id != "b" else 100.0) == ["a", "b", "d"]
    with pytest.raises(ValueError, match="unknown step weight"):
        p.critical_path("speed")  # type: ignore[arg-type]


def test_graph_is_frozen_cached_and_rebuilt_for_new_steps() -> None:
    p = diamond()
    g = p.graph
    assert p.graph is g
    assert set(g.edges) == {("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "e")}
    with pytest.raises(Exception, match=r"[Ff]rozen"):
        g.add_edge("e", "a")
    shorter = p.model_copy(update={"steps": p.steps[:2]})
    assert set(shorter.graph.edges) == {("a", "b")}
    assert p.model_copy() == p
    assert hash(p.model_copy()) == hash(p)


def test_with_pins_sets_and_clears_models() -> None:
    p = diamond().with_pins({"b": "x/y"})
    assert p.pinned == {"b": "x/y"}
    assert p.with_pins({"b": None}).pinned == {}
    with pytest.raises(KeyError):
        p.with_pins({"nope": "x/y"})


@pytest.mark.parametrize(
    ("spec", "kind", "arg"),
    [
        (None, "none", ""),
        ("json", "json", ""),
        ("JSON", "json", ""),
        (" python ", "python", ""),
        ("code", "code", ""),
        ("contains: def main", "contains", "def main"),
        ("regex:^\\d+$", "regex", "^\\d+$"),
        ("max_words:150", "max_words", "150"),
        ("min_words: 20", "min_words", "20"),
        ("a short friendly summary", "none", ""),
        ("note: be concise", "none", ""),
    ],
)
def test_acceptance_forms(spec: str | None, kind: str, arg: str) -> None:
    parsed = parse_acceptance(spec)
    assert (parsed.kind, parsed.argument) == (kind, arg)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("regex:(", "does not compile"),
        ("max_words:many", "positive whole number"),
        ("min_words:0", "positive whole number"),
        ("contains:", "needs the text"),
    ],
)
def test_broken_acceptance_is_an_error(spec: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_acceptance(spec)
    assert parse_acceptance("max_words:7").words == 7
