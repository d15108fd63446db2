"""examples/06_proxy_client.py starts tokenplan serve and talks to it with the openai SDK."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "06_proxy_client.py"


def test_proxy_example_runs(isolated_env: Path) -> None:
    env = {**os.environ, "TOKENPLAN_OFFLINE": "1", "TOKENPLAN_SIM_LATENCY_SCALE": "0"}
    res = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60, env=env
    )
    assert res.returncode == 0, res.stderr
    out = res.stdout.splitlines()
    assert out[0].startswith("answer: [simulated by tokenplan sim")
    assert any(line.startswith("model: ") and "cost: $" in line for line in out)
    assert any(line.startswith("route: auto general/") for line in out)
    assert "(simulated: no provider key is configured)" in out
    assert any(line.startswith("  ") and " tokens, $0.0" in line for line in out)
    assert "auto: balance quality and cost (the configured strategy)" in out
    assert "models, starting with ['auto', 'auto:cost'" in out[-1]
