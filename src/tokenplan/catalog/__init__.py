"""Model catalog: bundled snapshot, OpenRouter refresh and user models."""

from tokenplan.catalog.catalog import Catalog
from tokenplan.catalog.loading import load_catalog
from tokenplan.catalog.model import CAPABILITIES, TIER_ORDER, TIERS, Capability, Model, Tier
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
