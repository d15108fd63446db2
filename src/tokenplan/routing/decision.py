"""What the router returns: the choice, the ladder of alternatives, and - lazily - why others lost.

The decision is made first and explained only when asked: :attr:`RouteDecision.ladder` and
:attr:`RouteDecision.dropped` are computed on first access (one pass over the catalog), so a
plain route call never pays for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from tokenplan.catalog.model import Model
    from tokenplan.routing.classifier import Classification

__all__ = ["Candidate", "RouteDecision"]


class Candidate(NamedTuple):
    """A rung of the ladder: a model that passes every hard constraint for this prompt.

    ``quality`` is the model's prior for the routed capability, ``estimated_cost_usd`` the call's
    worst case, ``score`` the value the strategy ranks by (higher first): the utility for
    ``balanced``, the quality for ``best_quality``, the negated cost for ``cheapest``.
    """

    model: Model
    quality: float
    estimated_cost_usd: float
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.id,
            "provider": self.model.provider,
            "tier": self.model.tier,
            "quality": self.quality,
            "estimated_cost_usd": _usd(self.estimated_cost_usd),
            "score": round(self.score, 6),
        }


# (ladder, dropped) computed on demand by the router.
Explainer = Callable[[], tuple[tuple[Candidate, ...], dict[str, str]]]


class RouteDecision:
    """The router's answer for one prompt.

    Attributes:
        model: the chosen catalog model.
        strategy: the canonical strategy used (``cheapest``, ``balanced``, ``best_quality``);
            ``requested`` is the name or alias asked for (``auto:latency``, ...).
        capability, complexity: what the prompt needs (``capability_forced`` if given).
        classification: the classifier's full answer (scores and signals).
        estimated_input_tokens, max_tokens: the token counts the costs assume.
        estimated_cost_usd: the chosen call's worst case in USD.
        quality: the chosen model's prior for the capability; ``quality_floor`` the floor the
            strategy applied (0 when none, or when it had to be relaxed).
        budget_usd: the ceiling applied (``None``: none).
        within_budget: ``False`` only when a non-strict route had to exceed the budget.
        reason: one line saying why this model.
        notes: further remarks (a rule that did not fit, a relaxed quality floor, ...).
    """

    __slots__ = (
        "_cache",
        "_describe",
        "_explain",
        "_reason",
        "budget_usd",
        "capability",
        "capability_forced",
        "classification",
        "complexity",
        "estimated_cost_usd",
        "estimated_input_tokens",
        "max_tokens",
        "model",
        "notes",
        "prompt_chars",
        "quality",
        "quality_floor",
        "requested",
        "strategy",
        "within_budget",
    )

    def __init__(
        self,
        *,
        model: Model,
        strategy: str,
        requested: str,
        capability: str,
        capability_forced: bool,
        complexity: str,
        classification: Classification,
        estimated_input_tokens: int,
        max_tokens: int,
        estimated_cost_usd: float,
        quality: float,
        quality_floor: float,
        budget_usd: float | None,
        within_budget: bool,
        reason: str | Callable[[], str],
        notes: tuple[str, ...],
        prompt_chars: int,
        explain: Explainer,
    ) -> None:
        self.model = model
        self.strategy = strategy
        self.requested = requested
        self.capability = capability
        self.capability_forced = capability_forced
        self.complexity = complexity
        self.classification = classification
        self.estimated_input_tokens = estimated_input_tokens
        self.max_tokens = max_tokens
        self.estimated_cost_usd = estimated_cost_usd
        self.quality = quality
        self.quality_floor = quality_floor
        self.budget_usd = budget_usd
        self.within_budget = within_budget
        self._reason = reason if isinstance(reason, str) else None
        self._describe = reason
        self.notes = notes
        self.prompt_chars = prompt_chars
        self._explain = explain
        self._cache: tuple[tuple[Candidate, ...], dict[str, str]] | None = None

    def __repr__(self) -> str:
        return (
            f"RouteDecision(model={self.model.id!r}, strategy={self.strategy!r}, "
            f"capability={self.capability!r}, complexity={self.complexity!r}, "
            f"estimated_cost_usd={self.estimated_cost_usd:.6g})"
        )

    @property
    def reason(self) -> str:
        """One line: why this model (built on first access)."""
        if self._reason is None:
            describe = self._describe
            self._reason = describe if isinstance(describe, str) else describe()
        return self._reason

    def _explained(self) -> tuple[tuple[Candidate, ...], dict[str, str]]:
        if self._cache is None:
            self._cache = self._explain()
        return self._cache

    @property
    def ladder(self) -> tuple[Candidate, ...]:
        """Every viable model, best first (the chosen model is rung 0): for fallback/escalation."""
        return self._explained()[0]

    @property
    def dropped(self) -> Mapping[str, str]:
        """Model id -> why it is not on the ladder, for every other catalog model."""
        return self._explained()[1]

    def to_dict(self, *, explain: bool = False) -> dict[str, Any]:
        """The documented JSON shape of ``tokenplan route --json`` (``dropped`` with explain)."""
        from tokenplan.tokens import tokenizer_name

        d: dict[str, Any] = {
            "model": self.model.id,
            "provider": self.model.provider,
            "tier": self.model.tier,
            "strategy": self.strategy,
            "requested_strategy": self.requested,
            "capability": self.capability,
            "capability_forced": self.capability_forced,
            "complexity": self.complexity,
            "quality": self.quality,
            "quality_floor": round(self.quality_floor, 4),
            "estimated_input_tokens": self.estimated_input_tokens,
            "token_estimator": tokenizer_name(self.prompt_chars),
            "max_tokens": self.max_tokens,
            "estimated_cost_usd": _usd(self.estimated_cost_usd),
            "budget_usd": self.budget_usd,
            "within_budget": self.within_budget,
            "reason": self.reason,
            "notes": list(self.notes),
            "ladder": [c.to_dict() for c in self.ladder],
        }
        if explain:
            d["classification"] = self.classification.to_dict()
            d["dropped"] = [{"model": k, "reason": v} for k, v in self.dropped.items()]
        return d


def _usd(value: float) -> float:
    """Round a USD amount for display/JSON without hiding sub-micro-dollar costs."""
    return float(f"{value:.6g}")
