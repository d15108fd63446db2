"""A :class:`~tokenplan.catalog.Catalog` of a dataset's models, fitted on its train part.

So the product's router and allocator can reason about a benchmark's models as they do about
real ones, each dataset model becomes a catalog row:

* **id** ``<prefix>/<dataset model name>`` (``rb/gpt-4-1106-preview``), provider ``replay``.
* **prices** (USD per million tokens): when the dataset recorded costs, a non-negative least
  squares fit of ``cost = input_tokens * p_in + output_tokens * p_out`` over the train prompts,
  with tokens estimated from text by :mod:`tokenplan.tokens` (so the fitted prices are
  consistent with those estimates rather than with any tokenizer); when the costs were
  themselves estimated from a price table, that table's prices.
* **tier** by rank of mean train cost per prompt: rank ``r`` of ``n`` models gets
  ``TIER_ORDER[round(2 r / (n - 1))]``, i.e. price terciles by rank (two models: budget and
  flagship).
* **quality priors**: per capability, the model's mean train score on prompts of that
  capability (the product classifier's reading of each prompt, the tag the router routes on),
  Laplace-smoothed (``(sum + 1) / (n + 2)``); capabilities the train part does not
  cover get the model's smoothed mean over all train prompts, so every model is offered for
  every capability.

Everything is computed from the dataset passed in; pass the train part only.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from tokenplan.bench.dataset import OutcomeDataset
from tokenplan.bench.prices import PriceTable
from tokenplan.catalog import CAPABILITIES, TIER_ORDER, Catalog, Model, Tier
from tokenplan.tokens import estimate_messages_tokens, estimate_tokens

__all__ = ["build_catalog", "fit_token_prices", "rank_tiers"]

_DEFAULT_CONTEXT = 32_768
_DEFAULT_MAX_OUTPUT = 4_096


def fit_token_prices(
    input_tokens: Sequence[int], output_tokens: Sequence[int], costs: Sequence[float]
) -> tuple[float, float]:
    """Non-negative least squares ``(p_in, p_out)``, USD per token, of ``in*p_in + out*p_out``.

    Falls back to one price for both when the data cannot separate them (all-equal ratios).
    """
    sxx = sum(a * a for a in input_tokens)
    syy = sum(b * b for b in output_tokens)
    sxy = sum(a * b for a, b in zip(input_tokens, output_tokens, strict=True))
    sxc = sum(a * c for a, c in zip(input_tokens, costs, strict=True))
    syc = sum(b * c for b, c in zip(output_tokens, costs, strict=True))
    det = sxx * syy - sxy * sxy
    if det > 1e-9 * max(sxx * syy, 1.0):
        p_in = (sxc * syy - syc * sxy) / det
        p_out = (syc * sxx - sxc * sxy) / det
        if p_in >= 0 and p_out >= 0:
            return p_in, p_out
    # Constrained solutions: one price at zero, or a single blended price.
    options: list[tuple[float, float]] = []
    if sxx > 0:
        options.append((max(0.0, sxc / sxx), 0.0))
    if syy > 0:
        options.append((0.0, max(0.0, syc / syy)))
    total = [a + b for a, b in zip(input_tokens, output_tokens, strict=True)]
    stt = sum(t * t for t in total)
    if stt > 0:
        blended = max(0.0, sum(t * c for t, c in zip(total, costs, strict=True)) / stt)
        options.append((blended, blended))
    if not options:
        return 0.0, 0.0

    def sse(p: tuple[float, float]) -> float:
        return sum(
            (c - a * p[0] - b * p[1]) ** 2
            for a, b, c in zip(input_tokens, output_tokens, costs, strict=True)
        )

    return min(options, key=sse)


def rank_tiers(mean_costs: dict[str, float]) -> dict[str, Tier]:
    """Tier per model by rank of mean cost (see the module docstring)."""
    ordered = sorted(mean_costs, key=lambda m: (mean_costs[m], m))
    n = len(ordered)
    if n == 1:
        return {ordered[0]: "mid"}
    return {m: TIER_ORDER[round(2 * r / (n - 1))] for r, m in enumerate(ordered)}


def _quality_priors(train: OutcomeDataset, model: str) -> dict[str, float]:
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for sample, outcome in zip(train.samples, train.column(model), strict=True):
        sums[sample.capability] += outcome.score
        counts[sample.capability] += 1
    pooled = (sum(sums.values()) + 1.0) / (sum(counts.values()) + 2.0)
    return {
        c: round((sums[c] + 1.0) / (counts[c] + 2.0) if counts[c] else pooled, 4)
        for c in CAPABILITIES
    }


def build_catalog(train: OutcomeDataset, *, prices: PriceTable | None = None) -> Catalog:
    """The catalog of ``train``'s models (see the module docstring for every rule)."""
    inputs = [estimate_messages_tokens([s.text]) for s in train.samples]
    mean_costs = {m: train.mean_cost(m) for m in train.models}
    tiers = rank_tiers(mean_costs)
    rows: list[Model] = []
    for m in train.models:
        column = train.column(m)
        table_price = prices.lookup(m) if prices is not None else None
        if train.costs_estimated(m) and table_price is not None:
            p_in = table_price.input_per_mtok / 1e6
            p_out = table_price.output_per_mtok / 1e6
            how = f"price table {table_price.source}"
        else:
            outputs = [estimate_tokens(o.response) if o.response else 1 for o in column]
            p_in, p_out = fit_token_prices(inputs, outputs, [o.cost_usd for o in column])
            how = f"fitted to recorded costs of {len(column)} train prompts"
        rows.append(
            Model(
                id=train.model_id(m),
                provider="replay",
                api_name=m,
                tier=tiers[m],
                input_per_mtok=_round_price(p_in * 1e6),
                output_per_mtok=_round_price(p_out * 1e6),
                context_window=(table_price.context_window if table_price else None)
                or _DEFAULT_CONTEXT,
                max_output_tokens=(table_price.max_output_tokens if table_price else None)
                or _DEFAULT_MAX_OUTPUT,
                quality=_quality_priors(train, m),
                display_name=m,
                source=f"bench:{train.name}",
                notes=f"prices {how}; priors from {len(train)} train prompts",
                extra={"mean_cost_usd": mean_costs[m], "dataset": train.name},
            )
        )
    return Catalog(rows, sources=(f"bench:{train.name}",))


def _round_price(value: float) -> float:
    if value <= 0 or not math.isfinite(value):
        return 0.0
    return float(f"{value:.6g}")
