"""Helpers for tests that drive child processes."""

from __future__ import annotations

import subprocess

import pytest


def finish(proc: subprocess.Popen[str], *, timeout_s: float) -> tuple[str, str]:
    """``proc.communicate`` that never leaves the child behind: on a timeout the child is
    killed and reaped and the test fails with its stderr (a hung child must not leak into
    later tests as an unraisable ResourceWarning)."""
    try:
        return proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"child did not stop within {timeout_s} s; stderr: {err[-2000:]}")
