"""examples/01_route.py runs and routes every prompt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "01_route.py"


def test_route_example_runs() -> None:
    res = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert res.returncode == 0, res.stderr
    lines = [line for line in res.stdout.splitlines() if " -> " in line]
    assert len(lines) == 9
    assert any(line.startswith("cheapest") and "general/simple" in line for line in lines)
