from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenplan.money import format_usd


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "$0"),
        (None, "-"),
        (float("nan"), "-"),
        (1.234, "$1.23"),
        (1234.5, "$1,234.50"),
        (0.5, "$0.50"),
        (0.0123, "$0.0123"),
        (0.000414442, "$0.000414"),
        (3e-07, "$0.0000003"),
        (-0.05, "-$0.05"),
    ],
)
def test_formats(value: float | None, text: str) -> None:
    assert format_usd(value) == text


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_never_an_exponent(value: float) -> None:
    text = format_usd(value)
    assert "e" not in text.lower()
    assert text.lstrip("-").startswith("$")
