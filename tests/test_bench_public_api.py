"""tokenplan.bench's public API is explicit; plotting stays an optional, lazy dependency."""

from __future__ import annotations

import subprocess
import sys

import tokenplan.bench
import tokenplan.bench.live
import tokenplan.bench.policies

EXPECTED = {
    "AttemptLog",
    "BenchResult",
    "CurvePoint",
    "LabelGrader",
    "MeteredModels",
    "Outcome",
    "OutcomeDataset",
    "PolicyOutcome",
    "PolicyRun",
    "Price",
    "PriceTable",
    "ReplayModel",
    "ResultRow",
    "Sample",
    "Split",
    "apgr",
    "build_catalog",
    "cpt",
    "load_routellm",
    "load_routerbench",
    "markdown_table",
    "pgr",
    "plot_pareto",
    "run_policy",
    "run_replay_benchmark",
    "write_curves_csv",
    "write_results_csv",
}


def test_bench_all_is_locked() -> None:
    assert set(tokenplan.bench.__all__) == EXPECTED
    for module in (tokenplan.bench, tokenplan.bench.policies, tokenplan.bench.live):
        for name in module.__all__:
            assert getattr(module, name) is not None, (module.__name__, name)


def test_importing_bench_does_not_import_matplotlib() -> None:
    code = "import sys, tokenplan.bench, tokenplan.bench.live; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_cli_does_not_import_bench() -> None:
    code = "import sys, tokenplan.cli; print('tokenplan.bench' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
