"""Every example in examples/ runs as documented (offline, simulator latency 0), so none can rot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TOKENPLAN_SIM_LATENCY_SCALE": "0"}
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=60, env=env
    )


def test_the_examples_are_numbered_in_one_sequence() -> None:
    names = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert names[:5] == [
        "01_route.py",
        "02_catalog.py",
        "03_provider_fallback.py",
        "04_plan_and_execute.py",
        "05_budget_comparison.py",
    ]
    assert all(name[:2].isdigit() and name[2] == "_" for name in names)
    for path in EXAMPLES.glob("*.py"):
        assert f"python examples/{path.name}" in path.read_text(), path.name


def test_01_route() -> None:
    res = run("01_route.py")
    assert res.returncode == 0, res.stderr
    lines = [line for line in res.stdout.splitlines() if " -> " in line]
    assert len(lines) == 9
    assert any(line.startswith("cheapest") and "general/simple" in line for line in lines)


def test_02_catalog() -> None:
    res = run("02_catalog.py")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].endswith("openrouter, xai")
    assert [line.split()[0] for line in lines[1:4]] == ["budget", "mid", "flagship"]
    assert lines[4] == "openai/gpt-5: $0.00750 for 2,000 in + 500 out"


def test_03_provider_fallback() -> None:
    res = run("03_provider_fallback.py")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("Echo from gpt-5-mini: Name a lighthouse in Brittany.")
    assert "ModelUnavailableError" in res.stdout
    assert "RateLimitError" in res.stdout
    assert "openai/gpt-5-mini · " in res.stderr
    assert "3 calls" in res.stderr


def test_04_plan_and_execute(isolated_env: Path) -> None:
    res = run("04_plan_and_execute.py")
    assert res.returncode == 0, res.stderr
    out = res.stdout.splitlines()
    status = next(line for line in out if " of $0.05 (" in line)
    assert status.split(":")[0] in ("succeeded", "failed")
    run_id = status.rsplit("(", 1)[1].rstrip(")")
    result = out[-1].removeprefix("result: ")
    assert Path(result) == isolated_env / "runs" / run_id / "result.md"
    assert Path(result).is_file()


@pytest.mark.slow
def test_05_budget_comparison(isolated_env: Path) -> None:
    res = run("05_budget_comparison.py")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["$0.0015", "$0.005", "$0.02", "$0.1"]
    assert "too small: this plan needs a budget of $" in lines[0]
    spent = [float(line.split("spent $")[1].split(":")[0]) for line in lines[1:]]
    assert spent == sorted(spent)  # more budget, better (dearer) models
    assert len(list((isolated_env / "runs").iterdir())) == 4
