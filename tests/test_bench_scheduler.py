"""The scheduler benchmark script runs (tiny sizes), so it cannot rot between releases."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_scheduler.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_scheduler", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_parts_produce_sane_figures() -> None:
    bench = load()
    graph = bench.random_dag(50, seed=1, window=10)
    assert all(int(d[1:]) < int(s[1:]) for s, deps in graph.items() for d in deps)
    assert sum(len(level) for level in bench.levels(graph)) == 50

    overhead = bench.part_overhead([200], 1, {})
    assert {r["variant"] for r in overhead} >= {"unlimited", "events on"}
    assert all(r["us_per_step_best"] > 0 for r in overhead)

    (row,) = bench.part_makespan(1, 12, {})
    assert row["event_driven_ratio"] >= 0.99  # nothing beats the critical path
    assert row["wave_ratio"] >= 0.99
