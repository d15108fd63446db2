"""Allocator benchmark: exact solver time and the greedy's optimality gap.

Prints, for random plans on a catalog (the bundled one by default):

* (a) ``allocate()`` wall time per strategy (median, p95, max) and how often the exact
  solver proved optimality;
* (b) the greedy (cheapest start, hull upgrades by gain per dollar, single-swap polish) against
  the exact optimum on the same instances: share of instances where it is optimal, mean and
  worst gap in the objective (weighted log-success) and in expected success;
* (c) stress: synthetic catalogs of 40 models and plans of 12 / 30 / 100 steps, including
  strongly correlated instances (quality almost linear in price), where branch-and-bound
  stalls: exact-solver time and effort.

Usage: ``python benchmarks/bench_allocator.py [--catalog models.json] [--plans 300] [--seed 7]``
Figures are noisy on a shared machine; compare ratios within one run.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
from pathlib import Path

from tokenplan.catalog import CAPABILITIES, Catalog, Model
from tokenplan.errors import BudgetError
from tokenplan.planning import knapsack
from tokenplan.planning.allocator import allocate
from tokenplan.planning.candidates import CandidateFilter, step_candidates
from tokenplan.planning.schema import Plan
from tokenplan.planning.validate import parse_plan


def random_plan(rng: random.Random, n: int) -> Plan:
    steps = []
    for i in range(n):
        deps = sorted(rng.sample(range(i), k=min(i, rng.choice([0, 1, 1, 2, 3])))) if i else []
        if i and not deps:
            deps = [rng.randrange(i)]
        steps.append(
            {
                "id": f"s{i}",
                "title": f"step {i}",
                "instructions": "work",
                "capability": rng.choice(CAPABILITIES),
                "depends_on": [f"s{d}" for d in deps],
                "est_input_tokens": int(rng.lognormvariate(7.5, 0.8)),
                "est_output_tokens": int(rng.lognormvariate(6.8, 0.7)) + 1,
                "acceptance": None,
            }
        )
    return parse_plan({"steps": steps}, goal="benchmark")


def groups_for(plan: Plan, cat: Catalog) -> tuple[list[list[knapsack.Item]], list[float]]:
    flt = CandidateFilter()
    crit = plan.criticality()
    weights = [1 + 0.25 * crit[s.id] for s in plan.steps]
    groups = []
    for s, w in zip(plan.steps, weights, strict=True):
        cands = step_candidates(s, cat, flt).candidates
        groups.append([knapsack.Item(c.cost_usd, w * math.log(c.prior)) for c in cands])
    return groups, weights


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def part_a_b(cat: Catalog, n_plans: int, rng: random.Random) -> None:
    times: dict[str, list[float]] = {"cheapest": [], "balanced": [], "best_quality": []}
    exact_count = total = 0
    optimal = 0
    gaps_obj: list[float] = []
    gaps_success: list[float] = []
    for _ in range(n_plans):
        plan = random_plan(rng, rng.randint(2, 12))
        base = allocate(plan, cat, budget_usd=1e6, strategy="cheapest")
        top = allocate(plan, cat, budget_usd=1e6, strategy="best_quality")
        for frac in (0.05, 0.2, 0.5, 0.9):
            steps_cap = base.total_est_cost_usd + frac * (
                top.total_est_cost_usd - base.total_est_cost_usd
            )
            budget = max(steps_cap / 0.8, base.minimum_budget_usd)
            for strategy in times:
                t0 = time.perf_counter()
                try:
                    a = allocate(plan, cat, budget_usd=budget, strategy=strategy)
                except BudgetError:
                    continue
                times[strategy].append(time.perf_counter() - t0)
                if strategy == "best_quality":
                    total += 1
                    exact_count += a.exact
            groups, weights = groups_for(plan, cat)
            cap = budget * 0.8
            exact = knapsack.solve_exact(groups, cap, priority=weights)
            greedy = knapsack.solve_greedy(groups, cap, priority=weights)
            gap = exact.value - greedy.value
            optimal += gap <= 1e-9
            gaps_obj.append(gap)
            gaps_success.append(1 - math.exp(-gap))  # relative loss of (weighted) success
    print("(a) allocate() time per call, random plans of 2-12 steps on", len(cat), "models")
    for strategy, ts in times.items():
        ms = [t * 1000 for t in ts]
        print(
            f"    {strategy:13s} n={len(ms):4d}  median {statistics.median(ms):6.2f} ms  "
            f"p95 {pct(ms, 0.95):6.2f} ms  max {max(ms):6.2f} ms"
        )
    print(f"    best_quality proved optimal in {exact_count}/{total} instances")
    n = len(gaps_obj)
    print("(b) greedy (cheapest start + hull upgrades by gain/$ + swap polish) vs exact optimum")
    print(f"    optimal in {optimal}/{n} instances ({optimal / n:.1%})")
    print(
        f"    objective gap: mean {statistics.mean(gaps_obj):.5f}  max {max(gaps_obj):.5f}  "
        f"(relative success lost: mean {statistics.mean(gaps_success):.3%}, "
        f"worst {max(gaps_success):.2%})"
    )


def synthetic_catalog(rng: random.Random, n: int, *, correlated: bool) -> Catalog:
    models = []
    for i in range(n):
        price = rng.lognormvariate(0, 1.3)
        quality = {}
        for cap in CAPABILITIES:
            if correlated:
                q = 0.5 + 0.08 * math.log1p(price * 4) + rng.uniform(-0.002, 0.002)
            else:
                q = 0.45 + 0.1 * math.log1p(price) + rng.uniform(-0.08, 0.08)
            quality[cap] = min(0.97, max(0.3, q))
        models.append(
            Model(
                id=f"p{i % 7}/m{i}",
                provider=f"p{i % 7}",
                api_name=f"m{i}",
                tier="mid",
                input_per_mtok=price,
                output_per_mtok=price * rng.uniform(2, 6),
                context_window=1_000_000,
                max_output_tokens=100_000,
                quality=quality,
            )
        )
    return Catalog(models)


def part_c(rng: random.Random) -> None:
    print("(c) stress: 40-model synthetic catalogs, exact solver (Pareto-frontier DP)")
    for correlated in (False, True):
        cat = synthetic_catalog(rng, 40, correlated=correlated)
        for n in (12, 30, 100):
            ts: list[float] = []
            work: list[int] = []
            exact = 0
            runs = 6
            for _ in range(runs):
                plan = random_plan(rng, n)
                groups, weights = groups_for(plan, cat)
                base = knapsack.solve_cheapest(groups).cost
                top = sum(max(i.cost for i in g) for g in groups)
                cap = base + rng.uniform(0.1, 0.6) * (top - base)
                t0 = time.perf_counter()
                sol = knapsack.solve_exact(groups, cap, priority=weights)
                ts.append(time.perf_counter() - t0)
                work.append(sol.nodes)
                exact += sol.exact
            kind = "correlated  " if correlated else "uncorrelated"
            print(
                f"    {kind} {n:3d} steps: median {statistics.median(ts) * 1000:7.1f} ms  "
                f"max {max(ts) * 1000:7.1f} ms  work max {max(work):7d}  exact {exact}/{runs}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--catalog", type=Path, help="catalog JSON (default: the bundled one)")
    parser.add_argument("--plans", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    cat = Catalog.bundled()
    if args.catalog:
        import json

        rows = json.loads(args.catalog.read_text())["models"]
        cat = Catalog.from_rows(rows, source=str(args.catalog))
    rng = random.Random(args.seed)
    part_a_b(cat, args.plans, rng)
    part_c(rng)


if __name__ == "__main__":
    main()
