"""Which catalog models may run a step, what each would cost, and why the others may not.

A model is a candidate for a step when it is rated for the step's capability (a quality prior
above 0), usable (``available``), allowed by the include/exclude filters and required features,
and the step fits its context window and output limit. Among those, models whose prior is below
the *quality floor* are dropped as long as at least one candidate reaches it (so a free but weak
local model does not win every step on price; the floor never leaves a step without candidates).

A step that pins a model (``Step.model``) has that one candidate; the pin must name a catalog
model that passes the availability, filter and size checks (a pin may name a model not rated for
the step's capability: the user knows better; its lowest prior stands in). A config rule
(``Settings.rules``, e.g. ``code -> deepseek/deepseek-v4-flash``) restricts steps of that capability
to the rule's model when that model is a candidate, and is skipped (with a note) when it is not.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from tokenplan.catalog.catalog import Catalog
from tokenplan.catalog.model import Model
from tokenplan.errors import ConfigError, NoCandidateError, UsageError
from tokenplan.planning.schema import Step

__all__ = [
    "DEFAULT_QUALITY_FLOOR",
    "DEFAULT_REASONING_OUTPUT_FACTOR",
    "FEATURES",
    "Candidate",
    "CandidateFilter",
    "StepCandidates",
    "billed_output_tokens",
    "step_candidates",
]

#: Minimum quality prior a candidate needs while any other candidate reaches it.
DEFAULT_QUALITY_FLOOR = 0.5
#: Reasoning models bill hidden reasoning as output: assume it doubles the visible output.
DEFAULT_REASONING_OUTPUT_FACTOR = 2.0
#: Feature flags ``require_features`` may name.
FEATURES: tuple[str, ...] = ("json_schema", "tools", "streaming", "reasoning")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A model able to run a step, with the step's estimated cost on it."""

    model: Model
    cost_usd: float
    prior: float
    output_tokens: int


@dataclass(frozen=True, slots=True)
class StepCandidates:
    """The candidates of one step (by increasing cost) and why other models were dropped."""

    step: Step
    candidates: tuple[Candidate, ...]
    dropped: Mapping[str, str]
    #: ``"pinned"``, ``"rule"`` or ``""`` (free choice).
    source: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class CandidateFilter:
    """Constraints shared by every step (from settings and the runtime)."""

    available: Collection[str] | None = None
    include_models: Sequence[str] = ()
    exclude_models: Sequence[str] = ()
    include_providers: Sequence[str] = ()
    exclude_providers: Sequence[str] = ()
    require_features: Sequence[str] = ()
    rules: Mapping[str, str] = field(default_factory=dict)
    quality_floor: float = DEFAULT_QUALITY_FLOOR
    reasoning_output_factor: float = DEFAULT_REASONING_OUTPUT_FACTOR

    def __post_init__(self) -> None:
        unknown = [f for f in self.require_features if f not in FEATURES]
        if unknown:
            raise ConfigError(
                f"unknown required feature {unknown[0]!r}; expected one of {', '.join(FEATURES)}"
            )
        if not 0.0 <= self.quality_floor <= 1.0:
            raise UsageError("quality_floor must be within [0, 1]")
        if not (
            self.reasoning_output_factor >= 1.0 and math.isfinite(self.reasoning_output_factor)
        ):
            raise UsageError("reasoning_output_factor must be a finite number >= 1")

    def refusal(self, model: Model) -> str | None:
        """Why ``model`` may not be used at all (``None`` when it may)."""
        if self.available is not None and model.id not in self.available:
            return "not available (no usable endpoint)"
        if self.include_models and not any(fnmatchcase(model.id, p) for p in self.include_models):
            return "not in include_models"
        if any(fnmatchcase(model.id, p) for p in self.exclude_models):
            return "excluded by exclude_models"
        if self.include_providers and model.provider not in self.include_providers:
            return "provider not in include_providers"
        if model.provider in self.exclude_providers:
            return "provider excluded by exclude_providers"
        for feature in self.require_features:
            if not getattr(model, feature):
                return f"lacks required feature {feature}"
        return None


def billed_output_tokens(model: Model, step: Step, *, reasoning_output_factor: float) -> int:
    """Output tokens the step is expected to be billed on ``model`` (reasoning included)."""
    if model.reasoning:
        return math.ceil(step.est_output_tokens * reasoning_output_factor)
    return step.est_output_tokens


def _size_refusal(model: Model, step: Step, output_tokens: int) -> str | None:
    if output_tokens > model.max_output_tokens:
        return f"max output {model.max_output_tokens} tokens < ~{output_tokens} needed"
    if step.est_input_tokens + output_tokens > model.context_window:
        return (
            f"context window {model.context_window} tokens < ~"
            f"{step.est_input_tokens + output_tokens} needed"
        )
    return None


def _candidate(model: Model, step: Step, flt: CandidateFilter, prior: float) -> Candidate:
    out = billed_output_tokens(model, step, reasoning_output_factor=flt.reasoning_output_factor)
    cost = model.worst_case_cost(step.est_input_tokens, out)
    return Candidate(model=model, cost_usd=cost, prior=min(prior, 1.0), output_tokens=out)


def _by_cost(cands: list[Candidate]) -> tuple[Candidate, ...]:
    return tuple(sorted(cands, key=lambda c: (c.cost_usd, -c.prior, c.model.id)))


def step_candidates(step: Step, catalog: Catalog, flt: CandidateFilter) -> StepCandidates:
    """The candidates for ``step``; :class:`NoCandidateError` when there are none."""
    if step.model is not None:
        return _pinned(step, catalog, flt)
    cap = step.capability
    ruled = flt.rules.get(cap)
    note = ""
    if ruled is not None:
        model = catalog.get(ruled)  # UnknownModelError names close matches
        why = _refusal_for_step(model, step, flt)
        if why is None:
            only = _candidate(model, step, flt, model.prior(cap))
            return StepCandidates(step, (only,), {}, source="rule", note=f"rule {cap} -> {ruled}")
        note = f"rule {cap} -> {ruled} skipped: {why}"

    dropped: dict[str, str] = {}
    cands: list[Candidate] = []
    for model in catalog:
        why = _refusal_for_step(model, step, flt)
        if why is not None:
            dropped[model.id] = why
        else:
            cands.append(_candidate(model, step, flt, model.prior(cap)))
    if any(c.prior >= flt.quality_floor for c in cands):
        for c in cands:
            if c.prior < flt.quality_floor:
                dropped[c.model.id] = f"prior {c.prior:.2f} below the quality floor"
        cands = [c for c in cands if c.prior >= flt.quality_floor]
    if not cands:
        raise NoCandidateError(
            f"no model can run step '{step.id}' ({cap}, ~{step.est_input_tokens} input and "
            f"~{step.est_output_tokens} output tokens): {_summary(dropped)}",
            reasons=dropped,
        )
    return StepCandidates(step, _by_cost(cands), dropped, note=note)


def _refusal_for_step(model: Model, step: Step, flt: CandidateFilter) -> str | None:
    if model.prior(step.capability) <= 0:
        return f"not rated for {step.capability}"
    why = flt.refusal(model)
    if why is not None:
        return why
    out = billed_output_tokens(model, step, reasoning_output_factor=flt.reasoning_output_factor)
    return _size_refusal(model, step, out)


def _pinned(step: Step, catalog: Catalog, flt: CandidateFilter) -> StepCandidates:
    assert step.model is not None
    model = catalog.get(step.model)
    why = flt.refusal(model)
    if why is None:
        out = billed_output_tokens(model, step, reasoning_output_factor=flt.reasoning_output_factor)
        why = _size_refusal(model, step, out)
    if why is not None:
        raise UsageError(f"step '{step.id}' pins {model.id}, which cannot be used: {why}")
    if model.can(step.capability):
        prior, note = model.prior(step.capability), "pinned in the plan"
    else:
        prior = min(model.quality.values(), default=DEFAULT_QUALITY_FLOOR)
        note = f"pinned in the plan (not rated for {step.capability})"
    only = _candidate(model, step, flt, max(prior, 1e-6))
    return StepCandidates(step, (only,), {}, source="pinned", note=note)


def _summary(dropped: Mapping[str, str]) -> str:
    if not dropped:
        return "the catalog is empty"
    counts: dict[str, int] = {}
    examples: dict[str, str] = {}
    for why in dropped.values():
        key = re.sub(r"[0-9][0-9.,]*", "N", why)  # one line per kind of reason
        counts[key] = counts.get(key, 0) + 1
        examples.setdefault(key, why)
    top = sorted(counts, key=lambda k: -counts[k])[:3]
    return "; ".join(
        f"{counts[k]} {'model' if counts[k] == 1 else 'models'}: {examples[k]}" for k in top
    )
