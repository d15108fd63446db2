"""Synthetic catalogs for tests and benchmarks: many plausible models, reproducible by seed.

    from tokenplan.testing.catalogs import synthetic_catalog
    catalog = synthetic_catalog(330, seed=7)

Prices are log-uniform within each tier's range, quality priors grow with the tier (plus noise),
about one model in six lacks one capability, context windows and feature flags vary. Model ids
are ``synth-<provider>/<tier>-<n>``, so they never collide with real ones.
"""

from __future__ import annotations

import math
import random
from typing import Any

from tokenplan.catalog.catalog import Catalog
from tokenplan.catalog.model import CAPABILITIES

__all__ = ["model_row", "synthetic_catalog"]

# tier -> (input price range, output price range, quality centre), USD per million tokens
_TIERS: dict[str, tuple[tuple[float, float], tuple[float, float], float]] = {
    "budget": ((0.02, 0.5), (0.05, 2.0), 0.62),
    "mid": ((0.2, 3.0), (1.0, 12.0), 0.76),
    "flagship": ((1.0, 15.0), (5.0, 75.0), 0.87),
}
_CONTEXTS = (8_192, 32_768, 131_072, 200_000, 1_048_576)


def model_row(
    model_id: str,
    *,
    tier: str = "mid",
    input_per_mtok: float = 1.0,
    output_per_mtok: float = 4.0,
    quality: dict[str, float] | None = None,
    context_window: int = 128_000,
    max_output_tokens: int = 16_384,
    **flags: Any,
) -> dict[str, Any]:
    """One catalog row (the ``models.json`` row format) with sensible defaults, for tests."""
    provider = model_id.split("/", 1)[0]
    row: dict[str, Any] = {
        "id": model_id,
        "provider": provider,
        "api_name": model_id.split("/", 1)[-1],
        "tier": tier,
        "input_per_mtok": input_per_mtok,
        "output_per_mtok": output_per_mtok,
        "context_window": context_window,
        "max_output_tokens": max_output_tokens,
        "quality": quality if quality is not None else dict.fromkeys(CAPABILITIES, 0.7),
        "json_schema": True,
        "tools": True,
        "streaming": True,
        "source": "synthetic",
    }
    row.update(flags)
    return row


def _log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    return round(math.exp(rng.uniform(math.log(lo), math.log(hi))), 4)


def synthetic_catalog(n_models: int = 330, *, seed: int = 0, providers: int = 24) -> Catalog:
    """A catalog of ``n_models`` synthetic models (see the module docstring)."""
    rng = random.Random(seed)
    rows = []
    tiers = tuple(_TIERS)
    for i in range(n_models):
        tier = tiers[i % 3]
        (in_lo, in_hi), (out_lo, out_hi), centre = _TIERS[tier]
        quality: dict[str, float] = {
            c: round(min(0.98, max(0.3, rng.gauss(centre, 0.05))), 3) for c in CAPABILITIES
        }
        if rng.random() < 1 / 6:
            quality.pop(rng.choice(CAPABILITIES[:3]))  # general is always offered
        inp = _log_uniform(rng, in_lo, in_hi)
        rows.append(
            model_row(
                f"synth-p{i % providers:02d}/{tier}-{i:04d}",
                tier=tier,
                input_per_mtok=inp,
                output_per_mtok=max(inp, _log_uniform(rng, out_lo, out_hi)),
                quality=quality,
                context_window=rng.choice(_CONTEXTS),
                max_output_tokens=rng.choice((4_096, 8_192, 32_768, 65_536)),
                json_schema=rng.random() < 0.7,
                tools=rng.random() < 0.8,
                streaming=rng.random() < 0.95,
            )
        )
    return Catalog.from_rows(rows, source=f"synthetic:{n_models}:{seed}")
