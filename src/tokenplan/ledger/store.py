"""The ledger file: an append-only JSONL of :class:`~tokenplan.ledger.attempt.Attempt` lines.

Writing is safe with many threads of one process and with several processes appending to the
same file: each line (or batch of whole lines) is one ``write`` on an ``O_APPEND`` descriptor,
made under an exclusive ``flock`` (advisory lock) on the file. A writer killed mid-line can at
worst leave one torn final line; whoever appends next sees that the file does not end in a
newline and starts on a fresh line, and readers skip the torn line with a warning.

The file is created with mode 0600. Lines hold ids, token counts, money, timing and a short
redacted error: never prompts, outputs, keys or headers.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import weakref
from collections.abc import Iterable
from dataclasses import replace
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from tokenplan.errors import LedgerError, redact
from tokenplan.ledger.attempt import Attempt

if TYPE_CHECKING:
    from types import TracebackType

    from tokenplan.ledger.filters import TimeSpec
    from tokenplan.ledger.reader import LedgerReader

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the thread lock alone serializes writers
    fcntl = None  # type: ignore[assignment]

__all__ = ["Ledger"]

logger = logging.getLogger(__name__)

#: Longest ``error`` text kept on a line (after redaction).
ERROR_LIMIT = 300
_BATCH = 4096
_OPTS = orjson.OPT_APPEND_NEWLINE


class Ledger:
    """One ledger file: append attempts, read them back.

    ``Ledger(path)`` opens nothing until the first append; the descriptor is then kept open and
    reused (``close()`` it, or use the ledger as a context manager). :meth:`append` is a few
    microseconds of synchronous work, safe to call from async code and from any thread.
    """

    __slots__ = ("__weakref__", "_end", "_fd", "_finalizer", "_lock", "_path", "_pid")

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._fd = -1
        self._pid = 0
        self._end = -1  # file size right after our last write; -1: unknown
        self._lock = threading.Lock()
        self._finalizer: weakref.finalize[[int], Ledger] | None = None

    @property
    def path(self) -> Path:
        return self._path

    def __repr__(self) -> str:
        return f"Ledger({str(self._path)!r})"

    # -- writing ------------------------------------------------------------------------------

    def append(self, attempt: Attempt) -> None:
        """Write one attempt as one line. Raises :class:`~tokenplan.errors.LedgerError`."""
        self._write(_encode(attempt))

    def append_many(self, attempts: Iterable[Attempt]) -> int:
        """Write attempts in batches of whole lines, one locked write per batch; return how many."""
        count = 0
        it = iter(attempts)
        while batch := [_encode(a) for a in islice(it, _BATCH)]:
            self._write(b"".join(batch))
            count += len(batch)
        return count

    def _write(self, data: bytes) -> None:
        if self._pid != os.getpid():
            self._after_fork()
        with self._lock:
            try:
                fd = self._fd if self._fd >= 0 else self._open()
                if not self._write_locked(fd, data):
                    # The file was deleted under us: lines written to the orphaned inode would
                    # vanish, so start a new file at the path.
                    self._close_fd()
                    self._write_locked(self._open(), data)
            except OSError as exc:
                self._end = -1
                raise LedgerError(
                    f"cannot write the ledger {self._path}: {exc.strerror or exc}",
                    path=str(self._path),
                ) from exc

    def _write_locked(self, fd: int, data: bytes) -> bool:
        """Append ``data`` under the file lock; ``False`` (nothing written) if the file is gone."""
        _lock(fd)
        try:
            st = os.fstat(fd)
            if st.st_nlink == 0:
                return False
            size = st.st_size
            # Someone else wrote since our last line (or we just opened the file): make sure we
            # never glue onto a torn line a crashed writer left behind.
            if size != self._end and size > 0 and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data
            _write_all(fd, data)
            self._end = size + len(data)
            return True
        finally:
            _unlock(fd)

    def _open(self) -> int:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
            fd = os.open(self._path, flags, 0o600)
        except OSError as exc:
            raise LedgerError(
                f"cannot open the ledger {self._path}: {exc.strerror or exc}",
                path=str(self._path),
            ) from exc
        self._fd = fd
        self._pid = os.getpid()
        self._end = -1
        self._finalizer = weakref.finalize(self, _close_quietly, fd)
        return fd

    def _after_fork(self) -> None:
        # A forked child shares the parent's open file description, and with it the flock:
        # it must open its own. The thread lock may have been held by a thread that no longer
        # exists in the child, so it is replaced too.
        self._lock = threading.Lock()
        if self._fd >= 0:
            if self._finalizer is not None:
                self._finalizer.detach()
            _close_quietly(self._fd)
        self._fd = -1
        self._end = -1
        self._pid = os.getpid()

    def close(self) -> None:
        """Close the descriptor (a later append reopens the file)."""
        with self._lock:
            self._close_fd()

    def _close_fd(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # closes the descriptor, once
            self._finalizer = None
        self._fd = -1
        self._end = -1

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- reading ------------------------------------------------------------------------------

    def read(
        self,
        *,
        since: TimeSpec | None = None,
        until: TimeSpec | None = None,
        run: str | None = None,
        kind: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        outcome: str | None = None,
        step: str | None = None,
    ) -> LedgerReader:
        """Stream the attempts that match every given filter, oldest first, in constant memory.

        ``since``/``until``: ``"7d"``, ``"12h"``, ``"30m"``, an ISO date or datetime, a
        ``datetime`` or a Unix time. ``model``: a catalog id or a bare name. The result is
        iterable (each iteration re-reads the file) and counts unreadable lines in
        ``.skipped``; pass it to :func:`~tokenplan.ledger.summary.summarize` for a fast summary.
        A missing file reads as empty.
        """
        from tokenplan.ledger.filters import LedgerFilter
        from tokenplan.ledger.reader import LedgerReader

        flt = LedgerFilter.build(
            since=since,
            until=until,
            run=run,
            kind=kind,
            model=model,
            provider=provider,
            outcome=outcome,
            step=step,
        )
        return LedgerReader(self._path, flt)


def _encode(attempt: Attempt) -> bytes:
    if attempt.error is not None:
        error = redact(attempt.error, limit=ERROR_LIMIT)
        if error != attempt.error:
            attempt = replace(attempt, error=error)
    # JSON has no NaN/Infinity (orjson would write null, which readers reject).
    if not math.isfinite(attempt.cost_usd + attempt.est_cost_usd + attempt.latency_ms + attempt.ts):
        attempt = _finite(attempt)
    return orjson.dumps(attempt, option=_OPTS)


def _finite(attempt: Attempt) -> Attempt:
    bad = [
        name
        for name in ("cost_usd", "est_cost_usd", "latency_ms", "ts")
        if not math.isfinite(getattr(attempt, name))
    ]
    logger.warning(
        "ledger attempt had non-finite %s; written as 0 (ts: the current time)",
        ", ".join(bad),
        extra={"run_id": attempt.run_id, "model": attempt.model, "fields": bad},
    )
    return replace(
        attempt,
        cost_usd=_finite_or_zero(attempt.cost_usd),
        est_cost_usd=_finite_or_zero(attempt.est_cost_usd),
        latency_ms=_finite_or_zero(attempt.latency_ms),
        ts=_finite_or_zero(attempt.ts),  # Attempt stamps the current time for a zero ts
    )


def _finite_or_zero(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def _lock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)


def _unlock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
