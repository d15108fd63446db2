from __future__ import annotations

import pytest

from tokenplan.errors import UsageError
from tokenplan.inputs import check_budget_usd, optional_budget_usd


@pytest.mark.parametrize(
    ("value", "expected"), [(0.5, 0.5), ("0.25", 0.25), (" $1.50 ", 1.5), (3, 3.0)]
)
def test_good_budgets(value: object, expected: float) -> None:
    assert check_budget_usd(value) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (0, "must be greater than $0"),
        ("-1", "must be greater than $0"),
        ("lots", "must be an amount of USD"),
        (True, "must be an amount of USD"),
        (float("inf"), "must be a finite amount"),
        ("nan", "must be a finite amount"),
        (None, "must be an amount of USD"),
    ],
)
def test_bad_budgets_name_the_value(value: object, fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        check_budget_usd(value, name="--budget")
    assert str(info.value).startswith("--budget ")
    assert fragment in str(info.value)


def test_optional_budget() -> None:
    assert optional_budget_usd(None) is None
    assert optional_budget_usd("$2") == 2.0
