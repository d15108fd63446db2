"""results.csv, curves.csv, pareto.png and the markdown table, from a small replay run."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from _bench_data import synthetic_outcomes
from tokenplan.bench import (
    Split,
    markdown_table,
    plot_pareto,
    run_replay_benchmark,
    write_curves_csv,
    write_results_csv,
)
from tokenplan.bench.dataset import OutcomeDataset, Sample
from tokenplan.bench.report import write_tasks_csv
from tokenplan.bench.results import BenchResult


@pytest.fixture(scope="module")
def result() -> BenchResult:
    import anyio

    async def go() -> BenchResult:
        return await run_replay_benchmark(
            synthetic_outcomes(120), split=Split(0.5, 1), curve_points=4
        )

    return anyio.run(go)


def test_rows_cover_every_policy_kind(result: BenchResult) -> None:
    kinds = {r.kind for r in result.rows}
    assert kinds == {"single", "router", "cascade", "baseline", "oracle"}
    names = {r.policy for r in result.rows}
    assert {
        "t/big",
        "t/cheap-a",
        "oracle",
        "agree-2",
        "agree-cascade@10%",
        "random-mix@50%",
        "router:cheapest",
        "router:balanced",
        "router:best_quality",
        "escalation:cheapest",
        "escalation:balanced",
        "cascade-bound@10%",
        "cascade-bound@20%",
    } <= names
    by = {r.policy: r for r in result.rows}
    assert by["t/big"].pct_best_accuracy == 100.0
    assert by["oracle"].accuracy == 1.0
    assert by["cascade-bound@20%"].kind == "oracle"  # fitted on eval grades: a bound only
    assert by["random-mix@50%"].apgr is not None
    assert by["agree-cascade@20%"].apgr is not None
    assert all(r.errors == 0 for r in result.rows)
    assert set(result.curves) == {"agree-cascade", "random-mix"}


def test_results_csv(result: BenchResult, tmp_path: Path) -> None:
    path = write_results_csv([result], tmp_path / "out" / "results.csv")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(result.rows)
    assert {
        "dataset",
        "policy",
        "kind",
        "accuracy",
        "usd_per_1k",
        "pct_best_accuracy",
        "pct_best_cost",
        "escalation_rate",
        "apgr",
        "cpt50",
        "cpt80",
    } <= set(rows[0])
    big = next(r for r in rows if r["policy"] == "t/big")
    assert float(big["accuracy"]) == 1.0
    assert big["apgr"] == ""
    curves = write_curves_csv([result], tmp_path / "out" / "curves.csv")
    assert curves.read_text().startswith("dataset,family,strong_share,accuracy,usd_per_1k")


def test_plot_is_a_png(result: BenchResult, tmp_path: Path) -> None:
    path = plot_pareto([result, result], tmp_path / "pareto.png", title="test")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000


def test_markdown_table(result: BenchResult) -> None:
    text = markdown_table(result)
    assert text.startswith(f"### {result.dataset}")
    assert "| policy | kind | accuracy | USD / 1k |" in text
    assert text.count("\n| ") == len(result.rows) + 1  # header + one line per row
    assert "| oracle | oracle | 1.000 |" in text
    assert "split train:0.5 (seed 1)" in text


def test_tasks_csv_and_by_task_table(tmp_path: Path) -> None:
    import anyio

    ds = synthetic_outcomes(120)
    two_tasks = OutcomeDataset(
        name="two",
        id_prefix=ds.id_prefix,
        models=ds.models,
        samples=[
            Sample(s.id, s.text, "arc-challenge" if i % 2 else "winogrande", s.capability)
            for i, s in enumerate(ds.samples)
        ],
        outcomes={m: ds.column(m) for m in ds.models},
    )

    async def go() -> BenchResult:
        return await run_replay_benchmark(two_tasks, split=Split(0.5, 1), curve_points=3)

    result = anyio.run(go)
    assert {t.task for t in result.tasks} == {"arc-challenge", "winogrande"}
    path = write_tasks_csv([result], tmp_path / "tasks.csv")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * len(result.rows)
    big = [r for r in rows if r["policy"] == "t/big"]
    assert {float(r["pct_reference_accuracy"]) for r in big} == {100.0}
    text = markdown_table(result)
    assert "By task: accuracy" in text
    assert "| policy | arc-challenge (n=" in text
