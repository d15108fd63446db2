"""The plan: :data:`PLAN_JSON_SCHEMA` (the planner's answer), :class:`Step` and :class:`Plan`.

A :class:`Plan` is a goal and its steps; its dependency graph (a networkx ``DiGraph`` with edges
``dependency -> step``) is built on first use and cached. Constructing a ``Plan`` checks field
shapes only; the DAG rules (unique ids, known dependencies, no cycles, ...) live in
:mod:`tokenplan.planning.validate`, which collects every problem at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from tokenplan.catalog.model import CAPABILITIES, Capability
from tokenplan.planning.acceptance import parse_acceptance

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "PLAN_JSON_SCHEMA",
    "STEP_ID_PATTERN",
    "Plan",
    "Step",
    "StepWeight",
    "step_latency_weight",
    "step_token_weight",
]

#: A step id: a lowercase slug of at most 32 characters.
STEP_ID_PATTERN = "^[a-z][a-z0-9-]{0,31}$"

#: The JSON schema of the planner's answer (the plan contract; the simulator produces instances
#: of exactly this). Sent as ``JsonSchemaFormat(name="tokenplan_plan", schema=...)``.
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
                    "id": {"type": "string", "pattern": STEP_ID_PATTERN},
                    "title": {"type": "string"},
                    "instructions": {"type": "string"},
                    "capability": {"type": "string", "enum": list(CAPABILITIES)},
                    "depends_on": {"type": "array", "items": {"type": "string"}},
                    "est_input_tokens": {"type": "integer", "minimum": 1},
                    "est_output_tokens": {"type": "integer", "minimum": 1},
                    "acceptance": {"type": ["string", "null"]},
                },
            },
        }
    },
}

#: Prefill is an order of magnitude faster than generation: a step's latency is modelled as
#: ``est_output_tokens + est_input_tokens * INPUT_LATENCY_RATIO`` token-times.
INPUT_LATENCY_RATIO = 0.05

#: How much a step weighs on a path: a name (``"latency"``, ``"tokens"``) or a function.
StepWeight = Literal["latency", "tokens"] | Callable[["Step"], float]


class Step(BaseModel):
    """One unit of work, run by one model call (plus escalations).

    ``model`` pins the step to a catalog model (set by hand in ``plan.json``); the allocator
    then keeps it instead of choosing.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=STEP_ID_PATTERN)
    title: str
    instructions: str
    capability: Capability
    depends_on: tuple[str, ...] = ()
    est_input_tokens: int = Field(ge=1)
    est_output_tokens: int = Field(ge=1)
    acceptance: str | None = None
    model: str | None = None

    @field_validator("title", "instructions")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v

    @field_validator("depends_on")
    @classmethod
    def _dedupe(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v))

    @field_validator("acceptance")
    @classmethod
    def _acceptance(cls, v: str | None) -> str | None:
        parse_acceptance(v)  # raises ValueError with the reason
        return v

    @field_validator("model")
    @classmethod
    def _model(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("must be a catalog model id or null")
        return v

    def to_dict(self) -> dict[str, Any]:
        """The step's JSON form (``model`` only when pinned)."""
        d = self.model_dump(mode="json")
        if d["model"] is None:
            del d["model"]
        return d


def step_latency_weight(step: Step) -> float:
    """Latency proxy in output-token times (see :data:`INPUT_LATENCY_RATIO`)."""
    return step.est_output_tokens + step.est_input_tokens * INPUT_LATENCY_RATIO


def step_token_weight(step: Step) -> float:
    """All tokens the step is expected to move (input + output)."""
    return float(step.est_input_tokens + step.est_output_tokens)


class Plan(BaseModel):
    """A goal and its steps, in the order the planner gave them.

    The DAG helpers (:attr:`graph`, :meth:`topological_order`, :meth:`critical_path`, ...) assume
    a valid plan; run :func:`tokenplan.planning.validate.validate_plan` first on untrusted input.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    goal: str
    steps: tuple[Step, ...]

    # (steps tuple the graph was built from, frozen graph): rebuilt if ``steps`` is replaced.
    _graph_cache: tuple[object, Any] | None = PrivateAttr(default=None)

    # Plans compare and hash by content; the cached graph is not part of their identity.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Plan):
            return NotImplemented
        return self.goal == other.goal and self.steps == other.steps

    def __hash__(self) -> int:
        return hash((self.goal, self.steps))

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.steps)

    def step(self, step_id: str) -> Step:
        """The step with this id (``KeyError`` if none)."""
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    @property
    def pinned(self) -> dict[str, str]:
        """Step id -> pinned model id, for the steps that pin one."""
        return {s.id: s.model for s in self.steps if s.model is not None}

    def with_pins(self, pins: dict[str, str | None]) -> Plan:
        """A copy with ``model`` set (or cleared with ``None``) on the named steps.

        ``KeyError`` for an unknown step id; ``pydantic.ValidationError`` for a blank model id.
        """
        unknown = set(pins) - set(self.ids)
        if unknown:
            raise KeyError(", ".join(sorted(unknown)))
        steps = tuple(
            Step.model_validate({**s.model_dump(), "model": pins[s.id]}) if s.id in pins else s
            for s in self.steps
        )
        return Plan(goal=self.goal, steps=steps)

    # -- graph --------------------------------------------------------------------------------

    @property
    def graph(self) -> nx.DiGraph:
        """The dependency graph (edges ``dependency -> step``), frozen; node data ``step``."""
        cache = self._graph_cache
        if cache is None or cache[0] is not self.steps:
            import networkx as nx

            g = nx.DiGraph()
            for s in self.steps:
                g.add_node(s.id, step=s)
            known = set(self.ids)
            for s in self.steps:
                g.add_edges_from((d, s.id) for d in s.depends_on if d in known)
            cache = (self.steps, nx.freeze(g))
            self._graph_cache = cache
        return cache[1]

    def dependents(self, step_id: str) -> list[str]:
        """Steps that list ``step_id`` in ``depends_on``, in plan order."""
        return [s.id for s in self.steps if step_id in s.depends_on]

    def topological_order(self) -> list[str]:
        """Step ids, every step after its dependencies; ties keep the plan's order."""
        import networkx as nx

        position = {sid: i for i, sid in enumerate(self.ids)}
        return list(nx.lexicographical_topological_sort(self.graph, key=position.__getitem__))

    def sources(self) -> list[str]:
        """Steps with no dependencies (they can start at once)."""
        return [s.id for s in self.steps if not s.depends_on]

    def sinks(self) -> list[str]:
        """Steps nothing depends on (their outputs make the result)."""
        used = {d for s in self.steps for d in s.depends_on}
        return [s.id for s in self.steps if s.id not in used]

    def path_lengths(self, weight: StepWeight = "latency") -> dict[str, float]:
        """For each step, the weight of the heaviest dependency chain that runs through it."""
        w = _weight_fn(weight)
        order = self.topological_order()
        by_id = {s.id: s for s in self.steps}
        ending: dict[str, float] = {}  # heaviest chain ending at the step (inclusive)
        for sid in order:
            step = by_id[sid]
            ending[sid] = w(step) + max((ending[d] for d in step.depends_on), default=0.0)
        starting: dict[str, float] = {}  # heaviest chain starting at the step (inclusive)
        for sid in reversed(order):
            nxt = self.graph.successors(sid)
            starting[sid] = w(by_id[sid]) + max((starting[n] for n in nxt), default=0.0)
        return {sid: ending[sid] + starting[sid] - w(by_id[sid]) for sid in order}

    def critical_path(self, weight: StepWeight = "latency") -> list[str]:
        """The heaviest dependency chain (by estimated latency by default), first step first."""
        if not self.steps:
            return []
        w = _weight_fn(weight)
        by_id = {s.id: s for s in self.steps}
        best: dict[str, tuple[float, str | None]] = {}
        for sid in self.topological_order():
            step = by_id[sid]
            prev = max(step.depends_on, key=lambda d: best[d][0], default=None)
            best[sid] = (w(step) + (best[prev][0] if prev else 0.0), prev)
        end: str | None = max(best, key=lambda s: best[s][0])
        path: list[str] = []
        while end is not None:
            path.append(end)
            end = best[end][1]
        return path[::-1]

    def criticality(self, weight: StepWeight = "latency") -> dict[str, float]:
        """Each step's heaviest chain through it over the critical path's length, in (0, 1].

        1.0 means the step is on the critical path; lower values mean slack.
        """
        through = self.path_lengths(weight)
        longest = max(through.values(), default=0.0)
        if longest <= 0 or not math.isfinite(longest):
            return dict.fromkeys(through, 1.0)
        return {sid: min(1.0, t / longest) for sid, t in through.items()}


def _weight_fn(weight: StepWeight) -> Callable[[Step], float]:
    if weight == "latency":
        return step_latency_weight
    if weight == "tokens":
        return step_token_weight
    if callable(weight):
        return weight
    raise ValueError(f"unknown step weight {weight!r}; expected 'latency', 'tokens' or a function")
