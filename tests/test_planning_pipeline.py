from __future__ import annotations

import math
from typing import Any

import pytest

from _planning_factories import GOOD_ANSWER, ladder
from tokenplan.budget import Budget
from tokenplan.errors import BudgetError, ConfigError, UsageError
from tokenplan.ledger.context import current_context
from tokenplan.planning._money import ceil_usd
from tokenplan.planning.allocator import minimum_budget_usd
from tokenplan.planning.inputs import (
    check_budget_usd,
    check_goal,
    check_max_steps,
    check_strategy,
)
from tokenplan.planning.pipeline import plan_and_allocate
from tokenplan.settings import Settings
from tokenplan.testing import FunctionModel
from tokenplan.types import ChatRequest, ChatResponse, Usage


class MeteredPlanner:
    """Stands in for the metering layer: reserves on the context's budget, settles the cost."""

    def __init__(self, replies: list[tuple[str, float]]) -> None:
        self.replies = list(replies)
        self.kinds: list[str] = []
        self.model = FunctionModel(self._answer)

    def _answer(self, request: ChatRequest) -> ChatResponse:
        ctx = current_context()
        self.kinds.append(ctx.kind)
        assert ctx.budget is not None
        text, cost = self.replies.pop(0)
        hold = ctx.budget.try_reserve(0.05)
        assert hold is not None
        hold.settle(cost)
        return ChatResponse(
            model=request.model, provider="test", text=text, cost_usd=cost, usage=Usage()
        )


async def test_planner_spend_is_charged_to_the_run_budget_and_the_allocation() -> None:
    fake = MeteredPlanner([("not json", 0.01), (GOOD_ANSWER, 0.02)])
    settings = Settings.load(env={"TOKENPLAN_HOME": "/nonexistent"}, config_file=None)
    result = await plan_and_allocate(
        "Build a parser and explain it",
        model=fake.model,
        catalog=ladder(),
        settings=settings,
        budget_usd=0.5,
        strategy="best_quality",
        planner_model_id="mid/medium",
        run_id="r1",
    )
    assert fake.kinds == ["plan", "plan"]
    assert result.planner.cost_usd == pytest.approx(0.03)
    assert result.budget.spent_usd == pytest.approx(0.03)
    a = result.allocation
    assert a.planner_cost_usd == pytest.approx(0.03)
    assert a.steps_cap_usd == pytest.approx(0.5 - 0.03 - 0.1)
    assert a.total_est_cost_usd <= a.steps_cap_usd
    assert result.plan.ids == ("outline", "code", "write")


async def test_planner_spend_can_make_the_plan_unaffordable() -> None:
    fake = MeteredPlanner([(GOOD_ANSWER, 0.0395)])
    settings = Settings.load(env={}, config_file=None)
    with pytest.raises(BudgetError) as info:
        await plan_and_allocate(
            "goal",
            model=fake.model,
            catalog=ladder(),
            settings=settings,
            budget_usd=0.05,
            planner_model_id="mid/medium",
        )
    assert info.value.spent_usd == pytest.approx(0.0395)
    assert info.value.minimum_usd is not None
    assert info.value.minimum_usd > 0.05


async def test_settings_and_an_existing_budget_are_used() -> None:
    fake = MeteredPlanner([(GOOD_ANSWER, 0.001)])
    settings = Settings.load({"strategy": "cheapest", "planner_model": "top/large"}, env={})
    run_budget = Budget(1.0)
    result = await plan_and_allocate(
        "goal", model=fake.model, catalog=ladder(), settings=settings, budget=run_budget
    )
    assert result.budget is run_budget
    assert run_budget.spent_usd == pytest.approx(0.001)
    assert result.allocation.strategy == "cheapest"
    assert result.allocation.budget_usd == settings.plan_budget_usd
    assert fake.model.requests[0].model == "top/large"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"goal": " "}, UsageError),
        ({"budget_usd": 0}, UsageError),
        ({"strategy": "nope"}, UsageError),
        ({"max_steps": 0}, UsageError),
    ],
)
async def test_bad_input_fails_before_any_call(kwargs: dict[str, Any], error: type) -> None:
    fake = MeteredPlanner([])
    args: dict[str, Any] = {"goal": "goal", **kwargs}
    with pytest.raises(error):
        await plan_and_allocate(
            args.pop("goal"),
            model=fake.model,
            catalog=ladder(),
            settings=Settings.load(env={}),
            **args,
        )
    assert fake.kinds == []


@pytest.mark.parametrize(
    ("value", "expected"), [("0.5", 0.5), ("$1.25", 1.25), (2, 2.0), (" 0.01 ", 0.01)]
)
def test_check_budget_accepts(value: Any, expected: float) -> None:
    assert check_budget_usd(value) == expected


@pytest.mark.parametrize("value", ["", "abc", "0", "-1", "nan", "inf", True, None, 0.0])
def test_check_budget_refuses(value: Any) -> None:
    with pytest.raises(UsageError, match="budget must be"):
        check_budget_usd(value)


def test_other_input_checks() -> None:
    assert check_goal("  do it \n") == "do it"
    for bad in ("", " \n ", None, 3, "a\x00b"):
        with pytest.raises(UsageError):
            check_goal(bad)
    assert check_max_steps(12) == 12
    for bad_steps in (0, 101, "5", 2.0, True):
        with pytest.raises(UsageError, match="max steps"):
            check_max_steps(bad_steps)
    assert check_strategy("auto:quality") == "best_quality"
    with pytest.raises(UsageError) as info:
        check_strategy("fastest")
    assert isinstance(info.value, ConfigError)
    assert info.value.exit_code == 2


def test_ceil_usd_and_minimum_budget_round_up() -> None:
    assert ceil_usd(0.0079375) == 0.008
    assert ceil_usd(0.00123) == 0.0013
    assert ceil_usd(1.234) == 1.24
    assert ceil_usd(0.5) == 0.5
    for cost in (1e-7, 0.000333, 0.0123456, 0.99999, 3.14159):
        for planner in (0.0, 0.002):
            for reserve in (0.0, 0.2, 0.9):
                m = minimum_budget_usd(cost, planner_cost_usd=planner, reserve=reserve)
                assert cost <= m - planner - reserve * m + 1e-15
                assert m <= (cost + planner) / (1 - reserve) * 1.1 + 1e-15
                assert math.isfinite(m)
