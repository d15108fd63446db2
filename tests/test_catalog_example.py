"""examples/01_catalog.py runs as documented, so it cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "01_catalog.py"


def test_catalog_example_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith("openrouter, xai")
    assert [line.split()[0] for line in lines[1:4]] == ["budget", "mid", "flagship"]
    assert lines[4] == "openai/gpt-5: $0.00750 for 2,000 in + 500 out"
