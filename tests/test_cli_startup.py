"""Start-up cost guards: the fast CLI paths must not import the heavy libraries.

``tokenplan --help`` and ``tokenplan route ... --json`` start in under 80 ms only because
httpx, pydantic, anyio, rich, msgspec (and what they pull in) stay unimported on those paths.
A module-level import anywhere on the way (a cli/*.py module, the runtime, the router, the
catalog) would silently cost 10-60 ms; these tests name the culprit instead. Timing itself is
measured by ``benchmarks/bench_startup.py``, not here (this machine is too noisy to assert it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = (
    "aiohttp",
    "anyio",
    "httpx",
    "msgspec",
    "networkx",
    "pydantic",
    "pydantic_core",
    "rich",
    "starlette",
    "uvicorn",
)


def imported_modules(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the CLI with ``-X importtime`` and return the names of every module it imported."""
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # so the run also measures what users get
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tokenplan", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    modules = {
        line.split("|")[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return proc, modules


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("route", "--help"),
        ("route", "Write a Python function that reverses a string.", "--json"),
        ("route", "What is 17*23?", "--json", "--explain", "--budget", "0.01"),
        ("models", "--json"),
        ("runs", "--json"),
        ("keys", "list", "--json"),
    ],
)
def test_fast_paths_import_no_heavy_module(args: tuple[str, ...]) -> None:
    proc, modules = imported_modules(*args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "tokenplan.cli" in modules  # the probe works: it sees our own imports
    assert heavy_in(modules) == [], f"tokenplan {' '.join(args)} imported {heavy_in(modules)}"
    if "--json" in args:
        json.loads(proc.stdout)


def test_route_json_builds_only_the_route_command() -> None:
    """The other commands' modules are imported (that registers them) but their heavy
    dependencies are not; and the JSON answer is the same as the full app's."""
    proc, modules = imported_modules("route", "hi", "--json")
    assert proc.returncode == 0
    assert not any(
        m.startswith(("tokenplan.ledger.store", "tokenplan.providers.http")) for m in modules
    )
    from tokenplan.cli import app
    from tokenplan.cli._app import app_for

    assert app_for(["route", "hi", "--json"]).registered_commands[0].name == "route"
    assert app_for(["route", "hi"]) is not app
    assert app_for(["--help"]) is app
    assert app_for(["rout", "hi"]) is app  # unknown: the full app suggests 'route'
    assert app_for(["models", "--json"]).registered_groups[0].name == "models"


def test_the_human_path_does_load_rich() -> None:
    """Control for the probe: the same command without --json renders with rich."""
    proc, modules = imported_modules("route", "hi")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "rich" in modules
