"""The price-band rule that puts a paid model in the ``budget``, ``mid`` or ``flagship`` tier.

A tier is a *price class*: escalation climbs from cheaper to dearer classes, and the quality
priors (not the tier) say how good a model is. The rule is kept in the curation table
(``scripts/catalog_curation.toml``, ``[tier_rule]``) and copied into the bundled
``models.json`` by the build, so the catalog build and ``tokenplan models refresh`` classify
with the very same numbers.

The blended price weights input and output per million tokens (3:1 by default, the usual
shape of chat traffic), and the bands are half-open: ``budget`` below ``budget_below_usd``,
``flagship`` from ``flagship_from_usd`` up, ``mid`` in between.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tokenplan.catalog.model import Tier

__all__ = ["DEFAULT_TIER_RULE", "TierRule"]


@dataclass(frozen=True, slots=True)
class TierRule:
    """Blended-price bands, in USD per million tokens."""

    input_weight: float = 3.0
    output_weight: float = 1.0
    budget_below_usd: float = 0.60
    flagship_from_usd: float = 3.00

    def __post_init__(self) -> None:
        if self.input_weight < 0 or self.output_weight < 0:
            raise ValueError("tier rule weights must be >= 0")
        if self.input_weight + self.output_weight <= 0:
            raise ValueError("tier rule weights must not both be 0")
        if not 0 < self.budget_below_usd < self.flagship_from_usd:
            raise ValueError("tier rule needs 0 < budget_below_usd < flagship_from_usd")

    def blended_usd(self, input_per_mtok: float, output_per_mtok: float) -> float:
        """Blended USD per million tokens."""
        total = self.input_weight + self.output_weight
        return (self.input_weight * input_per_mtok + self.output_weight * output_per_mtok) / total

    def tier_for(self, input_per_mtok: float, output_per_mtok: float) -> Tier:
        """The paid tier of a model with these prices."""
        blended = self.blended_usd(input_per_mtok, output_per_mtok)
        if blended < self.budget_below_usd:
            return "budget"
        if blended >= self.flagship_from_usd:
            return "flagship"
        return "mid"

    def to_dict(self) -> dict[str, float]:
        return {
            "input_weight": self.input_weight,
            "output_weight": self.output_weight,
            "budget_below_usd": self.budget_below_usd,
            "flagship_from_usd": self.flagship_from_usd,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TierRule:
        """Build from the ``[tier_rule]`` table; unknown or non-numeric keys raise ValueError."""
        known = {"input_weight", "output_weight", "budget_below_usd", "flagship_from_usd"}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown tier rule keys: {', '.join(unknown)}")
        values: dict[str, float] = {}
        for key, value in d.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"tier rule {key} must be a number")
            values[key] = float(value)
        return cls(**values)


DEFAULT_TIER_RULE = TierRule()
