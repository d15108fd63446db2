"""Scheduler benchmark: overhead per step, and makespan against the critical-path bound.

    python benchmarks/bench_scheduler.py            # all three parts, figures on stdout
    python benchmarks/bench_scheduler.py --quick    # smaller, for a smoke run
    python benchmarks/bench_scheduler.py --json     # one JSON document instead of text

(a) Overhead: random DAGs of 1,000 and 10,000 steps whose steps take no time (they return at
    once, without suspending). Wall and CPU time of the whole ``run_dag`` call (validation
    and result included) divided by the number of steps. A bare "spawn one anyio task per
    step" loop is timed in the same process as a yardstick of this machine's speed.
(b) Makespan: random DAGs whose steps sleep a lognormal 10-200 ms. Makespan divided by the
    critical-path bound (the longest latency-weighted path: no schedule can beat it with
    unlimited concurrency).
(c) The same DAGs under a wave scheduler (each dependency level waits for its slowest step
    before the next starts, as TokenWise does), for comparison.
(d) With 8 slots the bound is max(critical path, total work / 8); ready steps are ordered
    critical-path first, with and without latency hints.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from tokenplan.execution import critical_path, run_dag

Graph = dict[str, list[str]]


def random_dag(n: int, *, seed: int, window: int = 40, max_deps: int = 3) -> Graph:
    """``n`` steps; each depends on up to ``max_deps`` of the ``window`` steps before it."""
    rng = random.Random(seed)
    graph: Graph = {}
    for i in range(n):
        lo = max(0, i - window)
        k = min(i - lo, rng.randint(0, max_deps))
        graph[f"s{i}"] = [f"s{j}" for j in rng.sample(range(lo, i), k)]
    return graph


def latencies(graph: Graph, *, seed: int) -> dict[str, float]:
    """Lognormal step latencies (median ~45 ms), clipped to 10-200 ms."""
    rng = random.Random(seed)
    return {sid: min(0.200, max(0.010, rng.lognormvariate(math.log(0.045), 0.8))) for sid in graph}


def levels(graph: Graph) -> list[list[str]]:
    """Dependency levels: a step's level is 1 + the highest level of its dependencies."""
    level: dict[str, int] = {}
    for sid in graph:  # random_dag lists every step after its dependencies
        level[sid] = 1 + max((level[d] for d in graph[sid]), default=-1)
    out: list[list[str]] = [[] for _ in range(max(level.values()) + 1)]
    for sid, lv in level.items():
        out[lv].append(sid)
    return out


async def run_in_waves(graph: Graph, step: Callable[[str], Awaitable[Any]]) -> None:
    for wave in levels(graph):
        async with anyio.create_task_group() as tg:
            for sid in wave:
                tg.start_soon(step, sid)


async def zero(sid: str) -> None:
    return None


async def bare_spawns(n: int) -> float:
    """CPU seconds to spawn and run ``n`` empty anyio tasks: this machine's yardstick."""
    t0 = time.process_time()
    async with anyio.create_task_group() as tg:
        for _ in range(n):
            tg.start_soon(zero, "")
    return time.process_time() - t0


def part_overhead(
    sizes: list[int], repeats: int, backend_options: dict[str, Any]
) -> list[dict[str, Any]]:
    variants: dict[str, dict[str, Any]] = {
        "unlimited": {},
        "concurrency=16": {"concurrency": 16},
        "events on": {"on_event": lambda e: None},
        "timeout+events+limits": {
            "on_event": lambda e: None,
            "step_timeout_s": 60.0,
            "concurrency": 64,
            "limiter_key": lambda sid: "a" if sid[-1] in "02468" else "b",
            "limits": {"a": 16},
        },
    }
    rows = []
    for n in sizes:
        graph = random_dag(n, seed=n)

        async def measure(options: dict[str, Any], graph: Graph = graph) -> tuple[float, float]:
            wall, cpu = time.perf_counter(), time.process_time()
            result = await run_dag(graph, zero, **options)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            assert result.status.value == "succeeded"
            return wall, cpu

        spawn = min(anyio.run(bare_spawns, n, **backend_options) for _ in range(repeats))
        for name, options in variants.items():
            runs = [anyio.run(measure, options, **backend_options) for _ in range(repeats)]
            walls = [w for w, _ in runs]
            rows.append(
                {
                    "steps": n,
                    "variant": name,
                    "us_per_step_best": min(walls) / n * 1e6,
                    "us_per_step_median": statistics.median(walls) / n * 1e6,
                    "cpu_us_per_step_best": min(c for _, c in runs) / n * 1e6,
                    "bare_spawn_us": spawn / n * 1e6,
                }
            )
    return rows


def part_makespan(dags: int, steps: int, backend_options: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for k in range(dags):
        graph = random_dag(steps, seed=1000 + k, window=25)
        lat = latencies(graph, seed=2000 + k)
        bound, _ = critical_path(graph, lat)

        async def step(sid: str, lat: dict[str, float] = lat) -> None:
            await anyio.sleep(lat[sid])

        async def event_driven(graph: Graph = graph, step: Any = step) -> tuple[float, float]:
            t0 = time.perf_counter()
            result = await run_dag(graph, step)
            makespan = time.perf_counter() - t0
            # The same bound over the durations the steps really took (sleeps overshoot by a
            # timer tick or so): what is left above it is the scheduler's own delay.
            took = {sid: r.duration_s or 0.0 for sid, r in result.steps.items()}
            return makespan, critical_path(graph, took)[0]

        async def waves(graph: Graph = graph, step: Any = step) -> float:
            t0 = time.perf_counter()
            await run_in_waves(graph, step)
            return time.perf_counter() - t0

        ours, measured_bound = anyio.run(event_driven, **backend_options)
        wave = anyio.run(waves, **backend_options)
        rows.append(
            {
                "dag": k,
                "steps": steps,
                "levels": len(levels(graph)),
                "critical_path_s": bound,
                "event_driven_ratio": ours / bound,
                "event_driven_vs_measured": ours / measured_bound,
                "wave_ratio": wave / bound,
            }
        )
    return rows


def part_limited(
    dags: int, steps: int, slots: int, backend_options: dict[str, Any]
) -> list[dict[str, Any]]:
    rows = []
    for k in range(dags):
        graph = random_dag(steps, seed=3000 + k, window=25)
        lat = latencies(graph, seed=4000 + k)
        bound = max(critical_path(graph, lat)[0], sum(lat.values()) / slots)

        async def step(sid: str, lat: dict[str, float] = lat) -> None:
            await anyio.sleep(lat[sid])

        async def timed(
            hints: dict[str, float] | None, graph: Graph = graph, step: Any = step
        ) -> float:
            t0 = time.perf_counter()
            await run_dag(graph, step, concurrency=slots, duration_hint_s=hints)
            return time.perf_counter() - t0

        rows.append(
            {
                "dag": k,
                "lower_bound_s": bound,
                "ratio_step_count_priority": anyio.run(timed, None, **backend_options) / bound,
                "ratio_latency_hints": anyio.run(timed, lat, **backend_options) / bound,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per overhead figure")
    parser.add_argument("--dags", type=int, default=8, help="random DAGs for makespan")
    parser.add_argument("--steps", type=int, default=150, help="steps per makespan DAG")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    sizes = [1_000, 10_000]
    if args.quick:
        sizes, args.repeats, args.dags, args.steps = [1_000], 2, 2, 60
    backend_options: dict[str, Any] = (
        {"backend_options": {"use_uvloop": True}} if args.uvloop else {}
    )

    overhead = part_overhead(sizes, args.repeats, backend_options)
    makespan = part_makespan(args.dags, args.steps, backend_options)
    limited = part_limited(max(2, args.dags // 2), args.steps, 8, backend_options)
    report = {
        "python": sys.version.split()[0],
        "loop": "uvloop" if args.uvloop else "asyncio",
        "overhead": overhead,
        "makespan": makespan,
        "limited": limited,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0

    print(f"# scheduler benchmark (Python {report['python']}, {report['loop']})")
    print("\n(a) overhead per step, zero-latency steps (target <= 50 us)")
    print("wall = whole run_dag call / steps; cpu = process CPU time (steadier on a busy host);")
    print("bare spawn = CPU per empty anyio task, the machine's yardstick")
    print(
        f"{'steps':>7} {'variant':<24} {'wall best':>10} {'wall median':>12} "
        f"{'cpu best':>9} {'bare spawn':>11}"
    )
    for r in overhead:
        print(
            f"{r['steps']:>7} {r['variant']:<24} {r['us_per_step_best']:>10.1f} "
            f"{r['us_per_step_median']:>12.1f} {r['cpu_us_per_step_best']:>9.1f} "
            f"{r['bare_spawn_us']:>11.1f}"
        )
    print("\n(b, c) makespan / critical-path bound, lognormal 10-200 ms steps, unlimited slots")
    print("(vs measured: the bound recomputed from the durations the steps really took)")
    print(
        f"{'dag':>4} {'levels':>7} {'bound s':>8} {'event-driven':>13} "
        f"{'vs measured':>12} {'waves':>7}"
    )
    for r in makespan:
        print(
            f"{r['dag']:>4} {r['levels']:>7} {r['critical_path_s']:>8.3f} "
            f"{r['event_driven_ratio']:>13.3f} {r['event_driven_vs_measured']:>12.3f} "
            f"{r['wave_ratio']:>7.3f}"
        )
    ours = [r["event_driven_ratio"] for r in makespan]
    measured = [r["event_driven_vs_measured"] for r in makespan]
    wave = [r["wave_ratio"] for r in makespan]
    print(
        f"event-driven: mean {statistics.mean(ours):.3f} worst {max(ours):.3f} (target <= 1.05); "
        f"vs measured: mean {statistics.mean(measured):.3f} worst {max(measured):.3f}"
    )
    print(f"waves:        mean {statistics.mean(wave):.3f} worst {max(wave):.3f}")
    print("\n(d) 8 slots: makespan / max(critical path, work / 8)")
    for r in limited:
        print(
            f"dag {r['dag']}: step-count priority {r['ratio_step_count_priority']:.3f}   "
            f"latency hints {r['ratio_latency_hints']:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
