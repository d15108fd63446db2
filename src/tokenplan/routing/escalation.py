"""The escalation ladder of a routing decision: where a rejected answer goes next.

The rule (DESIGN.md, "Escalation and failure"): when a model's answer fails its acceptance
check, or the model cannot be used, the work moves to the *next tier up* with the same
capability, never downward. Within a tier, the model is the one the router ranks first for the
prompt: the decision's :attr:`~tokenplan.routing.decision.RouteDecision.ladder` already holds
every viable model for the prompt's capability, in the strategy's order, under the same
constraints and budget. Tiers with no viable model are skipped.

``local`` models sit outside the paid ladder: a local model escalates to the paid tiers from
``budget`` up, and paid models never escalate to a local one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokenplan.catalog.model import TIER_ORDER

if TYPE_CHECKING:
    from tokenplan.catalog.model import Model
    from tokenplan.routing.decision import RouteDecision

__all__ = ["escalation_ladder", "tier_rank"]


def tier_rank(tier: str) -> int:
    """Position of ``tier`` on the escalation ladder (``local`` = -1, below ``budget``)."""
    return TIER_ORDER.index(tier) if tier in TIER_ORDER else -1


def escalation_ladder(decision: RouteDecision) -> tuple[Model, ...]:
    """The chosen model, then the router's best-ranked viable model of each higher tier."""
    chosen = decision.model
    rungs: list[Model] = [chosen]
    current = tier_rank(chosen.tier)
    best_of: dict[str, Model] = {}
    for candidate in decision.ladder:  # the strategy's order: first seen is best ranked
        best_of.setdefault(candidate.model.tier, candidate.model)
    for tier in TIER_ORDER:
        model = best_of.get(tier)
        if model is not None and tier_rank(tier) > current and model.id != chosen.id:
            rungs.append(model)
    return tuple(rungs)
