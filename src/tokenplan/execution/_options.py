"""Validation and preparation of the scheduler's options (kept out of its hot path)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio

from tokenplan.errors import UsageError
from tokenplan.execution.graph import DagIndex

__all__ = ["Slots", "check_timeout", "reused_steps"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Slots:
    """How many steps may run at once: globally, and per limit bucket.

    ``bucket[i]`` is step ``i``'s bucket; ``caps[b]`` that bucket's capacity (bucket 0, the
    steps without a limited key, is unbounded). ``shared`` is a limiter shared with other
    runs, acquired by each step on top of the run's own accounting.
    """

    limit: float
    shared: anyio.CapacityLimiter | None
    bucket: list[int]
    caps: list[float]

    @classmethod
    def build(
        cls,
        ids: tuple[str, ...],
        *,
        concurrency: int | anyio.CapacityLimiter | None,
        limiter_key: Callable[[str], str | None] | None,
        limits: Mapping[str, int] | None,
    ) -> Slots:
        shared = concurrency if isinstance(concurrency, anyio.CapacityLimiter) else None
        limit: float = math.inf
        if concurrency is not None and shared is None:
            if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
                raise UsageError(f"concurrency must be a positive integer, got {concurrency!r}")
            limit = concurrency
        if not limits:
            return cls(limit, shared, [0] * len(ids), [math.inf])
        if limiter_key is None:
            raise UsageError("limits need a limiter_key naming each step's key")
        for name, cap in limits.items():
            if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
                raise UsageError(f"limit for {name!r} must be a positive integer, got {cap!r}")
        slot = {name: b for b, name in enumerate(limits, start=1)}
        bucket = []
        for sid in ids:
            key = limiter_key(sid)
            bucket.append(0 if key is None else slot.get(key, 0))
        return cls(limit, shared, bucket, [math.inf, *(float(c) for c in limits.values())])

    def global_limit(self) -> float:
        """The run-wide cap now (a shared limiter's size can change while it runs)."""
        return self.limit if self.shared is None else self.shared.total_tokens


def check_timeout(step_timeout_s: float | None) -> float | None:
    if step_timeout_s is None:
        return None
    if not (isinstance(step_timeout_s, (int, float)) and 0 < step_timeout_s < math.inf):
        raise UsageError(f"step_timeout_s must be a positive number, got {step_timeout_s!r}")
    return float(step_timeout_s)


def reused_steps(dag: DagIndex, done: Mapping[str, Any] | Iterable[str]) -> dict[int, Any]:
    """``{step number: value}`` for the steps of ``done`` that are in the graph."""
    if isinstance(done, str):
        done = (done,)
    values: Mapping[str, Any] = done if isinstance(done, Mapping) else dict.fromkeys(done)
    out: dict[int, Any] = {}
    for sid, value in values.items():
        i = dag.index.get(sid)
        if i is None:
            logger.debug("resume: step not in the graph, ignored", extra={"step_id": sid})
        else:
            out[i] = value
    return out
