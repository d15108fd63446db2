"""Retry policy: exponential backoff with full jitter, honouring ``retry-after``, bounded.

Whether to retry is decided from the error's type and fields only
(:attr:`~tokenplan.errors.ProviderError.retryable`, ``retry_after_s``), never from its message.

Test mode (like stamina's): ``tokenplan.testing.set_testing(True)`` makes every backoff sleep
return at once and records the delay it would have slept, so tests of retry paths take no
wall time and can still assert that ``retry-after`` was honoured.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tokenplan.errors import ProviderError, ProviderHTTPError

if TYPE_CHECKING:
    import random

__all__ = ["RetryPolicy", "fast_retries", "is_testing", "recorded_sleeps", "set_testing", "sleep"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one model before failing over to the next.

    * ``max_attempts``: calls per model, the first included (1 = no retries).
    * ``base_delay_s``: the backoff cap for the first retry; it doubles per retry ...
    * ``max_delay_s``: ... up to this cap. The delay is uniform in ``[0, cap]`` (full jitter).
    * ``max_total_s``: no retry is scheduled that would end later than this many seconds after
      the first call started; a ``retry-after`` longer than what is left means fail over now.

    A ``retry-after`` (or ``retry-after-ms``, or Gemini's ``RetryInfo``) from the provider
    replaces the jittered delay.
    """

    max_attempts: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_total_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.base_delay_s, self.max_delay_s, self.max_total_s) < 0:
            raise ValueError("delays must not be negative")

    def delay_s(
        self,
        error: BaseException,
        *,
        attempt: int,
        elapsed_s: float,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds to wait before call ``attempt + 1``, or ``None`` to stop trying this model.

        ``attempt`` is the number of the call that just failed (1-based); ``elapsed_s`` the
        time since the first call started.
        """
        if not isinstance(error, ProviderError) or not error.retryable:
            return None
        if attempt >= self.max_attempts:
            return None
        retry_after = error.retry_after_s if isinstance(error, ProviderHTTPError) else None
        if retry_after is not None:
            delay = retry_after
        else:
            import random  # here, not at the top: off the CLI's start-up path

            cap = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
            delay = (rng or random).uniform(0.0, cap)
        if elapsed_s + delay > self.max_total_s:
            return None
        return delay


class _TestMode:
    """Process-wide switch for :func:`sleep` (the public test mode)."""

    def __init__(self) -> None:
        self.enabled = False
        self.sleeps: list[float] = []
        self.lock = threading.Lock()


_TEST_MODE = _TestMode()


def set_testing(enabled: bool) -> None:
    """Turn test mode on (backoff sleeps return at once and are recorded) or off.

    Turning it on clears the record of earlier sleeps.
    """
    with _TEST_MODE.lock:
        _TEST_MODE.enabled = enabled
        _TEST_MODE.sleeps = []


def is_testing() -> bool:
    """Whether test mode is on."""
    return _TEST_MODE.enabled


def recorded_sleeps() -> list[float]:
    """Delays (seconds) that backoff would have slept since test mode was turned on."""
    with _TEST_MODE.lock:
        return list(_TEST_MODE.sleeps)


@contextmanager
def fast_retries() -> Iterator[list[float]]:
    """Test mode for a block; yields the live list of recorded delays.

    Restores the previous mode afterwards::

        with tokenplan.testing.fast_retries() as sleeps:
            await model.complete(request)
        assert sleeps == [2.0]
    """
    with _TEST_MODE.lock:
        previous, previous_sleeps = _TEST_MODE.enabled, _TEST_MODE.sleeps
        _TEST_MODE.enabled, _TEST_MODE.sleeps = True, []
        sleeps = _TEST_MODE.sleeps
    try:
        yield sleeps
    finally:
        with _TEST_MODE.lock:
            _TEST_MODE.enabled, _TEST_MODE.sleeps = previous, previous_sleeps


async def sleep(delay_s: float) -> None:
    """Back off for ``delay_s`` (recorded, and instant, in test mode)."""
    # Imported here: the runtime (hence this module) is on ``tokenplan route --json``'s
    # start-up path, which must not pay for anyio.
    import anyio
    import anyio.lowlevel

    if _TEST_MODE.enabled:
        with _TEST_MODE.lock:
            _TEST_MODE.sleeps.append(delay_s)
        await anyio.lowlevel.checkpoint()
        return
    await anyio.sleep(delay_s)
