"""Explore the model catalog from Python: cheapest capable model per tier, and a cost estimate.

    python examples/02_catalog.py

Uses the same layered catalog as ``tokenplan models`` (bundled snapshot, the OpenRouter refresh
cache and your models.toml), so local models you declared show up too. No network, no keys.
"""

from __future__ import annotations

from tokenplan import Settings, cost_usd, load_catalog
from tokenplan.catalog import TIER_ORDER


def main() -> None:
    catalog = load_catalog(Settings.load())
    print(f"{len(catalog)} models from {', '.join(catalog.providers)}")

    # The cheapest model per tier that is offered for code, with its prior.
    for tier in TIER_ORDER:
        candidates = catalog.filter(capability="code", tier=tier)
        cheapest = min(candidates, key=lambda m: m.input_per_mtok + m.output_per_mtok)
        print(f"{tier:9} {cheapest.id:45} code prior {cheapest.prior('code'):.2f}")

    # What a 2,000-token prompt with a 500-token answer costs on the savings baseline.
    baseline = catalog.get("gpt-5")  # aliases resolve to catalog ids
    usd = cost_usd(baseline, input_tokens=2_000, output_tokens=500)
    print(f"{baseline.id}: ${usd:.5f} for 2,000 in + 500 out")


if __name__ == "__main__":
    main()
