"""The Pareto benchmark: what routing saves, measured on recorded and live model outputs.

``benchmarks/pareto.py`` is the command-line front end; everything it does is here so it can
be reused and tested:

* datasets: :class:`OutcomeDataset` (prompts x models -> response, grade, cost), loaders for
  RouterBench-format CSVs (:func:`load_routerbench`) and the RouteLLM eval sets
  (:func:`load_routellm`), a deterministic train/eval :class:`Split`;
* :func:`build_catalog`: a catalog of a dataset's models fitted on its train part;
* :class:`ReplayModel`: the ``replay`` provider serving recorded responses and costs;
* :class:`MeteredModels`: every call through the product's metering layer (budget
  reservations, one ``kind="bench"`` ledger attempt per call, collected by :class:`AttemptLog`);
* policies (:mod:`tokenplan.bench.policies`): single models, the product's router and
  escalation, agreement cascades fitted on train, the random baseline and the oracle;
* the harness (:func:`run_policy`), metrics (APGR, CPT) and outputs (CSV, PNG, markdown);
* the live suite (:mod:`tokenplan.bench.live`): built-in tasks with programmatic graders.

Only graders and the oracle read grades; policies see prompts and responses.
"""

from tokenplan.bench.catalog import build_catalog
from tokenplan.bench.dataset import Outcome, OutcomeDataset, Sample, Split
from tokenplan.bench.harness import LabelGrader, PolicyOutcome, PolicyRun, run_policy
from tokenplan.bench.metering import AttemptLog, MeteredModels
from tokenplan.bench.metrics import CurvePoint, apgr, cpt, pgr
from tokenplan.bench.prices import Price, PriceTable
from tokenplan.bench.replay import ReplayModel
from tokenplan.bench.replay_bench import run_replay_benchmark
from tokenplan.bench.report import markdown_table, plot_pareto, write_curves_csv, write_results_csv
from tokenplan.bench.results import BenchResult, ResultRow
from tokenplan.bench.routellm import load_routellm
from tokenplan.bench.routerbench import load_routerbench

__all__ = [
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
]
