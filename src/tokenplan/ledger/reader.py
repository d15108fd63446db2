"""Streaming ledger reads in constant memory.

The file is read in blocks of whole lines. Each block is decoded at once with msgspec (typed
structs, unknown keys skipped without being built); a block holding an unreadable line falls
back to line-by-line decoding, which skips that line with a warning. A :class:`LedgerFilter`'s
needles let whole blocks be skipped unparsed. :meth:`LedgerReader.tail` reads backwards from
the end, so "the last 20 attempts" costs the same on a 10-line and a 10-million-line ledger.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import msgspec

from tokenplan.errors import LedgerError
from tokenplan.ledger.attempt import SCHEMA_VERSION, Attempt
from tokenplan.ledger.filters import LedgerFilter

__all__ = ["LedgerReader", "Record"]

logger = logging.getLogger(__name__)

BLOCK_SIZE = 1 << 20
TAIL_BLOCK_SIZE = 1 << 16
#: Unreadable lines reported one by one per read; the rest are only counted.
MAX_WARNINGS = 5


class Record(msgspec.Struct, gc=False):
    """A decoded ledger line: :class:`Attempt`'s fields, typed and validated.

    Lines from newer writers may carry keys this version does not know: they are skipped.
    ``run_id``, ``kind``, ``model``, ``provider``, ``outcome`` and ``ts`` are required.
    """

    run_id: str
    kind: str
    model: str
    provider: str
    outcome: str
    ts: float
    step_id: str | None = None
    attempt: int = 1
    tier: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    est_cost_usd: float = 0.0
    latency_ms: float = 0.0
    error: str | None = None
    escalated_from: str | None = None
    capability: str | None = None
    simulated: bool = False
    v: int = SCHEMA_VERSION

    def to_attempt(self) -> Attempt:
        return Attempt(**msgspec.structs.asdict(self))


S = TypeVar("S", bound=msgspec.Struct)

_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError)


class LedgerReader:
    """The attempts of one ledger file that match a filter, oldest first.

    Iterating yields :class:`Attempt` objects; :meth:`records` and :meth:`batches` yield the
    lighter :class:`Record` structs, and :meth:`scan` structs of a caller's choosing (what
    :func:`~tokenplan.ledger.summary.summarize` uses). Every iteration re-reads the file.
    After (or during) an iteration, ``skipped`` is the number of unreadable lines met (a torn
    final line left by a crashed writer is one), each logged as a warning (the first few
    individually). A missing file reads as empty; a file that cannot be read raises
    :class:`~tokenplan.errors.LedgerError`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        filter: LedgerFilter | None = None,
        *,
        block_size: int = BLOCK_SIZE,
        start: int = 0,
        end: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.filter = filter or LedgerFilter()
        self.block_size = block_size
        #: Byte range read by forward scans (``start`` is at a line start; ``end=None``: EOF).
        self.start = start
        self.end = end
        self.skipped = 0
        self._warned = 0

    def __iter__(self) -> Iterator[Attempt]:
        for rec in self.records():
            yield rec.to_attempt()

    def records(self) -> Iterator[Record]:
        """Matching lines as :class:`Record` structs, oldest first."""
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[Record]]:
        """Matching lines in lists (one per block read): the fastest way to consume a ledger."""
        return self.scan(Record)

    def scan(self, record_type: type[S]) -> Iterator[list[S]]:
        """Like :meth:`batches`, decoding each line as ``record_type``.

        ``record_type`` is a msgspec struct with a subset of :class:`Record`'s fields (at least
        those the filter reads): keys it lacks are skipped unparsed, which is faster.
        """
        self.skipped = 0
        self._warned = 0
        fh = self._open()
        if fh is None:
            return
        flt = self.filter
        needles = flt.needles()
        match: Callable[[Any], bool] | None = None if flt.is_empty else flt.matches
        decoder = msgspec.json.Decoder(record_type)
        try:
            with fh:
                for offset, block in self._blocks(fh):
                    if needles and not all(n in block for n in needles):
                        continue
                    try:
                        recs = decoder.decode_lines(block)
                    except _DECODE_ERRORS:
                        recs = self._decode_slowly(decoder, block, offset)
                    if match is not None:
                        recs = [r for r in recs if match(r)]
                    if recs:
                        yield recs
        except OSError as exc:
            raise self._error("read", exc) from exc
        self._report()

    def split(self, parts: int, *, min_part_bytes: int = 8 << 20) -> list[LedgerReader]:
        """Readers over up to ``parts`` consecutive byte ranges of this one, cut at line ends.

        Together they read exactly the lines this reader reads (for parallel scans). Ranges are
        at least ``min_part_bytes`` long, so a small file is not split.
        """
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return [self]
        except OSError as exc:
            raise self._error("read", exc) from exc
        lo, hi = self.start, size if self.end is None else min(self.end, size)
        parts = min(parts, (hi - lo) // max(min_part_bytes, 1))
        if parts <= 1:
            return [self]
        cuts = [lo]
        with self.path.open("rb", buffering=0) as fh:
            for i in range(1, parts):
                cut = _next_line_start(fh, lo + (hi - lo) * i // parts, hi)
                if cuts[-1] < cut < hi:
                    cuts.append(cut)
        cuts.append(hi)
        return [
            LedgerReader(self.path, self.filter, block_size=self.block_size, start=a, end=b)
            for a, b in itertools.pairwise(cuts)
        ]

    def tail(self, n: int) -> list[Attempt]:
        """The last ``n`` matching attempts, oldest first, reading backwards from the end."""
        return [r.to_attempt() for r in self.tail_records(n)]

    def tail_records(self, n: int) -> list[Record]:
        self.skipped = 0
        self._warned = 0
        out: list[Record] = []
        if n <= 0:
            return out
        fh = self._open()
        if fh is None:
            return out
        flt = self.filter
        match = None if flt.is_empty else flt.matches
        decoder = msgspec.json.Decoder(Record)
        try:
            with fh:
                for offset, line in _lines_backwards(fh, self.block_size):
                    rec = self._decode_line(decoder, line, offset)
                    if rec is not None and (match is None or match(rec)):
                        out.append(rec)
                        if len(out) >= n:
                            break
        except OSError as exc:
            raise self._error("read", exc) from exc
        self._report()
        out.reverse()
        return out

    # -- internals ----------------------------------------------------------------------------

    def _open(self) -> BinaryIO | None:
        try:
            return self.path.open("rb", buffering=0)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._error("open", exc) from exc

    def _error(self, what: str, exc: OSError) -> LedgerError:
        reason = exc.strerror or str(exc)
        return LedgerError(f"cannot {what} the ledger {self.path}: {reason}", path=str(self.path))

    def _blocks(self, fh: BinaryIO) -> Iterator[tuple[int, bytes]]:
        """``(offset, block)`` pairs of whole lines; a final unterminated line comes last."""
        rest = b""
        offset = self.start
        if offset:
            fh.seek(offset)
        remaining = -1 if self.end is None else self.end - offset
        while remaining:
            chunk = fh.read(self.block_size if remaining < 0 else min(self.block_size, remaining))
            if not chunk:
                break
            if remaining > 0:
                remaining -= len(chunk)
            cut = chunk.rfind(b"\n")
            if cut < 0:
                rest += chunk
                continue
            block = rest + chunk[: cut + 1] if rest else chunk[: cut + 1]
            yield offset, block
            offset += len(block)
            rest = chunk[cut + 1 :]
        if rest.strip():
            yield offset, rest

    def _decode_slowly(
        self, decoder: msgspec.json.Decoder[S], block: bytes, offset: int
    ) -> list[S]:
        out: list[S] = []
        pos = 0
        for line in block.split(b"\n"):
            rec = self._decode_line(decoder, line, offset + pos)
            if rec is not None:
                out.append(rec)
            pos += len(line) + 1
        return out

    def _decode_line(self, decoder: msgspec.json.Decoder[S], line: bytes, offset: int) -> S | None:
        if not line.strip():
            return None
        try:
            return decoder.decode(line)
        except _DECODE_ERRORS as exc:
            self.skipped += 1
            if self._warned < MAX_WARNINGS:
                self._warned += 1
                logger.warning(
                    "skipped an unreadable ledger line at byte %d of %s: %s",
                    offset,
                    self.path,
                    exc,
                    extra={"path": str(self.path), "offset": offset},
                )
            return None

    def _report(self) -> None:
        if self.skipped > self._warned:
            logger.warning(
                "skipped %d unreadable line(s) in all in %s",
                self.skipped,
                self.path,
                extra={"path": str(self.path), "skipped": self.skipped},
            )


def _lines_backwards(fh: BinaryIO, block_size: int) -> Iterator[tuple[int, bytes]]:
    """``(offset, line)`` pairs from the last line to the first."""
    end = fh.seek(0, os.SEEK_END)
    carry = b""  # the start of a line whose beginning is in an earlier block
    pos = end
    while pos > 0:
        size = min(block_size, pos)
        pos -= size
        fh.seek(pos)
        chunk = _read_exactly(fh, size) + carry
        lines = chunk.split(b"\n")
        carry = lines[0]
        line_end = pos + len(chunk)
        for line in reversed(lines[1:]):
            line_end -= len(line) + 1
            yield line_end + 1, line
    if carry:
        yield 0, carry


def _next_line_start(fh: BinaryIO, pos: int, limit: int) -> int:
    """The offset just after the first newline at or after ``pos - 1`` (``limit`` if none)."""
    fh.seek(max(pos - 1, 0))
    base = max(pos - 1, 0)
    while base < limit:
        chunk = fh.read(TAIL_BLOCK_SIZE)
        if not chunk:
            break
        i = chunk.find(b"\n")
        if i >= 0:
            return min(base + i + 1, limit)
        base += len(chunk)
    return limit


def _read_exactly(fh: BinaryIO, size: int) -> bytes:
    parts = []
    while size > 0:
        chunk = fh.read(size)
        if not chunk:
            break
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)
