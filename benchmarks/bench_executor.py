"""Executor benchmark: end-to-end overhead per LLM step, and makespan against the critical path.

    python benchmarks/bench_executor.py            # both parts, figures on stdout
    python benchmarks/bench_executor.py --quick    # smaller, for a smoke run
    python benchmarks/bench_executor.py --json     # one JSON document instead of text

(a) Overhead: random plans of 1,000 and 10,000 steps run by the real executor (scheduler, step
    runner, prompts, fallback and metering layers, budget, ledger file, run folder with every
    step's output) on the offline simulator with latency 0 and no faults. The simulator's own
    time (it writes the answers) is measured around each of its calls and subtracted:
    ``overhead = (wall - simulator) / steps``. ``bench_scheduler.py`` gives the scheduler's
    share alone.
(b) Makespan: random 40-step plans on models of every tier, with the simulator's real
    latencies scaled down (``--scale``, default 0.05) and unlimited concurrency. The makespan
    is divided by the critical-path bound computed from the measured step durations (no
    schedule can beat it), and compared with a wave schedule (each dependency level waits for
    its slowest step before the next starts, as TokenWise does) of the same durations.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from typing import Any

import anyio

from tokenplan import Catalog, Executor, Runtime, Settings
from tokenplan.execution import critical_path
from tokenplan.planning.schema import Plan, Step
from tokenplan.providers.sim import SimulatorModel
from tokenplan.types import ChatRequest, ChatResponse

# One model per tier and capability mix: pinned, so allocation stays out of the measurement.
MODELS = ("openai/gpt-5-nano", "openai/gpt-5-mini", "openai/gpt-5", "deepseek/deepseek-v4-flash")


def random_plan(n: int, *, seed: int, window: int = 40, max_deps: int = 3) -> Plan:
    """``n`` connected steps; each depends on up to ``max_deps`` of the ``window`` before it."""
    rng = random.Random(seed)
    deps: list[list[int]] = []
    for i in range(n):
        lo = max(0, i - window)
        deps.append(rng.sample(range(lo, i), min(i - lo, rng.randint(0, max_deps))))
    used = {d for ds in deps for d in ds}
    for i in range(1, n):  # no orphans: a plan is one piece of work
        if not deps[i] and i not in used:
            deps[i].append(0)
    steps = tuple(
        Step(
            id=f"s{i}",
            title=f"Step {i}",
            instructions=f"Write part {i} of the notes on tidal energy.",
            capability="general",
            depends_on=tuple(f"s{d}" for d in deps[i]),
            est_input_tokens=rng.randint(200, 800),
            est_output_tokens=rng.randint(300, 600),
            model=rng.choice(MODELS),
        )
        for i in range(n)
    )
    return Plan(goal="Notes on tidal energy", steps=steps)


class TimedSim:
    """The simulator, with the time spent inside its calls added up."""

    def __init__(self, inner: SimulatorModel) -> None:
        self.inner = inner
        self.busy_s = 0.0
        self.cpu_s = 0.0
        self.calls = 0

    async def complete(self, request: ChatRequest) -> ChatResponse:
        t, c = time.perf_counter(), time.process_time()
        try:
            return await self.inner.complete(request)
        finally:
            self.busy_s += time.perf_counter() - t
            self.cpu_s += time.process_time() - c
            self.calls += 1

    def stream(self, request: ChatRequest) -> Any:
        return self.inner.stream(request)


def _settings(home: str, scale: float) -> Settings:
    env = {
        "TOKENPLAN_HOME": home,
        "TOKENPLAN_OFFLINE": "1",
        "TOKENPLAN_SIM_LATENCY_SCALE": str(scale),
        "TOKENPLAN_SIM_FAILURE_RATE": "0",
        "TOKENPLAN_SIM_ERROR_RATE": "0",
    }
    return Settings.load(env=env)


async def _run(plan: Plan, *, scale: float, home: str) -> tuple[Any, TimedSim, float, float]:
    settings = _settings(home, scale)
    catalog = Catalog.bundled()
    sim = TimedSim(SimulatorModel.from_settings(catalog, settings))
    from tokenplan.ledger.store import Ledger

    big = len(plan.steps)
    async with Runtime(
        settings, catalog=catalog, simulator=sim, ledger=Ledger(settings.ledger_file)
    ) as runtime:
        executor = Executor(runtime, concurrency=big, provider_concurrency=big, step_timeout_s=None)
        planned = executor.prepare(plan, budget_usd=1_000.0, strategy="cheapest")
        t, c = time.perf_counter(), time.process_time()
        result = await executor.run(planned)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
    return result, sim, wall, cpu


def overhead(n: int, *, seed: int, where: str | None = None) -> dict[str, Any]:
    plan = random_plan(n, seed=seed)
    with tempfile.TemporaryDirectory(dir=where) as home:
        result, sim, wall, cpu = anyio.run(lambda: _run(plan, scale=0.0, home=home))
    assert result.ok, result.counts()
    return {
        "steps": n,
        "calls": sim.calls,
        "wall_s": round(wall, 3),
        "simulator_s": round(sim.busy_s, 3),
        "overhead_us_per_step": round((wall - sim.busy_s) / n * 1e6, 1),
        "overhead_cpu_us_per_step": round((cpu - sim.cpu_s) / n * 1e6, 1),
        "wall_us_per_step": round(wall / n * 1e6, 1),
    }


def _levels(plan: Plan) -> list[list[str]]:
    level: dict[str, int] = {}
    for step in plan.steps:  # random_plan lists every step after its dependencies
        level[step.id] = 1 + max((level[d] for d in step.depends_on), default=-1)
    out: list[list[str]] = [[] for _ in range(max(level.values()) + 1)]
    for sid, lv in level.items():
        out[lv].append(sid)
    return out


def makespan(n: int, *, seed: int, scale: float) -> dict[str, Any]:
    plan = random_plan(n, seed=seed, window=8)
    with tempfile.TemporaryDirectory() as home:
        result, _, _, _ = anyio.run(lambda: _run(plan, scale=scale, home=home))
    assert result.ok, result.counts()
    assert result.run is not None
    durations = {sid: (s.duration_s or 0.0) for sid, s in result.run.steps.items()}
    graph = {s.id: list(s.depends_on) for s in plan.steps}
    bound, _ = critical_path(graph, durations)
    waves = sum(max(durations[s] for s in level) for level in _levels(plan))
    span = result.run.makespan_s
    return {
        "steps": n,
        "makespan_s": round(span, 3),
        "critical_path_s": round(bound, 3),
        "ratio": round(span / bound, 4),
        "wave_s": round(waves, 3),
        "wave_ratio": round(waves / bound, 4),
        "step_s": [round(min(durations.values()), 3), round(max(durations.values()), 3)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--scale", type=float, default=0.05, help="simulator latency scale (b)")
    parser.add_argument("--seeds", type=int, default=3, help="plans per size")
    parser.add_argument(
        "--dir", default=None, help="where run folders and the ledger go (default: temp dir)"
    )
    args = parser.parse_args(argv)
    sizes = (200, 1_000) if args.quick else (1_000, 10_000)
    seeds = 1 if args.quick else args.seeds
    report: dict[str, Any] = {
        "overhead": [
            overhead(n, seed=s, where=args.dir)
            for n in sizes
            for s in range(seeds if n < 5000 else 1)
        ],
        "makespan": [makespan(40, seed=s, scale=args.scale) for s in range(seeds + 2)],
    }
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print("(a) end-to-end executor overhead per step (simulator latency 0, its own time removed)")
    for row in report["overhead"]:
        print(
            f"  {row['steps']:>6} steps: {row['overhead_us_per_step']:7.1f} µs/step overhead, "
            f"{row['overhead_cpu_us_per_step']:.1f} µs CPU ({row['wall_us_per_step']:.1f} µs/step "
            f"wall, simulator {row['simulator_s']} s of {row['wall_s']} s)"
        )
    print(f"(b) makespan / critical-path bound, 40-step plans, latency scale {args.scale}")
    for row in report["makespan"]:
        print(
            f"  makespan {row['makespan_s']:.3f} s, bound {row['critical_path_s']:.3f} s: "
            f"ratio {row['ratio']:.3f}   (waves: {row['wave_s']:.3f} s, {row['wave_ratio']:.2f}x)"
        )
    ratios = [r["ratio"] for r in report["makespan"]]
    waves = [r["wave_ratio"] for r in report["makespan"]]
    print(f"  median ratio {statistics.median(ratios):.3f}, waves {statistics.median(waves):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
