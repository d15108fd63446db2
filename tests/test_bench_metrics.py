"""Metrics on tiny hand-computed examples."""

from __future__ import annotations

import math

import pytest

from tokenplan.bench.harness import Call, PolicyOutcome, PolicyRun
from tokenplan.bench.metrics import CurvePoint, apgr, complete_curve, cpt, pgr
from tokenplan.bench.report import frontier
from tokenplan.bench.results import summarize, task_rows

# Four prompts. The weak model is right on #1 and #2, the strong one on #1, #2 and #3:
# r(weak) = 0.50, r(strong) = 0.75, a gap of 0.25.
# A router that sends #3 to the strong model first, then #4, #1, #2 measures:
#   strong calls 0%   -> 0.50 (PGR 0)
#   strong calls 25%  -> 0.75 (PGR 1)    #3 fixed
#   strong calls 50%  -> 0.75 (PGR 1)    #4 is wrong for both
#   strong calls 100% -> 0.75 (PGR 1)
# APGR = area under PGR(c): the ramp 0..0.25 gives (0 + 1) / 2 * 0.25 = 0.125, the flat rest
# 1 * 0.75 = 0.75, so 0.875. PGR crosses 0.5 at c = 0.125 (CPT(50%) = 12.5%) and 0.8 at
# c = 0.2 (CPT(80%) = 20%).
GOOD = [CurvePoint(0.0, 0.50), CurvePoint(0.25, 0.75), CurvePoint(0.5, 0.75), CurvePoint(1.0, 0.75)]
# Random routing sends a share c anywhere: quality 0.5 + 0.25 c, a straight line.
RANDOM = [CurvePoint(c / 4, 0.5 + 0.25 * c / 4) for c in range(5)]


def test_pgr() -> None:
    assert pgr(0.625, weak=0.5, strong=0.75) == pytest.approx(0.5)
    assert pgr(0.8, weak=0.5, strong=0.75) == pytest.approx(1.2)  # beats the strong model
    assert math.isnan(pgr(0.5, weak=0.5, strong=0.5))


def test_apgr_and_cpt_hand_computed() -> None:
    assert apgr(GOOD, weak=0.5, strong=0.75) == pytest.approx(0.875)
    assert cpt(GOOD, 0.5, weak=0.5, strong=0.75) == pytest.approx(12.5)
    assert cpt(GOOD, 0.8, weak=0.5, strong=0.75) == pytest.approx(20.0)
    assert cpt(GOOD, 1.0, weak=0.5, strong=0.75) == pytest.approx(25.0)


def test_random_routing_scores_one_half() -> None:
    assert apgr(RANDOM, weak=0.5, strong=0.75) == pytest.approx(0.5)
    assert cpt(RANDOM, 0.5, weak=0.5, strong=0.75) == pytest.approx(50.0)
    assert cpt(RANDOM, 0.8, weak=0.5, strong=0.75) == pytest.approx(80.0)


def test_partial_curves_are_completed_with_the_trivial_points() -> None:
    # One measured point (40% strong calls, PGR 0.8): joined to (0, 0) and (1, 1).
    point = [CurvePoint(0.4, 0.5 + 0.8 * 0.25)]
    assert complete_curve(point, weak=0.5, strong=0.75) == [
        (0.0, 0.0),
        (0.4, pytest.approx(0.8)),
        (1.0, 1.0),
    ]
    # Area: 0.4 * 0.8 / 2 + 0.6 * (0.8 + 1) / 2 = 0.16 + 0.54 = 0.70
    assert apgr(point, weak=0.5, strong=0.75) == pytest.approx(0.70)
    assert cpt(point, 0.5, weak=0.5, strong=0.75) == pytest.approx(25.0)
    assert cpt(point, 0.9, weak=0.5, strong=0.75) == pytest.approx(70.0)


def test_undefined_and_unreached() -> None:
    assert apgr(GOOD, weak=0.6, strong=0.6) is None
    assert cpt(GOOD, 0.5, weak=0.6, strong=0.6) is None
    # A curve that never reaches PGR 1.5 has no CPT for it.
    assert cpt(GOOD, 1.5, weak=0.5, strong=0.75) is None


def _run(
    name: str, kind: str, scores: list[float], costs: list[float], models: list[str]
) -> PolicyRun:
    outcomes = tuple(
        PolicyOutcome(f"q{i}", m, s, (Call(m, c),), escalations=int(m == "S" and kind != "single"))
        for i, (s, c, m) in enumerate(zip(scores, costs, models, strict=True))
    )
    return PolicyRun(name, kind, outcomes)  # type: ignore[arg-type]


def test_summarize_relative_figures() -> None:
    weak = _run("W", "single", [1, 1, 0, 0], [0.001] * 4, ["W"] * 4)
    strong = _run("S", "single", [1, 1, 1, 0], [0.010] * 4, ["S"] * 4)
    router = _run("R", "router", [1, 1, 1, 0], [0.001, 0.001, 0.010, 0.001], ["W", "W", "S", "W"])
    rows, curves = summarize(
        "toy",
        [weak, strong, router],
        strong="S",
        weak="W",
        families={"R-family": [router]},
        members={"R": "R-family"},
    )
    by = {r.policy: r for r in rows}
    assert by["S"].reference == "S"
    assert by["R"].accuracy == pytest.approx(0.75)
    assert by["R"].usd_per_1k == pytest.approx(1000 * 0.013 / 4)
    assert by["R"].pct_best_accuracy == pytest.approx(100.0)
    assert by["R"].pct_best_cost == pytest.approx(100 * 0.013 / 0.040)
    assert by["R"].strong_share == pytest.approx(0.25)
    assert by["R"].escalation_rate == pytest.approx(0.25)
    assert by["R"].calls_per_query == pytest.approx(1.0)
    # The family curve is the single point (25%, PGR 1): APGR = 0.25/2 + 0.75 = 0.875.
    assert by["R"].apgr == pytest.approx(0.875)
    assert by["R"].cpt50 == pytest.approx(12.5)
    assert by["W"].apgr is None
    (point,) = curves["R-family"]
    assert (point.strong_share, point.quality) == (0.25, 0.75)
    assert point.cost_usd == pytest.approx(0.013 / 4)


def test_frontier() -> None:
    pts = [(1.0, 0.5), (2.0, 0.4), (3.0, 0.8), (0.5, 0.2), (3.0, 0.7), (5.0, 0.8)]
    assert frontier(pts) == [(0.5, 0.2), (1.0, 0.5), (3.0, 0.8)]


def test_task_rows_hand_computed() -> None:
    # q0, q1 are task "a"; q2, q3 task "b". Reference S: a 2/2 right at 0.020, b 1/2 at 0.020.
    strong = _run("S", "single", [1, 1, 1, 0], [0.010] * 4, ["S"] * 4)
    router = _run("R", "router", [1, 0, 1, 0], [0.001, 0.001, 0.010, 0.001], ["W", "W", "S", "W"])
    task_of = {"q0": "a", "q1": "a", "q2": "b", "q3": "b"}
    rows = task_rows("toy", [strong, router], task_of=task_of, reference="S")
    by = {(r.policy, r.task): r for r in rows}
    assert len(rows) == 4
    assert by[("R", "a")].accuracy == pytest.approx(0.5)
    assert by[("R", "a")].usd_per_1k == pytest.approx(1.0)
    assert by[("R", "a")].pct_reference_accuracy == pytest.approx(50.0)
    assert by[("R", "a")].pct_reference_cost == pytest.approx(100 * 0.002 / 0.020)
    assert by[("R", "b")].pct_reference_accuracy == pytest.approx(100.0)
    assert by[("R", "b")].pct_reference_cost == pytest.approx(100 * 0.011 / 0.020)
    assert by[("S", "b")].n == 2
    # One task family: nothing to break down.
    assert task_rows("toy", [router], task_of=dict.fromkeys(task_of, "a"), reference="S") == []
