"""Model catalog: bundled snapshot, OpenRouter refresh and user models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tokenplan.catalog.catalog import Catalog
from tokenplan.catalog.loading import load_catalog
from tokenplan.catalog.model import CAPABILITIES, TIER_ORDER, TIERS, Capability, Model, Tier

if TYPE_CHECKING:
    from tokenplan.catalog.tiers import TierRule

__all__ = [
    "CAPABILITIES",
    "TIERS",
    "TIER_ORDER",
    "Capability",
    "Catalog",
    "Model",
    "Tier",
    "TierRule",
    "load_catalog",
]


def __getattr__(name: str) -> Any:
    # TierRule is only needed to classify new models; keep it off every command's start-up.
    if name == "TierRule":
        from tokenplan.catalog.tiers import TierRule

        return TierRule
    raise AttributeError(f"module 'tokenplan.catalog' has no attribute {name!r}")
