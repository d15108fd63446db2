"""Which models a step may use: failover within its tier, escalation to the next tier up.

A *rung* is the model chosen for a step plus a few alternatives of the same tier rated for the
step's capability (the provider layer retries transient errors, then fails over along the
rung). When a rung's answer is rejected or the whole rung is dead, the step escalates to the
best model of the next tier up that has one (``local < budget < mid < flagship``), never
downward. "Best" is by the allocator's criteria: rated for the capability, allowed by the
settings' model and provider filters, able to hold the step, highest quality prior first (the
cheaper on ties), preferring models whose estimated cost fits what is left of the budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from tokenplan.catalog.catalog import Catalog
from tokenplan.catalog.model import Model
from tokenplan.planning.candidates import (
    DEFAULT_REASONING_OUTPUT_FACTOR,
    CandidateFilter,
    billed_output_tokens,
)
from tokenplan.planning.schema import Step

__all__ = ["TIER_RANK", "Ladder", "rung_limits"]

#: Escalation order. Local models (free) come first: a paid tier is a step up from them.
TIER_RANK: dict[str, int] = {"local": 0, "budget": 1, "mid": 2, "flagship": 3}

#: Same-tier alternatives after the chosen model, for failover.
DEFAULT_FAILOVER_WIDTH = 2


class Ladder:
    """Rungs and escalation targets for steps, over one catalog.

    ``available(model)`` says whether a model can be called now (the runtime's view, cooldowns
    included). ``flt`` carries the settings' filters; its ``available`` and ``rules`` are not
    used here (availability is asked live, and rules only steer the first choice).
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        available: Callable[[Model], bool],
        flt: CandidateFilter | None = None,
        failover_width: int = DEFAULT_FAILOVER_WIDTH,
        reasoning_output_factor: float = DEFAULT_REASONING_OUTPUT_FACTOR,
    ) -> None:
        self.catalog = catalog
        self._available = available
        self._flt = flt or CandidateFilter()
        self._width = failover_width
        self._factor = reasoning_output_factor
        self._pools: dict[str, list[Model]] = {}
        self._tiers: dict[tuple[str, str], list[Model]] = {}

    def _pool(self, capability: str) -> list[Model]:
        """Models rated for ``capability`` and allowed by the filters, best prior first."""
        pool = self._pools.get(capability)
        if pool is None:
            flt = CandidateFilter(
                include_models=self._flt.include_models,
                exclude_models=self._flt.exclude_models,
                include_providers=self._flt.include_providers,
                exclude_providers=self._flt.exclude_providers,
                require_features=self._flt.require_features,
            )
            rated = [m for m in self.catalog if m.can(capability) and flt.refusal(m) is None]
            floor = self._flt.quality_floor
            if any(m.prior(capability) >= floor for m in rated):
                rated = [m for m in rated if m.prior(capability) >= floor]
            rated.sort(key=lambda m: (-m.prior(capability), _blended(m), m.id))
            pool = self._pools[capability] = rated
        return pool

    def _tier_pool(self, capability: str, tier: str) -> list[Model]:
        key = (capability, tier)
        found = self._tiers.get(key)
        if found is None:
            found = self._tiers[key] = [m for m in self._pool(capability) if m.tier == tier]
        return found

    def fits(self, step: Step, model: Model) -> bool:
        """Whether ``model`` can hold the step's estimated input and output."""
        out = billed_output_tokens(model, step, reasoning_output_factor=self._factor)
        return (
            out <= model.max_output_tokens and step.est_input_tokens + out <= model.context_window
        )

    def estimated_cost(self, step: Step, model: Model) -> float:
        out = billed_output_tokens(model, step, reasoning_output_factor=self._factor)
        return model.worst_case_cost(step.est_input_tokens, out)

    def rung(self, step: Step, model: Model) -> list[Model]:
        """``model`` then up to ``failover_width`` usable same-tier alternatives."""
        models = [model]
        for m in self._tier_pool(step.capability, model.tier):
            if len(models) > self._width:
                break
            if m.id != model.id and self._usable(step, m):
                models.append(m)
        return models

    def next_model(
        self, step: Step, current: Model, *, budget_left_usd: float = math.inf
    ) -> Model | None:
        """The best usable model of the lowest tier above ``current``'s, or ``None``.

        Among a tier's models, those whose estimated cost fits ``budget_left_usd`` come first;
        if none does, the cheapest of the tier (its call will meet the budget, not skip it).
        """
        rank = TIER_RANK.get(current.tier, 0)
        tiers = sorted({m.tier for m in self.catalog}, key=lambda t: TIER_RANK.get(t, 0))
        for tier in tiers:
            if TIER_RANK.get(tier, 0) <= rank:
                continue
            usable = [m for m in self._tier_pool(step.capability, tier) if self._usable(step, m)]
            if not usable:
                continue
            affordable = [m for m in usable if self.estimated_cost(step, m) <= budget_left_usd]
            if affordable:
                return affordable[0]
            return min(usable, key=lambda m: (self.estimated_cost(step, m), m.id))
        return None

    def path(self, step: Step, start: Model) -> list[Model]:
        """``start`` then each escalation target in turn, ignoring the budget: the full climb."""
        models = [start]
        while (nxt := self.next_model(step, models[-1])) is not None:
            models.append(nxt)
        return models

    def _usable(self, step: Step, model: Model) -> bool:
        return self.fits(step, model) and self._available(model)


def _blended(model: Model) -> float:
    return model.input_per_mtok * 3 + model.output_per_mtok


def rung_limits(models: Sequence[Model]) -> tuple[int, int]:
    """``(context window, max output tokens)`` every model of a rung accepts."""
    return (
        min(m.context_window for m in models),
        min(m.max_output_tokens for m in models),
    )
