"""Dependency graphs for the scheduler: normalize, validate and index them once.

A graph is either a mapping ``step_id -> dependency ids`` or a ``networkx.DiGraph`` whose edges
point from a dependency to the step that needs it. networkx is never imported here: a DiGraph
is recognised by its shape, so the scheduler costs nothing extra to import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias, runtime_checkable

from tokenplan.errors import InvalidPlanError

__all__ = ["DagIndex", "DiGraphLike", "Graph", "critical_path", "dependencies_of"]


@runtime_checkable
class DiGraphLike(Protocol):
    """What the scheduler uses of a ``networkx.DiGraph`` (edges: dependency -> step)."""

    @property
    def pred(self) -> Mapping[Any, Mapping[Any, Any]]: ...

    def is_directed(self) -> bool: ...


#: A step graph: ``{step_id: [dependency ids]}`` or a networkx DiGraph (dependency -> step).
Graph: TypeAlias = "Mapping[str, Iterable[str]] | DiGraphLike"


def dependencies_of(graph: Graph) -> dict[str, tuple[str, ...]]:
    """``{step_id: dependency ids}`` in the graph's own order, duplicates removed.

    Raises :class:`~tokenplan.errors.InvalidPlanError` for ids that are not strings, for an
    undirected networkx graph, and for anything that is neither a mapping nor a DiGraph.
    """
    if isinstance(graph, Mapping):
        items: Iterable[tuple[Any, Iterable[Any]]] = graph.items()
    elif callable(getattr(graph, "is_directed", None)):  # a networkx graph
        if not graph.is_directed() or not isinstance(graph, DiGraphLike):
            raise InvalidPlanError(["the step graph must be directed (edges: dependency -> step)"])
        items = ((node, preds) for node, preds in graph.pred.items())
    else:
        raise InvalidPlanError(
            [f"a step graph must be a mapping or a networkx DiGraph, not {type(graph).__name__}"]
        )
    deps: dict[str, tuple[str, ...]] = {}
    problems: list[str] = []
    for step, step_deps in items:
        if isinstance(step_deps, str):
            # A lone string is an iterable of characters: almost certainly a mistake.
            step_deps = (step_deps,)
        unique = tuple(dict.fromkeys(step_deps))
        bad = [x for x in (step, *unique) if not isinstance(x, str)]
        if bad:
            problems.append(f"step ids must be strings, got {bad[0]!r}")
            continue
        deps[step] = unique
    if problems:
        raise InvalidPlanError(problems)
    return deps


@dataclass(frozen=True, slots=True)
class DagIndex:
    """A validated DAG with steps numbered ``0..n-1`` (in the graph's order).

    ``deps[i]`` and ``children[i]`` hold numbers; ``topo`` is a topological order (every step
    after its dependencies). Built once per run so the scheduler's hot path works on lists.
    """

    ids: tuple[str, ...]
    index: Mapping[str, int]
    deps: tuple[tuple[int, ...], ...]
    children: tuple[tuple[int, ...], ...]
    topo: tuple[int, ...]

    @classmethod
    def build(cls, graph: Graph) -> DagIndex:
        """Validate ``graph``; :class:`~tokenplan.errors.InvalidPlanError` lists every problem.

        Problems: a step depending on itself or on an unknown step, and dependency cycles.
        """
        named = dependencies_of(graph)
        ids = tuple(named)
        index = {sid: i for i, sid in enumerate(ids)}
        problems: list[str] = []
        deps: list[tuple[int, ...]] = []
        for sid, step_deps in named.items():
            for d in step_deps:
                if d == sid:
                    problems.append(f"step {sid!r} depends on itself")
                elif d not in index:
                    problems.append(f"step {sid!r} depends on unknown step {d!r}")
            deps.append(tuple(index[d] for d in step_deps if d in index and d != sid))
        if problems:
            raise InvalidPlanError(problems)
        children: list[list[int]] = [[] for _ in ids]
        for i, ds in enumerate(deps):
            for j in ds:
                children[j].append(i)
        topo = _topological_order(deps, children)
        if len(topo) < len(ids):
            raise InvalidPlanError([_describe_cycle(ids, deps, set(topo))])
        return cls(
            ids=ids,
            index=index,
            deps=tuple(deps),
            children=tuple(tuple(c) for c in children),
            topo=tuple(topo),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def bottom_levels(self, weights: Mapping[str, float] | None = None) -> list[float]:
        """Per step, the heaviest path from it to a sink, itself included.

        ``weights`` (default 1.0 per step) are typically estimated durations; scheduling the
        ready step with the highest bottom level first is the classic critical-path heuristic.
        """
        w = [1.0] * len(self.ids)
        if weights:
            for sid, value in weights.items():
                i = self.index.get(sid)
                if i is not None:
                    w[i] = max(0.0, float(value))
        level = [0.0] * len(self.ids)
        for i in reversed(self.topo):
            below = max((level[c] for c in self.children[i]), default=0.0)
            level[i] = w[i] + below
        return level


def _topological_order(deps: list[tuple[int, ...]], children: list[list[int]]) -> list[int]:
    """Kahn's algorithm; steps on a cycle are left out of the result."""
    missing = [len(ds) for ds in deps]
    order = [i for i, m in enumerate(missing) if m == 0]
    for i in order:  # ``order`` grows while we walk it
        for c in children[i]:
            missing[c] -= 1
            if missing[c] == 0:
                order.append(c)
    return order


def _describe_cycle(ids: tuple[str, ...], deps: list[tuple[int, ...]], ordered: set[int]) -> str:
    """Name one cycle among the steps Kahn's algorithm could not order."""
    start = next(i for i in range(len(ids)) if i not in ordered)
    seen: dict[int, int] = {}
    path: list[int] = []
    node = start
    # Every unordered step has an unordered dependency, so this walk must revisit a step.
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(d for d in deps[node] if d not in ordered)
    # Walked along dependencies; print in execution order (dependency -> dependent), starting
    # from the cycle's step that comes first in the graph.
    cycle = list(reversed(path[seen[node] :]))
    first = cycle.index(min(cycle))
    names = [ids[i] for i in cycle[first:] + cycle[:first]]
    return "dependency cycle: " + " -> ".join([*names, names[0]])


def critical_path(graph: Graph, durations_s: Mapping[str, float]) -> tuple[float, tuple[str, ...]]:
    """Length and steps of the longest path through ``graph`` weighted by ``durations_s``.

    With unlimited concurrency no schedule can finish sooner than this: it is the bound the
    benchmark compares makespans against, and a run's best-case duration estimate.
    """
    dag = DagIndex.build(graph)
    w = [max(0.0, float(durations_s.get(sid, 0.0))) for sid in dag.ids]
    finish = [0.0] * len(dag)
    best_dep: list[int | None] = [None] * len(dag)
    for i in dag.topo:
        start, via = 0.0, None
        for d in dag.deps[i]:
            if via is None or finish[d] > start:
                start, via = finish[d], d
        finish[i], best_dep[i] = start + w[i], via
    if not dag.ids:
        return 0.0, ()
    end = max(range(len(dag)), key=finish.__getitem__)
    path: list[str] = []
    node: int | None = end
    while node is not None:
        path.append(dag.ids[node])
        node = best_dep[node]
    return finish[end], tuple(reversed(path))
