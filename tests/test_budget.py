from __future__ import annotations

import math
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenplan.budget import Budget
from tokenplan.catalog.model import Model
from tokenplan.ledger.context import call_context, current_context
from tokenplan.pricing import cost_usd


def model() -> Model:
    return Model(
        id="x/m",
        provider="x",
        api_name="m",
        tier="budget",
        input_per_mtok=1.0,
        output_per_mtok=10.0,
        context_window=10_000,
        max_output_tokens=4096,
        quality={"general": 0.5},
    )


def test_reserve_settle_and_exhaustion() -> None:
    b = Budget(1.0)
    r = b.try_reserve(0.6)
    assert r is not None
    assert b.available_usd == pytest.approx(0.4)
    assert b.try_reserve(0.5) is None
    r.settle(0.1)
    assert b.spent_usd == pytest.approx(0.1)
    assert b.available_usd == pytest.approx(0.9)
    r.settle(5.0)  # second settle is ignored
    assert b.spent_usd == pytest.approx(0.1)
    assert b.try_reserve(2.0) is None


def test_fit_max_tokens_lowers_to_what_is_left() -> None:
    b = Budget(0.01)  # $0.01: 1000 input tokens cost $0.001, leaving $0.009 = 900 output tokens
    assert b.fit_max_tokens(model(), input_tokens=1000, max_tokens=4096) == 900
    assert b.fit_max_tokens(model(), input_tokens=1000, max_tokens=100) == 100
    assert b.fit_max_tokens(model(), input_tokens=20_000, max_tokens=100) is None
    assert Budget(None).fit_max_tokens(model(), input_tokens=10**9, max_tokens=7) == 7


@given(st.lists(st.tuples(st.floats(0, 0.5), st.floats(0, 1)), max_size=60))
def test_concurrent_reservations_never_exceed_limit(calls: list[tuple[float, float]]) -> None:
    b = Budget(1.0)
    peak: list[float] = []

    def worker(amount: float, fraction: float) -> None:
        r = b.try_reserve(amount)
        peak.append(b.spent_usd + b.reserved_usd)
        if r is not None:
            r.settle(amount * fraction)  # actual <= reserved worst case

    threads = [threading.Thread(target=worker, args=c) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert b.spent_usd <= 1.0 + 1e-9
    assert all(p <= 1.0 + 1e-9 for p in peak)
    assert b.reserved_usd == pytest.approx(0.0, abs=1e-9)


def test_call_context_nests_and_counts_attempts() -> None:
    assert current_context().kind == "route"
    with call_context(run_id="r1", kind="step", step_id="a") as ctx:
        assert ctx.next_attempt() == 1
        with call_context(escalated_from="x/cheap") as inner:
            assert inner.next_attempt() == 2  # same step: shared counter
            assert current_context().escalated_from == "x/cheap"
        with call_context(step_id="b") as other:
            assert other.next_attempt() == 1
    assert current_context().run_id == ""


def premium_model(**prices: float) -> Model:
    """A model billing cache writes and reasoning above its plain rates (as Anthropic does)."""
    base = {"input_per_mtok": 3.0, "output_per_mtok": 15.0}
    base.update(prices)
    return Model(
        id="x/premium",
        provider="x",
        api_name="premium",
        tier="mid",
        context_window=200_000,
        max_output_tokens=8192,
        quality={"general": 0.7},
        cached_input_per_mtok=0.3,
        cache_write_per_mtok=3.75,
        reasoning_output_per_mtok=20.0,
        **base,
    )


@given(
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
)
def test_no_usage_mix_costs_more_than_the_worst_case(
    inp: int, out: int, cached: int, writes: int, reasoning: int
) -> None:
    m = premium_model()
    actual = cost_usd(
        m,
        input_tokens=inp,
        output_tokens=out,
        cached_tokens=cached,
        cache_write_tokens=writes,
        reasoning_tokens=reasoning,
    )
    assert actual <= m.worst_case_cost(inp, out) * (1 + 1e-12)


@given(st.floats(1e-4, 50.0), st.integers(0, 200_000), st.integers(1, 100_000))
def test_a_fitted_call_always_reserves(limit: float, input_tokens: int, max_tokens: int) -> None:
    b = Budget(limit)
    m = premium_model()
    fitted = b.fit_max_tokens(m, input_tokens=input_tokens, max_tokens=max_tokens)
    if fitted is None:
        assert m.worst_case_cost(input_tokens, 1) > limit
        return
    assert 1 <= fitted <= max_tokens
    assert b.try_reserve(m.worst_case_cost(input_tokens, fitted))
    if fitted < max_tokens:  # lowered: one more token would not have fit
        more = m.worst_case_cost(input_tokens, fitted + 1)
        assert more > limit - 1e-12


def test_nan_amounts_never_pass_as_free() -> None:
    b = Budget(1.0)
    with pytest.raises(ValueError, match="NaN"):
        b.try_reserve(math.nan)
    r = b.try_reserve(0.4)
    assert r is not None
    r.settle(math.nan)  # unusable usage numbers: charge the worst case held
    assert b.spent_usd == pytest.approx(0.4)
    assert b.reserved_usd == 0.0


def test_racing_settles_count_once() -> None:
    b = Budget(1.0)
    reservations = [r for _ in range(50) if (r := b.try_reserve(0.01)) is not None]
    barrier = threading.Barrier(4)

    def settle_all() -> None:
        barrier.wait()
        for r in reservations:
            r.settle(0.01)

    threads = [threading.Thread(target=settle_all) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert b.spent_usd == pytest.approx(0.5)
    assert b.reserved_usd == pytest.approx(0.0)
