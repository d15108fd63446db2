"""Multiple-choice knapsack: pick one item per group, maximise total value under a cost cap.

Pure and generic (no models, no plans): the allocator maps steps to groups and candidate models
to ``(cost, value)`` items. Three solvers share the same preprocessing:

* each group is reduced to its Pareto front (strictly increasing cost and value) and the upper
  convex hull of that front; hull edges are *upgrades* with an efficiency (value per cost);
* :func:`solve_greedy` starts from the cheapest item of every group and applies upgrades in
  decreasing efficiency while they fit (skipping a group once one of its upgrades does not
  fit), then improves with single swaps to any item that fits;
* :func:`solve_exact` is a dynamic programme over the Pareto frontier of partial assignments,
  seeded with the greedy solution and pruned by the LP relaxation (fractional greedy over hull
  upgrades, an upper bound on any completion). It is exact unless the search exceeds
  ``max_work``, in which case it returns the greedy solution with ``exact=False``.

Ties in value are broken towards the lower cost. Feasibility allows ``COST_EPS`` of float noise.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "COST_EPS",
    "Item",
    "Solution",
    "Upgrade",
    "knee_cap",
    "solve_cheapest",
    "solve_exact",
    "solve_greedy",
    "upgrades",
]

#: Float noise tolerated when comparing a total cost with the cap (USD).
COST_EPS = 1e-12
_VALUE_EPS = 1e-12


@dataclass(frozen=True, slots=True)
class Item:
    cost: float
    value: float


@dataclass(frozen=True, slots=True)
class Solution:
    """One chosen item index per group (indices into the caller's lists)."""

    choice: tuple[int, ...]
    cost: float
    value: float
    exact: bool = True
    nodes: int = 0


@dataclass(frozen=True, slots=True)
class Upgrade:
    """A hull edge of one group: from item ``src`` to item ``dst`` (caller's indices)."""

    group: int
    src: int
    dst: int
    cost: float
    value: float

    @property
    def efficiency(self) -> float:
        return self.value / self.cost if self.cost > 0 else math.inf


def _front(items: Sequence[Item]) -> list[int]:
    """Indices of the Pareto front, by increasing cost (and strictly increasing value)."""
    order = sorted(range(len(items)), key=lambda i: (items[i].cost, -items[i].value, i))
    front: list[int] = []
    for i in order:
        # Sorted by cost then value, so equal costs arrive best first and the rest are dropped.
        if not front or items[i].value > items[front[-1]].value + _VALUE_EPS:
            front.append(i)
    return front


def _hull(items: Sequence[Item], front: list[int]) -> list[int]:
    """Indices of the upper concave hull of a Pareto front (both ends included)."""
    hull: list[int] = []
    for i in front:
        while len(hull) >= 2:
            a, b = items[hull[-2]], items[hull[-1]]
            c = items[i]
            # b lies on or below the segment a -> c: drop it.
            if (b.value - a.value) * (c.cost - a.cost) <= (c.value - a.value) * (b.cost - a.cost):
                hull.pop()
            else:
                break
        hull.append(i)
    return hull


def upgrades(groups: Sequence[Sequence[Item]], *, priority: Sequence[float] = ()) -> list[Upgrade]:
    """Every group's hull edges, sorted by decreasing efficiency.

    Within a group the edges come out in hull order (their efficiencies decrease along the
    hull). Equal efficiencies are ordered by decreasing ``priority[group]``, then group index.
    """
    out: list[Upgrade] = []
    for g, items in enumerate(groups):
        hull = _hull(items, _front(items))
        for a, b in itertools.pairwise(hull):
            out.append(
                Upgrade(g, a, b, items[b].cost - items[a].cost, items[b].value - items[a].value)
            )
    prio = list(priority) or [0.0] * len(groups)
    out.sort(key=lambda u: (-u.efficiency, -prio[u.group], u.group, u.cost))
    return out


def _cheapest_index(items: Sequence[Item]) -> int:
    return _front(items)[0]


def solve_cheapest(groups: Sequence[Sequence[Item]]) -> Solution:
    """The cheapest item of every group (best value among equally cheap ones)."""
    choice = tuple(_cheapest_index(items) for items in groups)
    return _solution(groups, choice)


def _solution(
    groups: Sequence[Sequence[Item]], choice: tuple[int, ...], *, exact: bool = True, nodes: int = 0
) -> Solution:
    cost = math.fsum(groups[g][i].cost for g, i in enumerate(choice))
    value = math.fsum(groups[g][i].value for g, i in enumerate(choice))
    return Solution(choice, cost, value, exact, nodes)


def _better(value: float, cost: float, best_value: float, best_cost: float) -> bool:
    if value > best_value + _VALUE_EPS:
        return True
    return value >= best_value - _VALUE_EPS and cost < best_cost - COST_EPS


def solve_greedy(
    groups: Sequence[Sequence[Item]], cap: float, *, priority: Sequence[float] = ()
) -> Solution:
    """Cheapest start, hull upgrades by efficiency while they fit, then single-swap polish.

    Assumes the cheapest assignment fits ``cap`` (check with :func:`solve_cheapest`).
    """
    choice = list(solve_cheapest(groups).choice)
    spent = math.fsum(groups[g][i].cost for g, i in enumerate(choice))
    blocked: set[int] = set()
    for up in upgrades(groups, priority=priority):
        if up.group in blocked or choice[up.group] != up.src:
            continue
        if spent + up.cost <= cap + COST_EPS:
            choice[up.group] = up.dst
            spent += up.cost
        else:
            blocked.add(up.group)
    # Polish: the best single swap (to any item) that fits, until none improves the value.
    while True:
        best: tuple[float, float, int, int] | None = None  # (gain, extra cost, group, item)
        for g, items in enumerate(groups):
            cur = items[choice[g]]
            for i, it in enumerate(items):
                gain, extra = it.value - cur.value, it.cost - cur.cost
                if gain <= _VALUE_EPS or spent + extra > cap + COST_EPS:
                    continue
                if best is None or (gain, -extra) > (best[0], -best[1]):
                    best = (gain, extra, g, i)
        if best is None:
            break
        choice[best[2]] = best[3]
        spent += best[1]
    return _solution(groups, tuple(choice), exact=False)


def solve_exact(
    groups: Sequence[Sequence[Item]],
    cap: float,
    *,
    priority: Sequence[float] = (),
    max_work: int = 1_000_000,
) -> Solution:
    """The optimum (``exact=True``), or the greedy solution if the search exceeds ``max_work``.

    A dynamic programme over groups that keeps, after each group, only the partial assignments
    nobody beats on both cost and value (the Pareto frontier of partial sums), dropping those
    that cannot fit the cap with the cheapest items of the remaining groups or whose LP upper
    bound cannot reach the best known solution (the greedy one to start with). Exact for any
    float costs; strongly correlated instances, where branch-and-bound stalls on weak bounds,
    stay small because dominated partial sums are merged. ``max_work`` bounds the partial
    assignments examined (``Solution.nodes`` reports the count), keeping the run time bounded
    and the result deterministic. Assumes the cheapest assignment fits ``cap``.
    """
    n = len(groups)
    greedy = solve_greedy(groups, cap, priority=priority)
    if n == 0:
        return _solution(groups, (), nodes=0)
    tables = _Tables(groups)
    best_value = greedy.value
    # Each layer holds (cost, value, index of the parent state, item index) by increasing cost
    # and strictly increasing value.
    layers: list[list[tuple[float, float, int, int]]] = []
    states: list[tuple[float, float, int, int]] = [(0.0, 0.0, -1, -1)]
    work = 0
    for d, g in enumerate(tables.order):
        tail = tables.rest_cost[d + 1]
        items = [(groups[g][i].cost, groups[g][i].value, i) for i in tables.fronts[g]]
        grown = [
            (cost + c, value + v, parent, i)
            for parent, (cost, value, _, _) in enumerate(states)
            for c, v, i in items
            if cost + c + tail <= cap + COST_EPS
        ]
        work += len(grown)
        if work > max_work:
            return greedy
        grown.sort(key=lambda t: (t[0], -t[1]))
        kept: list[tuple[float, float, int, int]] = []
        for state in grown:
            if kept and state[1] <= kept[-1][1] + _VALUE_EPS:
                continue  # dominated: costs at least as much, worth no more
            upper = state[1] + tables.upper_rest(d + 1, max(cap - state[0] - tail, 0.0))
            if upper < best_value - _VALUE_EPS:
                continue  # cannot reach the best known solution
            kept.append(state)
        layers.append(kept)
        states = kept
    if not states:  # float noise pruned everything: the greedy solution is the optimum
        return Solution(greedy.choice, greedy.cost, greedy.value, True, work)
    sol = _solution(groups, _trace(layers, tables.order), nodes=work)
    if _better(greedy.value, greedy.cost, sol.value, sol.cost):
        return Solution(greedy.choice, greedy.cost, greedy.value, True, work)
    return sol


class _Tables:
    """Per-depth data of the exact search: group order, cheapest tails and LP bounds."""

    def __init__(self, groups: Sequence[Sequence[Item]]) -> None:
        n = len(groups)
        self.fronts = [_front(items) for items in groups]
        # Groups with most at stake first: the bounds prune hardest early.
        spread = [groups[g][f[-1]].value - groups[g][f[0]].value for g, f in enumerate(self.fronts)]
        self.order = sorted(range(n), key=lambda g: (-spread[g], g))
        depth_of = {g: d for d, g in enumerate(self.order)}
        self.rest_cost = [0.0] * (n + 1)  # cheapest items of the groups at depth >= d
        self.rest_value = [0.0] * (n + 1)
        for d in range(n - 1, -1, -1):
            first = groups[self.order[d]][self.fronts[self.order[d]][0]]
            self.rest_cost[d] = self.rest_cost[d + 1] + first.cost
            self.rest_value[d] = self.rest_value[d + 1] + first.value
        # LP relaxation of the groups at depth >= d: their hull upgrades by decreasing
        # efficiency, as prefix sums so that a bound is one bisection.
        ups = upgrades(groups)
        self.prefix_cost: list[list[float]] = []
        self.prefix_value: list[list[float]] = []
        for d in range(n + 1):
            pc, pv = [0.0], [0.0]
            for u in ups:
                if depth_of[u.group] >= d:
                    pc.append(pc[-1] + u.cost)
                    pv.append(pv[-1] + u.value)
            self.prefix_cost.append(pc)
            self.prefix_value.append(pv)

    def upper_rest(self, d: int, residual: float) -> float:
        """Upper bound of the value the groups at depth >= d add within ``residual``."""
        pc, pv = self.prefix_cost[d], self.prefix_value[d]
        k = bisect.bisect_right(pc, residual) - 1  # whole upgrades that fit
        extra = pv[k]
        if k + 1 < len(pc):  # plus the fitting fraction of the next one
            extra += (residual - pc[k]) / (pc[k + 1] - pc[k]) * (pv[k + 1] - pv[k])
        return self.rest_value[d] + extra


def _trace(layers: list[list[tuple[float, float, int, int]]], order: list[int]) -> tuple[int, ...]:
    """Item choice of the last layer's last state (highest value, cheapest among equals)."""
    choice = [0] * len(order)
    index = len(layers[-1]) - 1
    for d in range(len(order) - 1, -1, -1):
        _, _, parent, item = layers[d][index]
        choice[order[d]] = item
        index = parent
    return tuple(choice)


def knee_cap(groups: Sequence[Sequence[Item]], cap: float, *, min_rate: float = 0.0) -> float:
    """The cost cap of the ``balanced`` strategy: the knee of the cost/value frontier.

    Walk the LP frontier (hull upgrades by decreasing efficiency, the last one fractional) from
    the cheapest assignment up to ``cap``. Keep the upgrades whose efficiency is at least the
    frontier's average efficiency (its chord: past that point a dollar buys less than the
    average dollar of the whole walk) **and** at least ``min_rate``. Returns the cheapest cost
    plus the cost of the kept upgrades; never more than ``cap``. Grows with ``cap``.
    """
    base = solve_cheapest(groups).cost
    room = cap - base
    if room <= 0:
        return min(cap, base)
    walk: list[tuple[float, float]] = []  # (cost, efficiency)
    total_cost = total_value = 0.0
    for up in upgrades(groups):
        take = min(up.cost, room - total_cost)
        if take <= 0:
            break
        walk.append((take, up.efficiency))
        total_cost += take
        total_value += up.value * (take / up.cost) if up.cost > 0 else up.value
    if total_cost <= 0:
        return base
    chord = total_value / total_cost
    threshold = max(chord, min_rate)
    kept = math.fsum(c for c, eff in walk if eff >= threshold * (1 - 1e-9))
    return min(cap, base + kept)
