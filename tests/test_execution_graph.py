"""Step graphs: accepted shapes, validation problems, topological order, critical path."""

from __future__ import annotations

import functools
import itertools
import subprocess
import sys

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenplan.errors import InvalidPlanError
from tokenplan.execution import DagIndex, critical_path
from tokenplan.execution.graph import dependencies_of


def test_mapping_and_digraph_give_the_same_dependencies() -> None:
    g = nx.DiGraph()
    g.add_nodes_from(["a", "b", "c"])
    g.add_edges_from([("a", "b"), ("a", "c"), ("b", "c")])
    assert dependencies_of(g) == {"a": (), "b": ("a",), "c": ("a", "b")}
    assert dependencies_of({"a": [], "b": "a", "c": ["a", "b", "a"]}) == dependencies_of(g)


@pytest.mark.parametrize(
    ("graph", "problem"),
    [
        ({"a": ["a"]}, "step 'a' depends on itself"),
        ({"a": ["ghost"]}, "step 'a' depends on unknown step 'ghost'"),
        ({"a": ["b"], "b": ["c"], "c": ["a"], "d": []}, "dependency cycle: a -> c -> b -> a"),
        ({1: []}, "step ids must be strings, got 1"),
        (nx.Graph([("a", "b")]), "must be directed"),
        ([("a", "b")], "must be a mapping or a networkx DiGraph, not list"),
    ],
)
def test_invalid_graphs_name_the_problem(graph: object, problem: str) -> None:
    with pytest.raises(InvalidPlanError) as info:
        DagIndex.build(graph)  # type: ignore[arg-type]
    assert any(problem in p for p in info.value.problems), info.value.problems


def test_every_problem_is_listed() -> None:
    with pytest.raises(InvalidPlanError) as info:
        DagIndex.build({"a": ["x"], "b": ["b"], "c": ["y"]})
    assert len(info.value.problems) == 3


@st.composite
def random_digraphs(draw: st.DrawFn) -> dict[str, list[str]]:
    n = draw(st.integers(0, 12))
    ids = [f"n{i}" for i in range(n)]
    return {
        sid: draw(st.lists(st.sampled_from(ids), max_size=3, unique=True)) if ids else []
        for sid in ids
    }


@settings(max_examples=200)
@given(random_digraphs())
def test_validation_agrees_with_networkx(graph: dict[str, list[str]]) -> None:
    g = nx.DiGraph()
    g.add_nodes_from(graph)
    g.add_edges_from((d, s) for s, deps in graph.items() for d in deps)
    if not nx.is_directed_acyclic_graph(g):
        with pytest.raises(InvalidPlanError):
            DagIndex.build(graph)
        return
    dag = DagIndex.build(graph)
    position = {dag.ids[i]: k for k, i in enumerate(dag.topo)}
    assert sorted(position) == sorted(graph)
    for step, deps in graph.items():
        assert all(position[d] < position[step] for d in deps)

    weights = {sid: float(len(sid) + i % 3) for i, sid in enumerate(graph)}

    @functools.cache
    def longest_from(sid: str) -> float:  # independent recursive definition
        dependents = [s for s, deps in graph.items() if sid in deps]
        return weights[sid] + max((longest_from(s) for s in dependents), default=0.0)

    levels = dag.bottom_levels(weights)
    assert levels == [longest_from(sid) for sid in dag.ids]
    length, path = critical_path(graph, weights)
    assert length == max(levels, default=0.0)
    if path:
        assert sum(weights[s] for s in path) == length
        assert all(a in graph[b] for a, b in itertools.pairwise(path))


def test_critical_path_of_a_small_plan() -> None:
    graph = {"research": [], "outline": ["research"], "draft": ["outline"], "images": []}
    durations = {"research": 2.0, "outline": 1.0, "draft": 3.0, "images": 5.0}
    assert critical_path(graph, durations) == (6.0, ("research", "outline", "draft"))
    assert critical_path({}, {}) == (0.0, ())


def test_the_scheduler_does_not_import_networkx() -> None:
    code = "import sys, tokenplan.execution; print('networkx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
