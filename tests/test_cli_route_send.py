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
