"""benchmarks/pareto.py end to end, as a subprocess, on a dataset written here."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from _bench_data import synthetic_outcomes, write_routerbench_csv
from tokenplan.catalog import Catalog
from tokenplan.testing import FakeProviders, serve_fake

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "pareto.py"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env or dict(os.environ),
    )


def test_replay_run_writes_every_output(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_routerbench_csv(data / "routerbench-subset" / "arc.csv", synthetic_outcomes(120))
    out = tmp_path / "out"
    ledger = tmp_path / "bench-ledger.jsonl"
    proc = _run(
        "--data", str(data), "--dataset", "routerbench", "--out", str(out), "--seed", "3",
        "--ledger", str(ledger),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for name in (
        "results.csv",
        "curves.csv",
        "pareto.png",
        "pareto-routerbench.png",
        "fitted.json",
        "results.md",
    ):
        assert (out / name).stat().st_size > 0, name
    assert proc.stdout.startswith("### routerbench")
    assert "| rb/big | single |" in proc.stdout
    for policy in ("router:balanced", "escalation:balanced", "agree-cascade@20%", "oracle"):
        assert f"| {policy} |" in proc.stdout
    assert "(seed 3)" in proc.stdout
    assert "error" not in proc.stderr.lower()
    lines = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert lines
    assert {d["kind"] for d in lines} == {"bench"}
    assert {d["provider"] for d in lines} == {"replay"}
    assert len({d["run_id"] for d in lines}) == 1


def test_replay_budget_is_a_ceiling_per_policy(tmp_path: Path) -> None:
    write_routerbench_csv(tmp_path / "d" / "x.csv", synthetic_outcomes(60))
    out = tmp_path / "out"
    proc = _run("--data", str(tmp_path / "d"), "--budget", "0.01", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    with (out / "results.csv").open(newline="") as fh:
        rows = {r["policy"]: r for r in csv.DictReader(fh)}
    n = int(rows["rb/big"]["n"])
    for row in rows.values():
        assert float(row["usd_per_1k"]) * n / 1000 <= 0.01 + 1e-9, row["policy"]
    assert int(rows["rb/big"]["errors"]) > 0  # the strong model alone cannot fit $0.01


def test_a_folder_of_csvs_is_accepted_directly(tmp_path: Path) -> None:
    write_routerbench_csv(tmp_path / "csvs" / "x.csv", synthetic_outcomes(60))
    proc = _run(
        "--data", str(tmp_path / "csvs"), "--dataset", "routerbench", "--out", str(tmp_path / "o")
    )
    assert proc.returncode == 0, proc.stderr


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_live_without_keys_refuses_naming_the_variables(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["TOKENPLAN_HOME"] = str(tmp_path / "home")
    line = _one_line_error(_run("--live", "--out", str(tmp_path), env=env))
    assert "OPENAI_API_KEY" in line
    assert "ANTHROPIC_API_KEY" in line
    assert "TOKENPLAN_OPENAI_BASE_URL" in line


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    write_routerbench_csv(tmp_path / "d" / "x.csv", synthetic_outcomes(20))
    line = _one_line_error(
        _run("--data", str(tmp_path / "d"), "--split", "train:2", "--out", str(tmp_path))
    )
    assert "--split" in line
    line = _one_line_error(_run("--data", str(tmp_path / "missing"), "--out", str(tmp_path)))
    assert "does not exist" in line
    line = _one_line_error(
        _run("--data", str(tmp_path / "d"), "--dataset", "routellm", "--out", str(tmp_path))
    )
    assert "RouteLLM" in line


def _ledger(home: Path) -> list[dict[str, object]]:
    path = home / "data" / "ledger.jsonl"
    if not path.exists():
        path = next(home.rglob("ledger.jsonl"))
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_sim_smoke_run_goes_through_the_simulator(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["TOKENPLAN_HOME"] = str(home)
    out = tmp_path / "out"
    proc = _run("--sim", "--out", str(out), "--budget", "0.5", env=env)
    assert proc.returncode == 0, proc.stderr
    for name in ("results.csv", "pareto.png", "results.md"):
        assert (out / name).stat().st_size > 0, name
    assert proc.stdout.startswith("### sim")
    for policy in ("router:balanced", "escalation:balanced", "agree-2", "oracle"):
        assert f"| {policy} |" in proc.stdout
    lines = _ledger(home)
    assert lines
    assert {d["kind"] for d in lines} == {"bench"}
    assert all(d["simulated"] for d in lines)
    assert sum(float(d["cost_usd"]) for d in lines) <= 0.5  # type: ignore[arg-type]


def test_live_runs_through_the_runtime_against_a_loopback_provider(tmp_path: Path) -> None:
    catalog = Catalog.bundled()
    openai_ids = sorted(
        (m for m in catalog if m.provider == "openai"),
        key=lambda m: m.input_per_mtok + m.output_per_mtok,
    )
    ids = f"{openai_ids[0].id},{openai_ids[len(openai_ids) // 2].id}"
    home = tmp_path / "home"
    out = tmp_path / "out"
    with serve_fake(FakeProviders()) as server:
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env.update(server.env(key="sk-loopback-test-0000000000"))
        env["TOKENPLAN_HOME"] = str(home)
        proc = _run("--live", "--models", ids, "--budget", "0.2", "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("### live")
    assert (out / "pareto.png").stat().st_size > 0
    lines = _ledger(home)
    assert {d["kind"] for d in lines} == {"bench"}
    assert not any(d["simulated"] for d in lines)
    assert {d["model"] for d in lines} <= set(ids.split(","))
    assert sum(float(d["cost_usd"]) for d in lines) <= 0.2  # type: ignore[arg-type]
    assert "sk-loopback" not in proc.stderr + proc.stdout
