"""``run_sync``: ``anyio.run`` without a loop; a worker thread inside one (Jupyter) - never
sequential, exceptions and Ctrl-C handled."""

from __future__ import annotations

import contextvars
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from _subprocess_support import finish
from tokenplan._sync import run_sync
from tokenplan.execution import RunStatus, run_dag

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


async def add(a: int, *, b: int) -> tuple[int, int]:
    await anyio.lowlevel.checkpoint()
    return a + b, threading.get_ident()


async def parallel_sleeps(n: int, seconds: float) -> float:
    t0 = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(n):
            tg.start_soon(anyio.sleep, seconds)
    return time.perf_counter() - t0


class Boom(Exception):
    pass


async def fail() -> None:
    await anyio.lowlevel.checkpoint()
    raise Boom("from the coroutine")


def test_without_a_loop_it_runs_in_this_thread() -> None:
    value, thread = run_sync(add, 1, b=2)
    assert value == 3
    assert thread == threading.get_ident()
    with pytest.raises(Boom, match="from the coroutine"):
        run_sync(fail)


async def test_inside_a_running_loop_it_uses_a_worker_thread() -> None:
    value, thread = run_sync(add, 2, b=3)
    assert value == 5
    assert thread != threading.get_ident()
    with pytest.raises(Boom):
        run_sync(fail)


async def test_inside_a_running_loop_the_work_stays_concurrent() -> None:
    elapsed = run_sync(parallel_sleeps, 5, 0.2)
    assert elapsed < 0.9  # 5 x 0.2 s sequentially would be 1 s


async def test_a_whole_run_through_the_sync_wrapper_inside_a_loop() -> None:
    async def step(sid: str) -> str:
        await anyio.sleep(0.1)
        return sid

    graph = {f"s{i}": [] for i in range(8)}
    t0 = time.perf_counter()
    result = run_sync(run_dag, graph, step)
    assert result.status is RunStatus.SUCCEEDED
    assert time.perf_counter() - t0 < 0.75  # 8 x 0.1 s: 0.8 s if run one after another


async def test_context_variables_reach_the_worker() -> None:
    async def read() -> str:
        return request_id.get()

    token = request_id.set("abc")
    try:
        assert run_sync(read) == "abc"
    finally:
        request_id.reset(token)


CHILD = r"""
import asyncio, sys
import anyio
from tokenplan._sync import run_sync

state = []

async def slow():
    print("STARTED", flush=True)
    try:
        await anyio.sleep(60)
    finally:
        state.append("cleaned up")

async def notebook_cell():
    # Jupyter runs cells inside its event loop: a sync call from here must still work.
    try:
        run_sync(slow)
    except KeyboardInterrupt:
        print("INTERRUPTED", state, flush=True)
        return 130
    return 0

# Like ipykernel: a loop with Python's default SIGINT handler (KeyboardInterrupt).
loop = asyncio.new_event_loop()
sys.exit(loop.run_until_complete(notebook_cell()))
"""


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_ctrl_c_while_waiting_cancels_the_worker_and_propagates(tmp_path: Path) -> None:
    script = tmp_path / "cell.py"
    script.write_text(CHILD)
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "STARTED"
    time.sleep(0.1)  # let the caller block in join()
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = finish(proc, timeout_s=20)
    assert time.monotonic() - t0 < 1.5
    assert proc.returncode == 130, err
    assert "INTERRUPTED ['cleaned up']" in out
