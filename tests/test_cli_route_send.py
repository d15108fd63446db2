"""``tokenplan route --send [--stream]`` as a subprocess: the simulator offline, and real HTTP
against the loopback fake when a base URL and key are configured by environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tokenplan.ledger import Ledger
from tokenplan.testing import FakeProviders, Fault, serve_fake

KEY = "sk-test-route-send-0123456789"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tokenplan", "route", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "TOKENPLAN_SIM_LATENCY_SCALE": "0", **(env or {})},
        timeout=60,
    )


def test_send_offline_uses_the_simulator_and_says_so(isolated_env: Path) -> None:
    res = run("What is the capital of France?", "--send")
    assert res.returncode == 0, res.stderr
    assert "[simulated by tokenplan sim" in res.stdout
    assert "offline simulator" in res.stderr
    assert "simulated" in res.stderr.splitlines()[-1]
    attempts = list(Ledger(isolated_env / "ledger.jsonl").read())
    assert len(attempts) == 1
    assert attempts[0].kind == "route"
    assert attempts[0].outcome == "ok"
    assert attempts[0].simulated


def test_send_json_document(isolated_env: Path) -> None:
    res = run("Add 2 and 3.", "--send", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["simulated"] is True
    assert doc["calls"] == 1
    assert doc["cost_usd"] > 0
    assert set(doc) >= {"model", "provider", "text", "usage", "latency_ms", "run_id"}
    # The endpoint that bills the model, as the ledger records it; "simulated" tells it apart.
    attempts = list(Ledger(isolated_env / "ledger.jsonl").read())
    assert doc["provider"] == attempts[0].provider != "sim"


@pytest.mark.parametrize("explain", [False, True])
def test_send_json_carries_the_routing_decision(isolated_env: Path, explain: bool) -> None:
    res = run("Add 2 and 3.", "--send", "--json", *(["--explain"] if explain else []))
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    route = doc["route"]  # what `route --json` prints, beside the answer's keys
    assert route["model"] == route["ladder"][0]["model"]
    assert doc["model"] in {rung["model"] for rung in route["ladder"]}
    assert {"strategy", "capability", "estimated_cost_usd", "reason"} <= set(route)
    assert ("classification" in route) is explain
    assert ("dropped" in route) is explain


def test_send_honours_explain(isolated_env: Path) -> None:
    res = run("Add 2 and 3.", "--send", "--explain")
    assert res.returncode == 0, res.stderr
    assert "classification" in res.stderr
    assert "candidates (ladder)" in res.stderr
    assert "[simulated by tokenplan sim" in res.stdout


def test_send_notes_are_one_line_each_on_a_pipe(isolated_env: Path) -> None:
    res = run("What is the capital of France?", "--send", env={"COLUMNS": "80"})
    assert res.returncode == 0, res.stderr
    lines = res.stderr.splitlines()
    notes = [line for line in lines if line.startswith("note: ")]
    assert len(notes) == 1
    assert notes[0].endswith("for a local server")  # not cut at 80 columns
    assert lines[-1].endswith("simulated")
    assert "tokens · " in lines[-1]  # the summary is one line too


def test_stream_without_send_is_a_usage_error() -> None:
    res = run("hi", "--stream")
    assert res.returncode == 2
    assert res.stderr.strip() == "error: --stream needs --send (add --send to call the model)"


@pytest.mark.parametrize("stream", [False, True])
def test_send_over_real_http_falls_back_along_the_ladder(isolated_env: Path, stream: bool) -> None:
    fake = FakeProviders(api_keys=[KEY])
    with serve_fake(fake) as server:
        env = server.env(key=KEY)
        first = run("Say hello.", "--json", env=env)
        assert first.returncode == 0, first.stderr
        top = json.loads(first.stdout)["model"]
        api_name = top.split("/", 1)[1]
        fake.add_fault(Fault(status=404), model=api_name)  # the top choice is gone
        args = ["Say hello.", "--send", *(["--stream"] if stream else [])]
        res = run(*args, env=env)
    assert res.returncode == 0, res.stderr
    assert "Echo from" in res.stdout
    assert "offline simulator" not in res.stderr
    assert KEY not in res.stdout + res.stderr
    attempts = list(Ledger(isolated_env / "ledger.jsonl").read())
    assert [a.outcome for a in attempts] == ["error", "ok"]
    assert attempts[0].model == top
    assert attempts[1].model != top
    assert all(not a.simulated and a.kind == "route" for a in attempts)
    assert all(KEY not in (a.error or "") for a in attempts)
