from __future__ import annotations

import itertools
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from tokenplan.planning.knapsack import (
    COST_EPS,
    Item,
    knee_cap,
    solve_cheapest,
    solve_exact,
    solve_greedy,
    upgrades,
)

Groups = list[list[Item]]


def brute_force(groups: Groups, cap: float) -> tuple[float, float] | None:
    """(value, cost) of the best assignment, ties to the cheaper; None when nothing fits."""
    best: tuple[float, float] | None = None
    for choice in itertools.product(*(range(len(g)) for g in groups)):
        cost = math.fsum(groups[g][i].cost for g, i in enumerate(choice))
        value = math.fsum(groups[g][i].value for g, i in enumerate(choice))
        if cost > cap + COST_EPS:
            continue
        if best is None or value > best[0] + 1e-12 or (value >= best[0] - 1e-12 and cost < best[1]):
            best = (value, cost)
    return best


# Costs on a coarse grid and values from a few priors make ties and exact fits common.
items = st.builds(
    Item,
    cost=st.integers(min_value=0, max_value=40).map(lambda c: c / 1000),
    value=st.sampled_from([0.5, 0.6, 0.62, 0.7, 0.75, 0.8, 0.9, 1.0]).map(math.log),
)
groups_st = st.lists(st.lists(items, min_size=1, max_size=5), min_size=1, max_size=5)


def cap_between(groups: Groups, frac: float) -> float:
    low = solve_cheapest(groups).cost
    high = sum(max(i.cost for i in g) for g in groups)
    return low + frac * (high - low)


@settings(max_examples=300, deadline=None)
@given(groups_st, st.floats(min_value=0, max_value=1.2))
def test_exact_equals_brute_force(groups: Groups, frac: float) -> None:
    cap = cap_between(groups, frac)
    sol = solve_exact(groups, cap)
    best = brute_force(groups, cap)
    assert best is not None
    assert sol.exact
    assert sol.cost <= cap + COST_EPS
    assert math.isclose(sol.value, best[0], abs_tol=1e-9)
    assert sol.cost <= best[1] + 1e-9  # ties go to the cheaper assignment
    # The reported totals are those of the chosen items.
    assert math.isclose(sol.cost, math.fsum(groups[g][i].cost for g, i in enumerate(sol.choice)))


@settings(max_examples=200, deadline=None)
@given(groups_st, st.floats(min_value=0, max_value=1.2))
def test_greedy_is_feasible_and_never_beats_exact(groups: Groups, frac: float) -> None:
    cap = cap_between(groups, frac)
    greedy = solve_greedy(groups, cap)
    exact = solve_exact(groups, cap)
    assert greedy.cost <= cap + COST_EPS
    assert greedy.value <= exact.value + 1e-9


@settings(max_examples=200, deadline=None)
@given(groups_st, st.floats(min_value=0, max_value=1), st.floats(min_value=0, max_value=1))
def test_knee_cap_is_within_bounds_and_monotone(groups: Groups, f1: float, f2: float) -> None:
    lo, hi = sorted((f1, f2))
    cap_lo, cap_hi = cap_between(groups, lo), cap_between(groups, hi)
    base = solve_cheapest(groups).cost
    k_lo, k_hi = knee_cap(groups, cap_lo), knee_cap(groups, cap_hi)
    assert base - COST_EPS <= k_lo <= cap_lo + COST_EPS
    assert k_lo <= k_hi + 1e-12
    # A rate floor only ever lowers the knee.
    assert knee_cap(groups, cap_hi, min_rate=50.0) <= k_hi + 1e-12


def test_single_upgrade_is_taken_by_the_knee_unless_the_rate_forbids_it() -> None:
    groups = [[Item(0.01, math.log(0.6)), Item(0.05, math.log(0.9))]]
    assert knee_cap(groups, 1.0) == 0.05
    gain_per_usd = (math.log(0.9) - math.log(0.6)) / 0.04
    assert knee_cap(groups, 1.0, min_rate=gain_per_usd * 1.01) == 0.01


def test_knee_stops_at_diminishing_returns() -> None:
    # Gains per dollar: 47, 6 and 0.07. The average over the whole walk is 1.1, so the knee
    # keeps the first two upgrades and leaves the last, which costs 25 times more for little.
    groups = [
        [
            Item(0.00, math.log(0.5)),
            Item(0.01, math.log(0.8)),
            Item(0.02, math.log(0.85)),
            Item(0.50, math.log(0.88)),
        ]
    ]
    assert knee_cap(groups, 10.0) == 0.02
    assert solve_exact(groups, 10.0).choice == (3,)


def test_upgrades_follow_the_hull_by_decreasing_efficiency() -> None:
    groups = [
        # (0.02, 0.7) lies under the hull from (0, 0.5) to (0.04, 1.0): skipped.
        [Item(0.0, 0.5), Item(0.02, 0.7), Item(0.04, 1.0), Item(0.03, 0.2)],
        [Item(0.0, 0.0), Item(0.1, 0.5)],
    ]
    ups = upgrades(groups)
    assert [(u.group, u.src, u.dst) for u in ups] == [(0, 0, 2), (1, 0, 1)]
    assert ups[0].efficiency > ups[1].efficiency


def test_cheapest_prefers_value_among_equal_costs() -> None:
    groups = [[Item(0.01, -1.0), Item(0.01, -0.5), Item(0.02, 0.0)]]
    assert solve_cheapest(groups).choice == (1,)


def test_effort_limit_returns_a_feasible_non_exact_solution() -> None:
    # Strongly correlated (value almost linear in cost): the hard case for bounds.
    groups = [
        [Item(c / 100, math.log(0.5 + 0.05 * c + 0.001 * g)) for c in range(8)] for g in range(14)
    ]
    cap = cap_between(groups, 0.37)
    limited = solve_exact(groups, cap, max_work=20)
    assert not limited.exact
    assert limited.cost <= cap + COST_EPS
    assert limited.value >= solve_greedy(groups, cap).value - 1e-12
    full = solve_exact(groups, cap)
    assert full.exact
    assert full.value >= limited.value - 1e-12


def test_no_groups() -> None:
    sol = solve_exact([], 1.0)
    assert sol.choice == ()
    assert sol.cost == 0
