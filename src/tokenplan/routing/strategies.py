"""The three routing strategies: what each maximizes, and the fast exact search behind them.

Notation: for a prompt needing capability ``c``, a model's *quality* ``q`` is its catalog prior
for ``c`` (in [0, 1]) and its *cost* is the call's estimated worst case in USD
(estimated input tokens x input price + ``max_tokens`` x output price). Every strategy only
considers models that pass the hard constraints (endpoint, include/exclude, features, context
window, max output, budget).

``cheapest``
    The lowest-cost model that is *capable enough* for the prompt's complexity: its quality must
    reach a floor of :data:`FLOOR_FRACTION` x the best available quality for ``c`` (no floor for
    simple prompts, 80% of the best for moderate ones, 90% for complex ones). Ties go to the
    higher quality.

``best_quality``
    The highest quality within the budget; ties go to the cheaper model.

``balanced``
    Maximizes ``u = q - λ · log10(cost + 1e-6)``, with the floor of ``cheapest``. ``λ``
    (:data:`COST_AVERSION`) is the quality a 10x dearer model must add to be worth it: 0.25 for a
    simple prompt (cost nearly decides), 0.12 for a moderate one, 0.04 for a complex one (quality
    nearly decides). Log-cost, because prices span four orders of magnitude and a quality point is
    worth the same *ratio* of price at any price level; the 1e-6 USD offset keeps free local
    models finite (and strongly preferred when capable).

``auto:latency``
    ``balanced`` minus :data:`LATENCY_AVERSION` x log10(p50 latency / fastest p50), using the
    ledger's per-model p50; models without data count as the median. With no latency data at all
    it is ``balanced``, and the decision says so.

Floors are *soft*: when no model within the budget reaches the floor, the best of the others is
used and the decision says so. The budget, the context window and the other constraints are
hard.

Speed: for a (capability, strategy, complexity, features, input-token bucket, max_tokens) key the
candidates are sorted once by an *optimistic* bound of their score (cost computed with the
bucket's smallest input size, which can only be cheaper than the real one) and cached. A
decision walks that order, computes the exact cost and constraints for each model it meets,
and stops as soon as the next model's optimistic bound cannot beat the best exact score found.
The result is exact, and the walk is a handful of models long.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokenplan.catalog.model import Model

__all__ = [
    "COST_AVERSION",
    "COST_FLOOR_USD",
    "FLOOR_FRACTION",
    "LATENCY_AVERSION",
    "Entry",
    "Pick",
    "build_order",
    "latency_penalties",
    "utility",
    "walk",
]

#: Quality floor as a fraction of the best available quality for the capability.
FLOOR_FRACTION: Mapping[str, float] = {"simple": 0.0, "moderate": 0.80, "complex": 0.90}
#: λ: quality a 10x more expensive model must add to win under ``balanced``.
COST_AVERSION: Mapping[str, float] = {"simple": 0.25, "moderate": 0.12, "complex": 0.04}
#: Quality a 10x slower model must add to win under ``auto:latency``.
LATENCY_AVERSION = 0.10
#: Offset that keeps log-cost finite for free (local) models.
COST_FLOOR_USD = 1e-6

_MTOK = 1_000_000.0
_EPS_USD = 1e-12


def utility(
    quality: float, cost_usd: float, *, cost_aversion: float, penalty: float = 0.0
) -> float:
    """The ``balanced`` objective (see the module docstring)."""
    return quality - cost_aversion * math.log10(cost_usd + COST_FLOOR_USD) - penalty


def latency_penalties(models: Iterable[Model], latency_ms: Mapping[str, float]) -> dict[str, float]:
    """Per-model latency penalty for ``auto:latency`` (empty when there is no usable data)."""
    known = sorted(v for v in latency_ms.values() if v > 0 and math.isfinite(v))
    if not known:
        return {}
    fastest = known[0]
    median = known[len(known) // 2]
    out: dict[str, float] = {}
    for m in models:
        lat = latency_ms.get(m.id, median)
        if not (lat > 0 and math.isfinite(lat)):
            lat = median
        out[m.id] = LATENCY_AVERSION * math.log10(lat / fastest)
    return out


# Plain slotted classes, not dataclasses: these sit on the CLI's start-up path, where each
# dataclass definition costs about half a millisecond.
class Entry:
    """A model in a cached order, with what the walk needs at hand.

    ``bound`` is the optimistic ranking key (higher first); prices are USD per million tokens
    (``output_price`` the dearer of plain and reasoning output); ``penalty`` the latency penalty.
    """

    __slots__ = (
        "bound",
        "context_window",
        "input_price",
        "max_output_tokens",
        "model",
        "output_price",
        "penalty",
        "quality",
    )

    def __init__(
        self,
        bound: float,
        model: Model,
        quality: float,
        input_price: float,
        output_price: float,
        context_window: int,
        max_output_tokens: int,
        penalty: float,
    ) -> None:
        self.bound = bound
        self.model = model
        self.quality = quality
        self.input_price = input_price
        self.output_price = output_price
        self.context_window = context_window
        self.max_output_tokens = max_output_tokens
        self.penalty = penalty


class Pick:
    """The walk's answer: a model with its exact cost and strategy score."""

    __slots__ = ("cost_usd", "entry", "score")

    def __init__(self, entry: Entry, cost_usd: float, score: float) -> None:
        self.entry = entry
        self.cost_usd = cost_usd
        self.score = score


def _output_price(m: Model) -> float:
    return max(m.output_per_mtok, m.reasoning_output_per_mtok or 0.0)


def build_order(
    models: Sequence[Model],
    *,
    capability: str,
    strategy: str,
    complexity: str,
    floor: float,
    input_tokens_low: int,
    max_tokens: int,
    penalties: Mapping[str, float],
) -> tuple[Entry, ...]:
    """Candidates for ``capability`` at or above ``floor``, best optimistic bound first."""
    entries: list[Entry] = []
    aversion = COST_AVERSION[complexity]
    for m in models:
        q = m.quality.get(capability)
        if q is None or q < floor:
            continue
        out_price = _output_price(m)
        low_cost = (input_tokens_low * m.input_per_mtok + max_tokens * out_price) / _MTOK
        penalty = penalties.get(m.id, 0.0)
        if strategy == "cheapest":
            bound = -low_cost
        elif strategy == "best_quality":
            bound = q
        else:
            bound = utility(q, low_cost, cost_aversion=aversion, penalty=penalty)
        entries.append(
            Entry(
                bound,
                m,
                q,
                m.input_per_mtok,
                out_price,
                m.context_window,
                m.max_output_tokens,
                penalty,
            )
        )
    # best_quality: equal qualities keep the cheaper first, so ties resolve early.
    entries.sort(key=lambda e: (-e.bound, e.input_price + e.output_price))
    return tuple(entries)


def walk(
    order: Sequence[Entry],
    *,
    strategy: str,
    complexity: str,
    input_tokens: int,
    max_tokens: int,
    budget_usd: float | None,
) -> Pick | None:
    """The exact best feasible entry of ``order`` under ``strategy`` (``None`` if none fits)."""
    need = input_tokens + max_tokens
    limit = math.inf if budget_usd is None else budget_usd + _EPS_USD
    aversion = COST_AVERSION[complexity]
    best: Pick | None = None
    for e in order:
        if best is not None:
            # Every later entry's bound is <= this one's: stop once it cannot win.
            if strategy == "best_quality":
                if e.quality < best.entry.quality:
                    break
            elif e.bound < best.score:
                break
        if need > e.context_window or max_tokens > e.max_output_tokens:
            continue
        # Model.worst_case_cost, inlined on the hot path (the property tests check they agree).
        cost = (input_tokens * e.input_price + max_tokens * e.output_price) / _MTOK
        if cost > limit:
            continue
        if strategy == "cheapest":
            score = -cost
            better = (
                best is None
                or score > best.score
                or (score == best.score and e.quality > best.entry.quality)
            )
        elif strategy == "best_quality":
            score = e.quality
            better = best is None or cost < best.cost_usd
        else:
            score = utility(e.quality, cost, cost_aversion=aversion, penalty=e.penalty)
            better = (
                best is None or score > best.score or (score == best.score and cost < best.cost_usd)
            )
        if better:
            best = Pick(e, cost, score)
    return best
