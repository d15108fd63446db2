from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenplan.catalog.model import Model
from tokenplan.pricing import cost_usd, usage_cost
from tokenplan.types import Usage


def model(**kw: object) -> Model:
    base: dict[str, object] = {
        "id": "x/m",
        "provider": "x",
        "api_name": "m",
        "tier": "budget",
        "input_per_mtok": 1.0,
        "output_per_mtok": 4.0,
        "context_window": 1000,
        "max_output_tokens": 100,
        "quality": {"general": 0.5},
    }
    base.update(kw)
    return Model(**base)  # type: ignore[arg-type]


def test_plain_cost() -> None:
    assert cost_usd(model(), input_tokens=1_000_000, output_tokens=500_000) == pytest.approx(3.0)


def test_cached_cache_write_and_reasoning_prices() -> None:
    m = model(cached_input_per_mtok=0.1, cache_write_per_mtok=1.25, reasoning_output_per_mtok=8.0)
    u = Usage(
        input_tokens=1000,
        cached_tokens=600,
        cache_write_tokens=200,
        output_tokens=300,
        reasoning_tokens=100,
    )
    expected = (200 * 1.0 + 600 * 0.1 + 200 * 1.25 + 200 * 4.0 + 100 * 8.0) / 1e6
    assert usage_cost(m, u) == pytest.approx(expected)


def test_inconsistent_counts_are_clamped() -> None:
    u = Usage(input_tokens=10, cached_tokens=50, output_tokens=5, reasoning_tokens=9)
    assert usage_cost(model(cached_input_per_mtok=0.5), u) == pytest.approx(
        (10 * 0.5 + 5 * 4.0) / 1e6
    )


@given(st.integers(0, 10**7), st.integers(0, 10**7), st.integers(0, 10**7), st.integers(0, 10**7))
def test_cost_is_bounded_by_worst_case(inp: int, out: int, cached: int, reasoning: int) -> None:
    m = model(cached_input_per_mtok=0.2, reasoning_output_per_mtok=6.0)
    actual = cost_usd(
        m, input_tokens=inp, output_tokens=out, cached_tokens=cached, reasoning_tokens=reasoning
    )
    assert 0.0 <= actual <= m.worst_case_cost(inp, out) + 1e-12


def test_long_context_rates_apply_to_the_whole_call_past_the_threshold() -> None:
    from tokenplan.budget import Budget

    lc = {"above_input_tokens": 1000, "input_per_mtok": 2.0, "output_per_mtok": 8.0}
    m = model(cached_input_per_mtok=0.1, extra={"long_context": lc})
    assert m.priced_for(1000) is m
    long = m.priced_for(1001)
    assert (long.input_per_mtok, long.output_per_mtok) == (2.0, 8.0)
    assert long.cached_input_per_mtok == 0.1  # not given for the tier: unchanged
    assert cost_usd(m, input_tokens=1000, output_tokens=100) == pytest.approx(
        (1000 * 1.0 + 100 * 4.0) / 1e6
    )
    assert cost_usd(m, input_tokens=2000, output_tokens=100) == pytest.approx(
        (2000 * 2.0 + 100 * 8.0) / 1e6
    )
    assert m.worst_case_cost(2000, 100) == pytest.approx((2000 * 2.0 + 100 * 8.0) / 1e6)
    # The budget fits max_tokens at the long-context output rate too.
    budget = Budget((2000 * 2.0 + 100 * 8.0) / 1e6)
    assert budget.fit_max_tokens(m, input_tokens=2000, max_tokens=500) == 100


@given(st.integers(0, 3000), st.integers(0, 3000), st.integers(0, 3000))
def test_cost_never_exceeds_worst_case_across_the_long_context_threshold(
    inp: int, out: int, cached: int
) -> None:
    lc = {"above_input_tokens": 1000, "input_per_mtok": 2.0, "output_per_mtok": 8.0}
    m = model(cached_input_per_mtok=0.1, reasoning_output_per_mtok=6.0, extra={"long_context": lc})
    actual = cost_usd(m, input_tokens=inp, output_tokens=out, cached_tokens=cached)
    assert actual <= m.worst_case_cost(inp, out) + 1e-12
