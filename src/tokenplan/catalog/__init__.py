"""Model catalog: bundled snapshot, OpenRouter refresh and user models."""

from tokenplan.catalog.catalog import Catalog
from tokenplan.catalog.model import CAPABILITIES, TIER_ORDER, TIERS, Capability, Model, Tier

__all__ = ["CAPABILITIES", "TIERS", "TIER_ORDER", "Capability", "Catalog", "Model", "Tier"]
