"""Benchmark metrics: quality, cost, and RouteLLM's strong/weak routing metrics.

Per policy: accuracy (mean score), USD per 1,000 queries, both relative to the best single
model, the escalation rate and the share of queries that called the strong model.

RouteLLM (Ong et al. 2024, arXiv:2406.18665, section 5.1) measures a router between a strong
model ``S`` and a weak model ``W`` by its curve of quality ``r`` against the share ``c`` of
queries sent to ``S`` as its threshold moves:

* **PGR** (performance gap recovered) of an operating point: ``(r - r(W)) / (r(S) - r(W))``.
* **APGR**: the area under PGR as a function of ``c`` over [0, 1] (trapezoids; RouteLLM's
  ``evaluate.py`` integrates the measured points the same way). Random routing scores about
  0.5, a perfect router close to 1.
* **CPT(x%)** (call-performance threshold): the smallest ``c`` (in %) at which the curve reaches
  a PGR of ``x%``; e.g. CPT(50%) = 20% means a fifth of the queries go to ``S`` to recover half
  the gap. Found by linear interpolation along the curve (RouteLLM interpolates too).

Curves measured over part of [0, 1] are completed with the two trivial operating points, all
weak ``(0, PGR 0)`` and all strong ``(1, PGR 1)``, joined linearly: mixing two operating points
at random achieves every point of the segment between them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CurvePoint", "apgr", "complete_curve", "cpt", "pgr"]


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """One operating point of a knob policy: strong-call share (0..1), quality, USD per query."""

    strong_share: float
    quality: float
    cost_usd: float = 0.0


def pgr(quality: float, *, weak: float, strong: float) -> float:
    """Performance gap recovered; ``nan`` when the two models score the same."""
    gap = strong - weak
    if gap == 0:
        return math.nan
    return (quality - weak) / gap


def complete_curve(
    points: Sequence[CurvePoint], *, weak: float, strong: float
) -> list[tuple[float, float]]:
    """``(strong_share, PGR)`` pairs sorted by share, spanning [0, 1] (see the module docstring)."""
    pairs = sorted((p.strong_share, pgr(p.quality, weak=weak, strong=strong)) for p in points)
    if any(math.isnan(v) for _, v in pairs):
        return []
    if not pairs or pairs[0][0] > 0.0:
        pairs.insert(0, (0.0, 0.0))
    if pairs[-1][0] < 1.0:
        pairs.append((1.0, 1.0))
    return pairs


def apgr(points: Sequence[CurvePoint], *, weak: float, strong: float) -> float | None:
    """Average performance gap recovered over [0, 1]; ``None`` when it is undefined."""
    curve = complete_curve(points, weak=weak, strong=strong)
    if not curve:
        return None
    area = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(curve):
        area += (x1 - x0) * (y0 + y1) / 2.0
    return area


def cpt(
    points: Sequence[CurvePoint], target_pgr: float, *, weak: float, strong: float
) -> float | None:
    """Smallest strong-call share, in percent, reaching ``target_pgr`` (0.5 for CPT(50%)).

    ``None`` when the curve is undefined or never reaches the target.
    """
    curve = complete_curve(points, weak=weak, strong=strong)
    for i, (x1, y1) in enumerate(curve):
        if y1 >= target_pgr:
            if i == 0:
                return 100.0 * x1
            x0, y0 = curve[i - 1]
            return 100.0 * (x0 + (target_pgr - y0) * (x1 - x0) / (y1 - y0))
    return None
