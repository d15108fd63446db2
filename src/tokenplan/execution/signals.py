"""Turn Ctrl-C (SIGINT) and SIGTERM into a clean cancel of a run.

The CLI runs a plan like this, so the first Ctrl-C cancels in-flight steps, the run ends
``cancelled`` with every step's state recorded (resumable), and the process exits 130::

    async def main() -> RunResult:
        scheduler = Scheduler(graph, run_step, ...)
        async with cancel_on_signals(scheduler.cancel):
            return await scheduler.run()

    result = anyio.run(main)
    raise SystemExit(result.exit_code)

After the first signal the default handlers are back, so a second Ctrl-C interrupts at once
(``KeyboardInterrupt``) if something refuses to stop. Where signals cannot be received (not
the main thread, or a platform without ``add_signal_handler``) the block runs unguarded and
Ctrl-C arrives as an outer cancellation instead: :attr:`Scheduler.result` still holds the run.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
from anyio.abc import TaskStatus

__all__ = ["SignalWatch", "cancel_on_signals"]

logger = logging.getLogger(__name__)

_DEFAULT_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)


@dataclass(slots=True)
class SignalWatch:
    """What :func:`cancel_on_signals` saw: whether it is listening, and the signal received."""

    listening: bool = False
    received: int | None = None


@asynccontextmanager
async def cancel_on_signals(
    cancel: Callable[[], object], *, signals: Sequence[signal.Signals] = _DEFAULT_SIGNALS
) -> AsyncIterator[SignalWatch]:
    """Call ``cancel()`` on the first of ``signals`` received while the block runs."""
    watch = SignalWatch()
    async with anyio.create_task_group() as tg:
        await tg.start(_watch, cancel, tuple(signals), watch)
        try:
            yield watch
        finally:
            tg.cancel_scope.cancel()


async def _watch(
    cancel: Callable[[], object],
    signals: tuple[signal.Signals, ...],
    watch: SignalWatch,
    *,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    try:
        receiver = anyio.open_signal_receiver(*signals)
        received = receiver.__enter__()
    except (NotImplementedError, ValueError, RuntimeError) as exc:
        logger.debug("signals not available here; Ctrl-C cancels from outside", exc_info=exc)
        task_status.started()
        return
    try:
        watch.listening = True
        task_status.started()
        async for signum in received:
            watch.received = signum
            logger.info("signal received, cancelling the run", extra={"signal": signum})
            break
    finally:
        watch.listening = False
        receiver.__exit__(None, None, None)
    # Handlers are restored first, so a second Ctrl-C during the wind-down interrupts at once.
    cancel()
