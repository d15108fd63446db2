"""The simulated planner: schema-valid, acyclic plans derived from the goal (plan contract)."""

from __future__ import annotations

import json
import time
from typing import Any

import jsonschema
import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim_helpers import make_catalog, parses, python_block
from tokenplan.ledger.context import call_context
from tokenplan.providers.sim import SimulatorModel
from tokenplan.providers.sim.plan import build_plan
from tokenplan.providers.sim.rng import Rng
from tokenplan.types import ChatRequest, JsonSchemaFormat, Message

# The plan contract's schema (owned by tokenplan.planning.schema; copied so this test pins it).
PLAN_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["steps"],
    "properties": {
        "steps": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "id",
                    "title",
                    "instructions",
                    "capability",
                    "depends_on",
                    "est_input_tokens",
                    "est_output_tokens",
                    "acceptance",
                ],
                "properties": {
                    "id": {"type": "string", "pattern": "^[a-z][a-z0-9-]{0,31}$"},
                    "title": {"type": "string"},
                    "instructions": {"type": "string"},
                    "capability": {
                        "type": "string",
                        "enum": ["code", "reasoning", "math", "general"],
                    },
                    "depends_on": {"type": "array", "items": {"type": "string"}},
                    "est_input_tokens": {"type": "integer", "minimum": 1},
                    "est_output_tokens": {"type": "integer", "minimum": 1},
                    "acceptance": {"type": ["string", "null"]},
                },
            },
        }
    },
}
VALIDATOR = jsonschema.Draft202012Validator(PLAN_JSON_SCHEMA)
SIM = SimulatorModel(make_catalog(), failure_rates=0.0, error_rates=0.0, latency_scale=0.0)


def planner_request(goal: str, max_steps: int = 12, *, schema: bool = True) -> ChatRequest:
    user = f"Plan this goal.\n<goal>{goal}</goal>\n<max_steps>{max_steps}</max_steps>"
    return ChatRequest(
        model="acme/medium",
        messages=(
            Message(role="system", content="You are tokenplan's planner. Answer with a plan."),
            Message(role="user", content=user),
        ),
        response_format=JsonSchemaFormat(name="tokenplan_plan", schema=PLAN_JSON_SCHEMA)
        if schema
        else None,
        json_mode=not schema,
        max_tokens=8000,
    )


async def plan_for(goal: str, max_steps: int = 12, *, schema: bool = True) -> list[dict[str, Any]]:
    response = await SIM.complete(planner_request(goal, max_steps, schema=schema))
    assert response.finish_reason == "stop"
    doc = json.loads(response.text)
    VALIDATOR.validate(doc)
    return list(doc["steps"])


def check_dag(steps: list[dict[str, Any]], max_steps: int) -> nx.DiGraph:
    ids = [s["id"] for s in steps]
    assert len(ids) == len(set(ids)), "ids are unique"
    assert 1 <= len(steps) <= max_steps
    graph = nx.DiGraph()
    graph.add_nodes_from(ids)
    for step in steps:
        for dep in step["depends_on"]:
            assert dep in graph, f"{step['id']} depends on unknown {dep}"
            assert dep != step["id"]
            graph.add_edge(dep, step["id"])
    assert nx.is_directed_acyclic_graph(graph)
    if len(steps) > 1:  # no orphans: every step is connected to the plan
        assert all(graph.degree(n) > 0 for n in graph)
        assert nx.is_weakly_connected(graph)
    return graph


CLAUSES = st.sampled_from(
    [
        "write a python function that parses dates",
        "research the market for e-bikes",
        "compute the compound interest on 1000 dollars at 5%",
        "compare the two options",
        "summarize the findings in 100 words",
        "draft an email to the team",
        "list the risks as JSON",
        "analyze why sales dropped",
        "translate the summary into Spanish",
        "build a CLI for it",
        "estimate the cost",
        "design a database schema",
        "review the code",
        "explain the trade-offs",
    ]
)
JOINERS = st.sampled_from(
    [", ", " and ", ", then ", ". ", "; ", ". Then ", ", and finally ", "\n- ", " as well as "]
)


@st.composite
def goals(draw: st.DrawFn) -> str:
    clauses = draw(st.lists(CLAUSES, min_size=1, max_size=9))
    out = clauses[0]
    for clause in clauses[1:]:
        out += draw(JOINERS) + clause
    return out[:1].upper() + out[1:] + draw(st.sampled_from(["", ".", "!"]))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(goal=goals(), max_steps=st.integers(min_value=1, max_value=15))
async def test_structured_goals_give_valid_dags(goal: str, max_steps: int) -> None:
    check_dag(await plan_for(goal, max_steps), max_steps)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(goal=st.text(max_size=300), max_steps=st.integers(min_value=1, max_value=15))
async def test_arbitrary_text_goals_give_valid_dags(goal: str, max_steps: int) -> None:
    goal = goal.replace("</goal>", "")
    check_dag(await plan_for(goal, max_steps), max_steps)


async def test_independent_parts_run_in_parallel_and_a_final_step_combines_them() -> None:
    steps = await plan_for(
        "Research the history of the bicycle, write a Python function that computes gear "
        "ratios, and list the top 5 bicycle brands as JSON."
    )
    graph = check_dag(steps, 12)
    by_id = {s["id"]: s for s in steps}
    roots = [n for n in graph if graph.in_degree(n) == 0]
    sinks = [n for n in graph if graph.out_degree(n) == 0]
    assert len(roots) == 3
    assert len(sinks) == 1
    final = by_id[sinks[0]]
    assert set(final["depends_on"]) == set(roots)
    assert [by_id[r]["capability"] for r in roots] == ["general", "code", "general"]
    assert [by_id[r]["acceptance"] for r in roots] == [None, "python", "json"]
    assert "history of the bicycle" in by_id[roots[0]]["instructions"]


async def test_sequencing_words_and_back_references_chain_steps() -> None:
    steps = await plan_for(
        "Write a CSV parser in Python. Then benchmark it against the csv module, "
        "and finally write a 200-word report on the results."
    )
    graph = check_dag(steps, 12)
    assert nx.is_directed_acyclic_graph(graph)
    assert [s["id"] for s in steps] == list(nx.topological_sort(graph))
    assert nx.dag_longest_path_length(graph) == len(steps) - 1  # a chain
    assert steps[0]["capability"] == "code"
    assert steps[0]["acceptance"] == "python"
    assert steps[-1]["acceptance"] == "max_words:200"


async def test_math_and_reasoning_parts_are_tagged() -> None:
    steps = await plan_for(
        "Calculate the monthly payment on a 30-year mortgage. "
        "Analyze the pros and cons of refinancing."
    )
    assert [s["capability"] for s in steps[:2]] == ["math", "reasoning"]


async def test_max_steps_merges_parts_instead_of_dropping_them() -> None:
    goal = ". ".join(f"Summarize chapter {n}" for n in range(1, 11))
    steps = await plan_for(goal, max_steps=3)
    check_dag(steps, 3)
    text = " ".join(s["instructions"] for s in steps)
    assert all(f"chapter {n}" in text for n in range(1, 11))
    assert len(await plan_for(goal, max_steps=1)) == 1


async def test_estimates_are_sensible() -> None:
    steps = await plan_for(
        "Write a Python function that parses ISO dates, then document it briefly."
    )
    for step in steps:
        assert 100 <= step["est_output_tokens"] <= 2500
        assert step["est_input_tokens"] >= 100
    dependent = [s for s in steps if s["depends_on"]]
    assert dependent
    assert all(s["est_input_tokens"] > steps[0]["est_output_tokens"] for s in dependent)


async def test_json_mode_planner_requests_get_a_plan_too() -> None:
    steps = await plan_for("Draft a blog post and proofread it.", schema=False)
    check_dag(steps, 12)


async def test_a_reask_still_plans_the_original_goal() -> None:
    first = planner_request("Design a logo and write a tagline.")
    again = first.model_copy(
        update={
            "messages": (
                *first.messages,
                Message(role="assistant", content='{"steps": []}'),
                Message(
                    role="user", content="Your plan had errors: steps: [] is too short. Fix them."
                ),
            )
        }
    )
    response = await SIM.complete(again)
    steps = json.loads(response.text)["steps"]
    VALIDATOR.validate({"steps": steps})
    assert any("logo" in s["instructions"].lower() for s in steps)


async def test_a_drifted_contract_schema_is_still_honoured() -> None:
    drifted = json.loads(json.dumps(PLAN_JSON_SCHEMA))
    items = drifted["properties"]["steps"]["items"]
    items["properties"]["model"] = {"type": ["string", "null"]}
    items["required"].append("model")
    del items["properties"]["title"]
    items["required"].remove("title")
    drifted["properties"]["steps"]["maxItems"] = 2
    request = planner_request("Cook dinner, set the table and wash up.").model_copy(
        update={"response_format": JsonSchemaFormat(name="tokenplan_plan", schema=drifted)}
    )
    doc = json.loads((await SIM.complete(request)).text)
    jsonschema.Draft202012Validator(drifted).validate(doc)
    check_dag(doc["steps"], 2)


@pytest.mark.parametrize(
    "goal",
    ["Write a Python function that deduplicates a list of emails, then add unit tests for it."],
)
async def test_plan_steps_answered_by_the_simulator_pass_their_acceptance(goal: str) -> None:
    steps = await plan_for(goal)
    for step in steps:
        request = ChatRequest.from_prompt(
            step["instructions"], model="acme/medium", max_tokens=step["est_output_tokens"]
        )
        with call_context(capability=step["capability"], step_id=step["id"]):
            response = await SIM.complete(request)
        assert response.finish_reason == "stop"
        if step["acceptance"] == "python":
            block = python_block(response.text)
            assert block is not None
            assert parses(block)


def test_a_huge_goal_is_folded_quickly_without_losing_its_end() -> None:
    goal = ". ".join(f"Summarize document {n}" for n in range(5000))
    started = time.perf_counter()
    # Directly: the plan carries the whole 100k-character goal, more than a planner call's
    # max_tokens would let through.
    doc = build_plan(goal, max_steps=8, rng=Rng(0))
    assert time.perf_counter() - started < 10.0  # about 0.3 s when the machine is idle
    VALIDATOR.validate(doc)
    steps = doc["steps"]
    check_dag(steps, 8)
    assert "document 4999" in " ".join(s["instructions"] for s in steps)
