"""Plan validation: every problem of a plan, each as one precise line.

Rules (all checked in one pass, so a repair request can list everything at once):

* shape: the answer is a JSON object with a non-empty ``steps`` array; each step is an object
  with the contract's fields (``depends_on`` and ``acceptance`` may be omitted), no unknown
  fields (a typo such as ``depend_on`` must not silently drop dependencies), a slug ``id``, a
  known ``capability``, positive token estimates, non-empty ``title`` and ``instructions``, a
  well-formed acceptance spec. Unknown top-level fields are ignored.
* duplicate ids;
* a step that depends on itself;
* dependencies on unknown ids (with the closest existing id as a hint);
* cycles, each reported with its path in ``depends_on`` direction (``a -> b -> a``: ``a``
  depends on ``b``, which depends on ``a``), one per strongly connected group of steps;
* too many steps (limit: ``max_steps``, from ``Settings.max_steps``);
* orphans: in a plan of more than one step, a step that depends on nothing and that nothing
  depends on. Its work neither builds on the plan nor feeds the rest of it, which in planner
  output almost always means a forgotten dependency; independent parts of a goal should meet
  in a final step that assembles them. A step whose only dependencies are unknown ids or itself
  is reported for those problems; orphan status looks only at declared links.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from tokenplan.catalog.model import CAPABILITIES
from tokenplan.errors import InvalidPlanError, PlanParseError
from tokenplan.planning.schema import Plan, Step

__all__ = [
    "check_plan",
    "dag_problems",
    "extract_json",
    "parse_plan",
    "validate_plan",
]

_FENCE_RE = re.compile(r"```[a-zA-Z0-9_-]*[ \t]*\n(.*?)```", re.DOTALL)


def extract_json(text: str) -> Any:
    """Decode a model's JSON answer, tolerating code fences and a line of prose around it.

    :class:`PlanParseError` (``raw`` = the answer) when no JSON value can be decoded.
    """
    body = text.strip()
    fenced = _FENCE_RE.search(body)
    if fenced:
        body = fenced.group(1).strip()
    elif body and body[0] not in "{[":
        start, end = body.find("{"), body.rfind("}")
        if 0 <= start < end:
            body = body[start : end + 1]
    if not body:
        raise PlanParseError("the answer is empty", raw=text)
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise PlanParseError(f"the answer is not valid JSON: {exc}", raw=text) from None


def parse_plan(
    answer: str | Mapping[str, Any],
    *,
    goal: str,
    max_steps: int | None = None,
    allow_pins: bool = True,
) -> Plan:
    """Build a valid :class:`Plan` from a planner answer or a decoded plan document.

    ``answer`` is JSON text (fences tolerated) or an already decoded object. Raises
    :class:`PlanParseError` when there is no object with a ``steps`` array, and
    :class:`InvalidPlanError` listing every problem otherwise. ``allow_pins=False`` rejects a
    ``model`` field on steps (the planner must not choose models; ``plan.json`` may).
    """
    raw = answer if isinstance(answer, str) else ""
    data = extract_json(answer) if isinstance(answer, str) else answer
    if not isinstance(data, Mapping):
        kind = type(data).__name__ if not isinstance(data, list) else "an array"
        raise PlanParseError(f"expected a JSON object with a 'steps' array, got {kind}", raw=raw)
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list):
        raise PlanParseError("expected a JSON object with a 'steps' array", raw=raw)
    if not raw_steps:
        raise InvalidPlanError(["the plan has no steps"])

    problems: list[str] = []
    steps: list[Step] = []
    skeleton: list[tuple[str, Sequence[str]]] = []
    for pos, item in enumerate(raw_steps, start=1):
        if not isinstance(item, Mapping):
            problems.append(f"step #{pos} is not an object")
            continue
        label = _label(item, pos)
        if not allow_pins and "model" in item:
            problems.append(f"{label}: unknown field 'model' (models are chosen by the allocator)")
            item = {k: v for k, v in item.items() if k != "model"}
        try:
            steps.append(Step.model_validate(item))
        except ValidationError as exc:
            problems.extend(f"{label}: {_describe(e)}" for e in exc.errors())
        sid, deps = item.get("id"), item.get("depends_on", [])
        if isinstance(sid, str):
            dep_ids = [d for d in deps if isinstance(d, str)] if isinstance(deps, list) else []
            skeleton.append((sid, dep_ids))
    problems.extend(dag_problems(skeleton, max_steps=max_steps))
    if problems:
        raise InvalidPlanError(problems)
    return Plan(goal=goal, steps=tuple(steps))


def check_plan(plan: Plan, *, max_steps: int | None = None) -> list[str]:
    """Every DAG problem of an already built plan (empty when it is valid)."""
    if not plan.steps:
        return ["the plan has no steps"]
    return dag_problems([(s.id, s.depends_on) for s in plan.steps], max_steps=max_steps)


def validate_plan(plan: Plan, *, max_steps: int | None = None) -> Plan:
    """Return ``plan`` if it follows every rule, else raise :class:`InvalidPlanError`."""
    problems = check_plan(plan, max_steps=max_steps)
    if problems:
        raise InvalidPlanError(problems)
    return plan


def dag_problems(
    nodes: Sequence[tuple[str, Sequence[str]]], *, max_steps: int | None = None
) -> list[str]:
    """The DAG rules over ``(step id, dependency ids)`` pairs, in plan order.

    Order of the messages: too many steps, duplicates, self-dependencies, unknown
    dependencies, cycles, orphans.
    """
    problems: list[str] = []
    if max_steps is not None and len(nodes) > max_steps:
        problems.append(
            f"too many steps: {len(nodes)} (the limit is {max_steps}; merge small steps)"
        )

    positions: dict[str, list[int]] = {}
    for pos, (sid, _) in enumerate(nodes, start=1):
        positions.setdefault(sid, []).append(pos)
    for sid, where in positions.items():
        if len(where) > 1:
            at = ", ".join(f"#{p}" for p in where)
            problems.append(f"duplicate step id '{sid}' (steps {at}); ids must be unique")

    known = list(positions)
    for sid, deps in nodes:
        if sid in deps:
            problems.append(f"step '{sid}' depends on itself")
    for sid, deps in nodes:
        for dep in deps:
            if dep != sid and dep not in positions:
                hint = difflib.get_close_matches(dep, known, n=1, cutoff=0.6)
                tip = f" (did you mean '{hint[0]}'?)" if hint else ""
                problems.append(f"step '{sid}' depends on unknown step '{dep}'{tip}")

    problems.extend(_cycles(nodes, positions))

    if len(nodes) > 1:
        used = {d for _, deps in nodes for d in deps}
        for sid, deps in nodes:
            if sid not in used and not any(d != sid for d in deps):
                problems.append(
                    f"step '{sid}' is disconnected: it depends on no step and no step depends "
                    "on it (add it to the depends_on of the step that uses its output)"
                )
    return problems


def _cycles(nodes: Sequence[tuple[str, Sequence[str]]], positions: Mapping[str, Any]) -> list[str]:
    import networkx as nx

    order = {sid: i for i, sid in enumerate(positions)}
    g = nx.DiGraph()  # edges step -> dependency, so a found cycle reads in depends_on direction
    g.add_nodes_from(positions)
    for sid, deps in nodes:
        g.add_edges_from((sid, d) for d in deps if d != sid and d in positions)
    found: list[tuple[int, str]] = []
    for component in nx.strongly_connected_components(g):
        if len(component) < 2:
            continue
        start = min(component, key=order.__getitem__)
        edges = nx.find_cycle(g.subgraph(component), source=start)
        cycle = [u for u, _ in edges]
        first = min(range(len(cycle)), key=lambda i: order[cycle[i]])
        cycle = cycle[first:] + cycle[:first]
        path = " -> ".join([*cycle, cycle[0]])
        found.append((order[cycle[0]], f"dependency cycle: {path}"))
    return [msg for _, msg in sorted(found)]


def _label(item: Mapping[str, Any], pos: int) -> str:
    sid = item.get("id")
    return f"step '{sid}'" if isinstance(sid, str) and sid else f"step #{pos}"


def _describe(err: ErrorDetails) -> str:
    loc = err["loc"]
    field = str(loc[0]) if loc else "step"
    where = field + "".join(f"[{p}]" for p in loc[1:])
    kind = err["type"]
    got = _short(err.get("input"))
    if kind == "missing":
        return f"missing field '{where}'"
    if kind == "extra_forbidden":
        return f"unknown field '{where}'"
    if field == "id" and kind == "string_pattern_mismatch":
        return (
            f"id {got} is not a slug (a lowercase letter, then lowercase letters, digits "
            "or '-', at most 32 characters)"
        )
    if field == "capability" and kind == "literal_error":
        return f"capability {got} is not one of {', '.join(CAPABILITIES)}"
    if kind == "greater_than_equal":
        return f"{where} must be a whole number >= 1, got {got}"
    if kind == "value_error":
        msg = err["msg"].removeprefix("Value error, ")
        return f"{where}: {msg}"
    return f"{where}: {err['msg'].lower()}, got {got}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
