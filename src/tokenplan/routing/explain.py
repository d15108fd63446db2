"""Why a model was chosen, and why every other one was not.

Everything here runs only when a decision is explained (``--explain``, ``decision.ladder``,
``decision.dropped``) or when routing fails; a plain decision never calls it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from tokenplan.money import format_usd
from tokenplan.routing import strategies as st
from tokenplan.routing.decision import Candidate

if TYPE_CHECKING:
    from tokenplan.catalog.model import Model
    from tokenplan.routing.classifier import Classification

__all__ = ["Call", "dropped", "hard_reason", "ladder", "none_fits_message", "reason_line"]

_EPS_USD = 1e-12


class Call:
    """One route call's resolved parameters (what every explanation needs)."""

    __slots__ = (
        "budget",
        "capability",
        "classification",
        "complexity",
        "features",
        "forced",
        "input_tokens",
        "latency",
        "max_tokens",
        "notes",
        "pool",
        "requested",
        "strategy",
        "text",
    )

    def __init__(
        self,
        *,
        text: str,
        input_tokens: int,
        max_tokens: int,
        budget: float | None,
        features: frozenset[str],
        capability: str,
        forced: bool,
        classification: Classification,
        strategy: str,
        requested: str,
        latency: bool,
        pool: tuple[Model, ...],
        notes: list[str],
    ) -> None:
        self.text = text
        self.input_tokens = input_tokens
        self.max_tokens = max_tokens
        self.budget = budget
        self.features = features
        self.capability = capability
        self.forced = forced
        self.classification = classification
        self.complexity: str = classification.complexity
        self.strategy = strategy
        self.requested = requested
        self.latency = latency
        self.pool = pool
        self.notes = notes


def hard_reason(
    m: Model,
    call: Call,
    static: Mapping[str, str],
    *,
    budget: float | None,
    need_capability: bool = True,
) -> str | None:
    """Why ``m`` cannot take ``call`` (every constraint but the quality floor), or ``None``."""
    why = static.get(m.id)
    if why is not None:
        return why
    missing = [f for f in sorted(call.features) if not getattr(m, f)]
    if missing:
        return f"lacks {', '.join(missing)}"
    cap = call.capability
    if need_capability and cap not in m.quality:
        return f"not offered for {cap}"
    need = call.input_tokens + call.max_tokens
    if call.max_tokens > m.max_output_tokens:
        return f"max output {m.max_output_tokens:,} tokens < max_tokens {call.max_tokens:,}"
    if need > m.context_window:
        return f"context too small: needs {need:,} tokens, has {m.context_window:,}"
    if budget is not None:
        cost = m.worst_case_cost(call.input_tokens, call.max_tokens)
        if cost > budget + _EPS_USD:
            return f"over budget: est. {format_usd(cost)} > {format_usd(budget)}"
    return None


def dropped(
    catalog: tuple[Model, ...],
    call: Call,
    static: Mapping[str, str],
    *,
    budget: float | None,
    floor: float,
    kept: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """Model id -> drop reason, for every catalog model not in ``kept``."""
    out: dict[str, str] = {}
    cap = call.capability
    for m in catalog:
        if m.id in kept:
            continue
        why = hard_reason(m, call, static, budget=budget)
        if why is None and m.quality.get(cap, 0.0) < floor:
            why = (
                f"below the quality floor {floor:.2f} for this prompt ({cap} {m.quality[cap]:.2f})"
            )
        out[m.id] = why or "ranked out"
    return out


def ladder(
    chosen: Model,
    call: Call,
    static: Mapping[str, str],
    *,
    strategy: str,
    floor: float,
    budget: float | None,
    penalties: Mapping[str, float],
) -> tuple[Candidate, ...]:
    """Every viable model for ``call``, ``chosen`` first, then by the strategy's score."""
    aversion = st.COST_AVERSION[call.complexity]
    cap = call.capability
    rungs: list[Candidate] = []
    for m in call.pool:
        if m is not chosen and (
            m.quality.get(cap, -1.0) < floor or hard_reason(m, call, static, budget=budget)
        ):
            continue
        q = m.quality.get(cap, 0.0)
        cost = m.worst_case_cost(call.input_tokens, call.max_tokens)
        if strategy == "cheapest":
            score = -cost
        elif strategy == "best_quality":
            score = q
        else:
            score = st.utility(q, cost, cost_aversion=aversion, penalty=penalties.get(m.id, 0.0))
        rungs.append(Candidate(m, q, cost, score))
    rungs.sort(key=lambda c: (c.model is not chosen, -c.score, c.estimated_cost_usd, -c.quality))
    return tuple(rungs)


def reason_line(call: Call, pick: st.Pick, floor: float) -> str:
    """The decision's one-line reason for a strategy pick."""
    m, q, cap = pick.entry.model, pick.entry.quality, call.capability
    what = f"{call.complexity} {cap} prompt"
    if call.strategy == "cheapest":
        bar = f"quality >= {floor:.2f}" if floor > 0 else f"any {cap} model"
        return f"cheapest with {bar} for a {what}: {m.id} ({cap} {q:.2f})"
    if call.strategy == "best_quality":
        return f"highest {cap} quality within the constraints: {m.id} ({q:.2f})"
    lam = st.COST_AVERSION[call.complexity]
    return (
        f"best quality for the price on a {what}: {m.id} ({cap} {q:.2f}); "
        f"a 10x dearer model must add {lam:.2f} quality to win"
    )


def none_fits_message(capability: str, reasons: Mapping[str, str]) -> str:
    """Error text when no model can take the prompt at any price, grouped by reason."""
    counts: dict[str, int] = {}
    for why in reasons.values():
        key = why.split(":")[0]
        counts[key] = counts.get(key, 0) + 1
    summary = ", ".join(f"{k} ({n})" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    return f"no model can take this {capability} prompt: {summary}"
