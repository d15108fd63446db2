"""Ctrl-C in a real process: in-flight steps are cancelled within about a second, the run is
reported (cancelled steps, blocked dependents, finished steps kept) and the exit code is 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _subprocess_support import finish

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

CHILD = r"""
import json, sys
import anyio
from tokenplan.execution import Scheduler, StepFinished, StepStarted, cancel_on_signals

mode = sys.argv[1]
graph = {
    "quick": [], "after_quick": ["quick"],
    "slow1": [], "slow2": [], "slow3": [], "tail": ["slow1", "slow2"],
}
cleaned = []

async def step(sid):
    if sid.startswith("slow"):
        try:
            if mode == "stubborn":
                with anyio.CancelScope(shield=True):  # ignores the first Ctrl-C
                    await anyio.sleep(60)
            await anyio.sleep(60)
        finally:
            cleaned.append(sid)
    return sid

seen = set()
def on_event(event):
    if isinstance(event, (StepStarted, StepFinished)):
        seen.add((event.kind, event.step_id))
        wanted = {("step_started", f"slow{i}") for i in (1, 2, 3)}
        wanted.add(("step_finished", "after_quick"))
        if wanted <= seen and "ready" not in seen:
            seen.add("ready")
            print("READY", flush=True)

scheduler = Scheduler(graph, step, on_event=on_event)

def report(received=None):
    result = scheduler.result
    print(json.dumps({"result": result.to_dict(), "cleaned": sorted(cleaned),
                      "signal": received}), flush=True)
    sys.exit(result.exit_code)

if mode == "keyboardinterrupt":
    # The CLI's fallback: no signal receiver; asyncio turns Ctrl-C into a cancellation.
    try:
        anyio.run(scheduler.run)
    except KeyboardInterrupt:
        report()
else:
    async def main():
        async with cancel_on_signals(scheduler.cancel) as watch:
            await scheduler.run()
        return watch.received
    try:
        received = anyio.run(main)
    except KeyboardInterrupt:
        print("FORCED", flush=True)
        sys.exit(130)
    report(received)
"""


def start_child(tmp_path: Path, mode: str) -> subprocess.Popen[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.Popen(
        [sys.executable, str(script), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "READY", (line, proc.stderr.read() if proc.stderr else "")
    return proc


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_cancels_the_run_promptly_and_reports_it(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """The CLI's path: ``cancel_on_signals`` turns the signal into a scheduler cancel."""
    proc = start_child(tmp_path, "signals")
    t0 = time.monotonic()
    proc.send_signal(sig)
    out, err = finish(proc, timeout_s=20)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 130, err
    assert elapsed < 1.5, f"took {elapsed:.2f} s to stop"
    report = json.loads(out)
    assert_cancelled_report(report)
    assert report["signal"] == sig


def test_without_a_signal_receiver_ctrl_c_still_ends_the_run_with_a_report(
    tmp_path: Path,
) -> None:
    """The fallback for code that runs a scheduler under plain ``anyio.run``: asyncio turns
    Ctrl-C into a cancellation. Its promptness is asyncio's, so this holds the documented
    promise instead: a Ctrl-C (a second one at the latest) ends the run, reported, exit 130."""
    proc = start_child(tmp_path, "keyboardinterrupt")
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        out, err = finish(proc, timeout_s=20)
    assert proc.returncode == 130, err
    report = json.loads(out)
    assert report["result"]["status"] == "cancelled"
    steps = {s["step_id"]: s["status"] for s in report["result"]["steps"]}
    assert steps["quick"] == steps["after_quick"] == "succeeded"
    assert steps["tail"] == "blocked"


def assert_cancelled_report(report: dict[str, object]) -> None:
    result = report["result"]
    assert isinstance(result, dict)
    steps = {s["step_id"]: s["status"] for s in result["steps"]}
    assert steps == {
        "quick": "succeeded",
        "after_quick": "succeeded",
        "slow1": "cancelled",
        "slow2": "cancelled",
        "slow3": "cancelled",
        "tail": "blocked",
    }
    assert result["status"] == "cancelled"
    assert report["cleaned"] == ["slow1", "slow2", "slow3"]  # their finally blocks ran


def test_second_ctrl_c_forces_an_exit(tmp_path: Path) -> None:
    proc = start_child(tmp_path, "stubborn")
    proc.send_signal(signal.SIGINT)
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=0.5)  # the steps shield themselves from the first one
    proc.send_signal(signal.SIGINT)
    out, _ = finish(proc, timeout_s=20)
    assert proc.returncode == 130
    assert "FORCED" in out


async def test_off_the_main_thread_the_block_runs_unguarded() -> None:
    """In a worker thread (run_sync inside a notebook) signals cannot be received: no error."""
    from tokenplan import run_dag, run_sync
    from tokenplan.execution import SignalWatch, cancel_on_signals

    async def guarded() -> tuple[bool, SignalWatch, str]:
        async def step(sid: str) -> str:
            return sid

        async with cancel_on_signals(lambda: None) as watch:
            listening = watch.listening
            result = await run_dag({"a": []}, step)
        return listening, watch, result.status.value

    listening, watch, status = run_sync(guarded)  # inside this loop: runs in a worker thread
    assert not listening
    assert watch.received is None
    assert status == "succeeded"


async def test_on_the_main_thread_it_listens() -> None:
    from tokenplan.execution import cancel_on_signals

    async with cancel_on_signals(lambda: None) as watch:
        assert watch.listening
    assert not watch.listening
