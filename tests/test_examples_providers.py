"""The provider example runs as documented (so it cannot rot)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "provider_fallback.py"


def test_provider_fallback_example_runs() -> None:
    r = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Echo from gpt-5-mini: Name a lighthouse in Brittany.")
    assert "ModelUnavailableError" in r.stdout
    assert "RateLimitError" in r.stdout
    assert "openai/gpt-5-mini · " in r.stderr
    assert "3 calls" in r.stderr
