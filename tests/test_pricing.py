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
