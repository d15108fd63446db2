"""Which ledger lines a read keeps: :class:`LedgerFilter` and the ``--since`` parser.

A filter is checked in two places. :meth:`LedgerFilter.needles` gives byte strings that any
matching line must contain, so a reader can skip whole blocks of the file without parsing them;
:meth:`LedgerFilter.matches` is the exact check on a parsed line.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from tokenplan.errors import UsageError

__all__ = ["LedgerFilter", "parse_since", "parse_time"]

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
# Printable ASCII without the characters JSON escapes: such a value appears verbatim in any
# line that holds it, whichever JSON writer produced the line.
_VERBATIM_RE = re.compile(r"^[\x20\x21\x23-\x5b\x5d-\x7e]+$")

TimeSpec = float | datetime | date | str


class _RecordLike(Protocol):
    @property
    def ts(self) -> float: ...
    @property
    def run_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def step_id(self) -> str | None: ...


def parse_since(text: str, *, now: float | None = None, option: str = "--since") -> float:
    """Unix time for a ``--since`` value: a duration back from now or a point in time.

    Durations: ``90s``, ``30m``, ``12h``, ``7d``, ``2w``. Points in time: an ISO date
    (``2025-06-01``, local midnight) or datetime (``2025-06-01T09:30``, local time unless it
    carries an offset or ``Z``). Raises :class:`~tokenplan.errors.UsageError` otherwise.
    """
    m = _DURATION_RE.match(text)
    if m:
        seconds = float(m.group(1)) * _UNIT_S[m.group(2).lower()]
        return (time.time() if now is None else now) - seconds
    return parse_time(text, option=option)


def parse_time(text: str, *, option: str = "time") -> float:
    """Unix time for an ISO date or datetime (naive values are local time)."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        if len(raw) == 10:
            d = date.fromisoformat(raw)
            return datetime(d.year, d.month, d.day).timestamp()
        return _to_timestamp(datetime.fromisoformat(raw))
    except ValueError:
        raise UsageError(
            f"{option}: expected a duration like 7d, 12h or 30m, or an ISO date or datetime "
            f"like 2025-06-01 or 2025-06-01T09:30; got {text!r}"
        ) from None


def _to_timestamp(value: float | datetime | date) -> float:
    if isinstance(value, datetime):
        return value.timestamp()  # naive datetimes are local time
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day).timestamp()
    return float(value)


def _time_bound(value: TimeSpec | None, option: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        return parse_since(value, option=option)
    return _to_timestamp(value)


@dataclass(frozen=True, slots=True)
class LedgerFilter:
    """Criteria a ledger line must meet; ``None`` means "any".

    ``since`` / ``until`` are Unix times (``since <= ts < until``). ``model`` matches a full
    catalog id (``openai/gpt-5``) exactly; a bare name (``gpt-5``) matches any id ending in
    ``/gpt-5``. The other fields match exactly.
    """

    since: float | None = None
    until: float | None = None
    run: str | None = None
    kind: str | None = None
    model: str | None = None
    provider: str | None = None
    outcome: str | None = None
    step: str | None = None

    @classmethod
    def build(
        cls,
        *,
        since: TimeSpec | None = None,
        until: TimeSpec | None = None,
        run: str | None = None,
        kind: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        outcome: str | None = None,
        step: str | None = None,
    ) -> LedgerFilter:
        """A filter from user-facing values.

        ``since`` and ``until`` take what :func:`parse_since` takes (``"7d"``, an ISO date,
        ...), a ``datetime``/``date`` or a Unix time.
        """
        return cls(
            since=_time_bound(since, "--since"),
            until=_time_bound(until, "--until"),
            run=run or None,
            kind=kind or None,
            model=model or None,
            provider=provider or None,
            outcome=outcome or None,
            step=step or None,
        )

    @property
    def is_empty(self) -> bool:
        return (
            self.since is None
            and self.until is None
            and self.run is None
            and self.kind is None
            and self.model is None
            and self.provider is None
            and self.outcome is None
            and self.step is None
        )

    def matches(self, r: _RecordLike) -> bool:
        """Whether a parsed line (an :class:`Attempt` or a reader record) meets every criterion."""
        if self.since is not None and r.ts < self.since:
            return False
        if self.until is not None and r.ts >= self.until:
            return False
        if self.run is not None and r.run_id != self.run:
            return False
        if self.kind is not None and r.kind != self.kind:
            return False
        if self.provider is not None and r.provider != self.provider:
            return False
        if self.outcome is not None and r.outcome != self.outcome:
            return False
        if self.step is not None and r.step_id != self.step:
            return False
        if self.model is not None:
            m = r.model
            return m == self.model or ("/" not in self.model and m.endswith("/" + self.model))
        return True

    def needles(self) -> tuple[bytes, ...]:
        """Byte strings every matching line contains (a necessary, not sufficient, condition).

        Only values that any JSON writer leaves verbatim are used. A model filter contributes its
        last path segment followed by the closing quote, which both the full id and the bare name
        forms end with.
        """
        out: list[bytes] = []
        for value in (self.run, self.kind, self.provider, self.outcome, self.step):
            if value is not None and _VERBATIM_RE.match(value):
                out.append(b'"' + value.encode("ascii") + b'"')
        if self.model is not None:
            tail = self.model.rsplit("/", 1)[-1]
            if _VERBATIM_RE.match(tail):
                out.append(tail.encode("ascii") + b'"')
        return tuple(out)
