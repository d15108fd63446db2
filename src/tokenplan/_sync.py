"""The one sync entry to the async core: :func:`run_sync`.

Without a running event loop in the calling thread it is ``anyio.run``. Inside one (a Jupyter
cell, a sync callback of an async app) ``anyio.run`` would fail, and running the coroutine
step by step on the caller's loop is impossible from sync code; so the coroutine runs on its
own event loop in a worker thread while the caller blocks. The work inside keeps all its
concurrency: it is never silently made sequential.

The worker's loop is not the caller's: objects bound to the caller's loop (an
``httpx.AsyncClient`` opened there, anyio streams, locks) must not be passed in. Context
variables are copied into the worker.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel

__all__ = ["run_sync"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


def run_sync(async_fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
    """Run ``await async_fn(*args, **kwargs)`` to completion from sync code and return its value.

    Exceptions propagate unchanged. ``KeyboardInterrupt`` while waiting on a worker thread
    cancels the coroutine (its ``finally`` blocks run, a scheduler records ``cancelled``
    steps), waits for it to unwind, then propagates.
    """
    call = functools.partial(async_fn, *args, **kwargs)
    backend = _running_backend()
    if backend is None:
        return anyio.run(call)
    logger.debug("event loop running in this thread; running in a worker thread")
    return _run_in_worker(call, backend)


def _running_backend() -> str | None:
    """``"asyncio"``/``"trio"`` when an event loop runs in this thread, else ``None``."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return "asyncio"
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_trio_token()
        except RuntimeError:
            return None
        return "trio"
    return None


class _Worker:
    """A coroutine run on its own loop in a thread; cancellable from the caller's thread."""

    def __init__(self, call: Callable[[], Awaitable[Any]], backend: str) -> None:
        self.call = call
        self.backend = backend
        self.ready = threading.Event()
        self.finished = threading.Event()
        self.token: anyio.lowlevel.EventLoopToken | None = None
        self.scope: anyio.CancelScope | None = None
        self.value: Any = None
        self.error: BaseException | None = None

    async def main(self) -> None:
        with anyio.CancelScope() as scope:
            self.scope = scope
            self.token = anyio.lowlevel.current_token()
            self.ready.set()
            self.value = await self.call()

    def thread_main(self) -> None:
        _forget_callers_async_library()
        try:
            anyio.run(self.main, backend=self.backend)
        except BaseException as exc:  # handed to the caller's thread, re-raised there
            self.error = exc
        finally:
            self.ready.set()
            self.finished.set()

    def cancel(self) -> None:
        self.ready.wait()
        scope, token = self.scope, self.token
        if scope is None or token is None:
            return
        try:
            anyio.from_thread.run_sync(scope.cancel, token=token)
        except RuntimeError:  # the worker's loop already ended
            pass


def _forget_callers_async_library() -> None:
    """Clear sniffio's marker copied in with the caller's context variables.

    ``contextvars.copy_context()`` carries sniffio's "asyncio is running here" flag into the
    worker thread, where ``anyio.run`` would then refuse to start a loop.
    """
    sniffio = sys.modules.get("sniffio")
    if sniffio is not None:
        sniffio.current_async_library_cvar.set(None)


def _run_in_worker(call: Callable[[], Awaitable[T]], backend: str) -> T:
    worker = _Worker(call, backend)
    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run, args=(worker.thread_main,), name="tokenplan-run-sync", daemon=True
    )
    thread.start()
    # Wait on an Event, not on Thread.join(): a join interrupted by Ctrl-C can wrongly mark the
    # thread as stopped on some CPython versions (bpo-45274), and a second join then returns
    # while the worker still runs.
    try:
        worker.finished.wait()
    except KeyboardInterrupt:
        worker.cancel()
        worker.finished.wait()
        raise
    finally:
        if worker.finished.is_set():
            thread.join()
    if worker.error is not None:
        raise worker.error
    result: T = worker.value
    return result
