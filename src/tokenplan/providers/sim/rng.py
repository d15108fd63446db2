"""Portable deterministic randomness for the simulator.

Everything the simulator decides (answer wording, which requests fail, transient faults, latency
jitter) is drawn from a :class:`Rng` keyed by a hash of its inputs, never from global state, so a
given (seed, model, request) always gets the same answer on every Python version and platform.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["Rng", "digest"]

T = TypeVar("T")

_MAX64 = float(1 << 64)


def digest(*parts: object) -> str:
    """A stable hex digest of ``parts`` (their ``repr`` joined with a separator)."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(repr(part).encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


class Rng:
    """A small counter-mode generator over BLAKE2b: same key, same sequence, everywhere."""

    __slots__ = ("_counter", "_key")

    def __init__(self, *key: object) -> None:
        self._key = digest(*key).encode("ascii")
        self._counter = 0

    def _next64(self) -> int:
        self._counter += 1
        raw = hashlib.blake2b(
            self._counter.to_bytes(8, "little"), key=self._key, digest_size=8
        ).digest()
        return int.from_bytes(raw, "little")

    def random(self) -> float:
        """A float in [0, 1)."""
        return self._next64() / _MAX64

    def randint(self, low: int, high: int) -> int:
        """An integer in [low, high] (both inclusive)."""
        if high <= low:
            return low
        return low + self._next64() % (high - low + 1)

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def choice(self, items: Sequence[T]) -> T:
        if not items:
            raise IndexError("choice from an empty sequence")
        return items[self.randint(0, len(items) - 1)]

    def chance(self, p: float) -> bool:
        """True with probability ``p``."""
        return self.random() < p

    def child(self, *key: object) -> Rng:
        """An independent generator derived from this one's key (not its position)."""
        return Rng(self._key, *key)
