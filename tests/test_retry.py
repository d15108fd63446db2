from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenplan.errors import (
    AuthenticationError,
    ProviderTimeoutError,
    RateLimitError,
    UpstreamServerError,
)
from tokenplan.providers import retry
from tokenplan.providers.retry import RetryPolicy
from tokenplan.testing import fast_retries, recorded_sleeps, set_testing


def _rate_limited(after: str | None = None) -> RateLimitError:
    return RateLimitError("slow", status_code=429, headers={"retry-after": after} if after else {})


def test_non_retryable_errors_stop_at_once() -> None:
    p = RetryPolicy()
    assert p.delay_s(AuthenticationError("no", status_code=401), attempt=1, elapsed_s=0) is None
    assert p.delay_s(ValueError("x"), attempt=1, elapsed_s=0) is None


def test_attempts_are_bounded() -> None:
    p = RetryPolicy(max_attempts=3)
    err = UpstreamServerError("boom", status_code=503)
    assert p.delay_s(err, attempt=1, elapsed_s=0) is not None
    assert p.delay_s(err, attempt=2, elapsed_s=0) is not None
    assert p.delay_s(err, attempt=3, elapsed_s=0) is None


def test_retry_after_replaces_backoff_but_not_the_total_bound() -> None:
    p = RetryPolicy(max_attempts=5, max_total_s=30)
    assert p.delay_s(_rate_limited("4"), attempt=1, elapsed_s=0) == 4.0
    assert p.delay_s(_rate_limited("4"), attempt=1, elapsed_s=27) is None  # would end past 30 s
    assert p.delay_s(_rate_limited("120"), attempt=1, elapsed_s=0) is None  # fail over instead
    ms = RateLimitError("x", status_code=429, headers={"retry-after-ms": "250"})
    assert p.delay_s(ms, attempt=1, elapsed_s=0) == 0.25


@given(attempt=st.integers(min_value=1, max_value=12), seed=st.integers(0, 2**32 - 1))
def test_full_jitter_stays_within_the_exponential_cap(attempt: int, seed: int) -> None:
    p = RetryPolicy(max_attempts=20, base_delay_s=0.5, max_delay_s=8.0, max_total_s=1e9)
    d = p.delay_s(ProviderTimeoutError("t"), attempt=attempt, elapsed_s=0, rng=random.Random(seed))
    assert d is not None
    assert 0.0 <= d <= min(8.0, 0.5 * 2 ** (attempt - 1))


def test_jitter_spreads_delays() -> None:
    p = RetryPolicy(base_delay_s=1.0)
    rng = random.Random(1)
    delays = {
        p.delay_s(ProviderTimeoutError("t"), attempt=2, elapsed_s=0, rng=rng) for _ in range(50)
    }
    assert len(delays) > 40


def test_invalid_policies() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay_s=-1)


async def test_test_mode_records_sleeps_instead_of_sleeping() -> None:
    import time

    set_testing(True)
    try:
        start = time.monotonic()
        await retry.sleep(30.0)
        await retry.sleep(0.5)
        assert time.monotonic() - start < 1.0
        assert recorded_sleeps() == [30.0, 0.5]
        assert retry.is_testing()
    finally:
        set_testing(False)
    assert not retry.is_testing()


async def test_testing_context_manager_restores_previous_mode() -> None:
    with fast_retries() as sleeps:
        await retry.sleep(3.0)
        with fast_retries() as inner:
            await retry.sleep(1.0)
        assert inner == [1.0]
        assert sleeps == [3.0]
        assert retry.is_testing()
    assert not retry.is_testing()
