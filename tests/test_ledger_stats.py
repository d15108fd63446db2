from __future__ import annotations

import time
from pathlib import Path

import pytest

from tokenplan.ledger import Ledger
from tokenplan.ledger.attempt import Attempt
from tokenplan.ledger.stats import latency_p50


def att(model: str, ms: float, **kw: object) -> Attempt:
    base: dict[str, object] = {
        "run_id": "r",
        "kind": "route",
        "model": model,
        "provider": "p",
        "outcome": "ok",
        "latency_ms": ms,
    }
    base.update(kw)
    return Attempt(**base)  # type: ignore[arg-type]


def test_median_per_model_skips_failures_simulated_old_and_thin_samples(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    old = time.time() - 30 * 86400
    with Ledger(path) as ledger:
        ledger.append_many(
            [
                att("a/fast", 100),
                att("a/fast", 300),
                att("a/fast", 200),
                att("a/fast", 9000, outcome="error"),
                att("a/fast", 9000, simulated=True),
                att("b/slow", 900),
                att("b/slow", 1100),
                att("b/slow", 1000),
                att("b/slow", 5, ts=old),
                att("c/thin", 10),
                att("c/thin", 10),
            ]
        )
    assert latency_p50(path) == {"a/fast": pytest.approx(200), "b/slow": pytest.approx(1000)}
    assert latency_p50(tmp_path / "missing.jsonl") == {}


def test_route_auto_latency_prefers_the_observed_faster_model(
    isolated_env: Path, tmp_path: Path
) -> None:
    import json
    import os
    import subprocess
    import sys

    def route() -> dict[str, object]:
        res = subprocess.run(
            [sys.executable, "-m", "tokenplan", "route", "Say hi.", "--strategy", "auto:latency",
             "--json"],
            capture_output=True, text=True, env=dict(os.environ), timeout=60,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
        doc: dict[str, object] = json.loads(res.stdout)
        return doc

    before = route()
    assert "no latency data" in str(before["reason"]) + str(before.get("notes", ""))
    ladder = [str(r["model"]) for r in before["ladder"]]  # type: ignore[attr-defined]
    slow_first, fast = ladder[0], ladder[1]
    with Ledger(isolated_env / "ledger.jsonl") as ledger:
        ledger.append_many([att(slow_first, 20_000) for _ in range(5)])
        ledger.append_many([att(fast, 150) for _ in range(5)])
    after = route()
    assert after["model"] != slow_first
