"""benchmarks/pareto.py end to end, as a subprocess, on a dataset written here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from _bench_data import synthetic_outcomes, write_routerbench_csv

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
    proc = _run("--data", str(data), "--dataset", "routerbench", "--out", str(out), "--seed", "3")
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
    assert "(seed 3)" in proc.stdout
    assert "error" not in proc.stderr.lower()


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
    line = _one_line_error(_run("--live", "--out", str(tmp_path), env=env))
    assert "OPENAI_API_KEY" in line
    assert "ANTHROPIC_API_KEY" in line


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


def test_live_with_a_key_needs_the_runtime(tmp_path: Path) -> None:
    env = dict(os.environ, OPENAI_API_KEY="sk-test-not-a-real-key-000000")
    line = _one_line_error(_run("--live", "--out", str(tmp_path), env=env))
    assert "tokenplan.runtime" in line
    assert "sk-test" not in line
    line = _one_line_error(_run("--sim", "--out", str(tmp_path)))
    assert "tokenplan.providers.sim" in line
