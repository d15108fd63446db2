"""Fan a ledger scan out over forked worker processes (POSIX only; opt-in).

A summary of a large ledger is CPU-bound decoding. Splitting the file into line-aligned byte
ranges and summarizing each in a forked child scales with cores. Forking is only safe in a
process without other threads (a thread holding a lock at fork time would leave that lock held
forever in the child), so this is used by the CLI, never by default from the library.
"""

from __future__ import annotations

import logging
import os
import pickle
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from tokenplan.ledger.reader import LedgerReader

__all__ = ["can_fork", "map_ranges"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


def can_fork() -> bool:
    """Whether :func:`map_ranges` may fork here (POSIX, and no other thread is running)."""
    return hasattr(os, "fork") and sys.platform != "darwin" and threading.active_count() == 1


def map_ranges(readers: Sequence[LedgerReader], fn: Callable[[LedgerReader], T]) -> list[T]:
    """``[fn(r) for r in readers]``, the first in this process and the others in forked children.

    ``fn``'s results travel back pickled. A child that fails is redone here, so the result is
    the same as the serial one whatever happens to the workers.
    """
    if len(readers) <= 1 or not can_fork():
        return [fn(r) for r in readers]
    children: list[tuple[int, int] | None] = []
    for reader in readers[1:]:
        children.append(_spawn(reader, fn))
    results = [fn(readers[0])]
    for reader, child in zip(readers[1:], children, strict=True):
        value: tuple[T] | None = _collect(child) if child is not None else None
        if value is None:
            logger.warning("a ledger scan worker failed; scanning its share in-process")
            results.append(fn(reader))
        else:
            results.append(value[0])
    return results


def _spawn(reader: LedgerReader, fn: Callable[[LedgerReader], T]) -> tuple[int, int] | None:
    try:
        rfd, wfd = os.pipe()
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:  # pragma: no cover - runs in the child, which leaves through os._exit
        code = 1
        try:
            os.close(rfd)
            data = pickle.dumps(fn(reader), protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(data)
            while view:
                view = view[os.write(wfd, view) :]
            code = 0
        finally:
            os._exit(code)
    os.close(wfd)
    return pid, rfd


def _collect(child: tuple[int, int]) -> tuple[T] | None:
    pid, rfd = child
    parts = []
    try:
        # Read to EOF before waiting: a child blocked on a full pipe would never exit.
        while chunk := os.read(rfd, 1 << 20):
            parts.append(chunk)
    finally:
        os.close(rfd)
        _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    try:
        return (pickle.loads(b"".join(parts)),)
    except Exception:
        return None
