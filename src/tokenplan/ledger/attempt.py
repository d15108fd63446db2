"""The ledger line: one :class:`Attempt` per model call, written when the call ends.

Never holds prompt or output text, API keys or headers: only ids, counts, money and a short
redacted error. Run folders hold outputs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

__all__ = ["ATTEMPT_KINDS", "OUTCOMES", "SCHEMA_VERSION", "Attempt", "AttemptKind", "Outcome"]

SCHEMA_VERSION = 1

AttemptKind = Literal["plan", "step", "route", "proxy", "bench"]
Outcome = Literal["ok", "error", "invalid", "cancelled", "skipped"]
ATTEMPT_KINDS: tuple[str, ...] = ("plan", "step", "route", "proxy", "bench")
OUTCOMES: tuple[str, ...] = ("ok", "error", "invalid", "cancelled", "skipped")


@dataclass(frozen=True, slots=True)
class Attempt:
    """One model call.

    ``ts`` is Unix time in seconds at the end of the call. ``cost_usd`` is the actual cost from
    reported usage (0 when the call failed before usage was known); ``est_cost_usd`` the
    reservation / estimate made before the call. ``error`` is ``"ClassName: short message"``.
    """

    run_id: str
    kind: AttemptKind
    model: str
    provider: str
    outcome: Outcome
    ts: float = 0.0
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

    def __post_init__(self) -> None:
        if not self.ts:
            object.__setattr__(self, "ts", time.time())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Attempt:
        """Build from a ledger line; unknown keys (from newer writers) are ignored."""
        names = _FIELD_NAMES
        return cls(**{k: v for k, v in d.items() if k in names})


_FIELD_NAMES = frozenset(f.name for f in fields(Attempt))
