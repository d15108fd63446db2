"""Rungs (failover within a tier) and escalation targets (the next tier up, never down)."""

from __future__ import annotations

import math

import anyio
import pytest

from _executor_support import catalog
from tokenplan.catalog.catalog import Catalog
from tokenplan.catalog.model import Model
from tokenplan.execution.ladder import Ladder, rung_limits
from tokenplan.execution.run_budget import RunBudget
from tokenplan.planning.candidates import CandidateFilter
from tokenplan.planning.schema import Step
from tokenplan.testing.catalogs import model_row


def make_step(capability: str = "general", **kw: object) -> Step:
    fields: dict[str, object] = {
        "id": "s",
        "title": "t",
        "instructions": "i",
        "capability": capability,
        "est_input_tokens": 1000,
        "est_output_tokens": 500,
    }
    fields.update(kw)
    return Step.model_validate(fields)


def everything(model: Model) -> bool:
    return True


def test_a_rung_is_the_model_then_same_tier_alternatives() -> None:
    cat = catalog()
    ladder = Ladder(cat, available=everything)
    rung = ladder.rung(make_step(), cat.get("b2/small"))
    assert [m.id for m in rung] == ["b2/small", "b1/small"]
    assert rung_limits(rung) == (128_000, 16_384)
    # Unavailable models are left out.
    only_b2 = Ladder(cat, available=lambda m: m.id != "b1/small")
    assert [m.id for m in only_b2.rung(make_step(), cat.get("b2/small"))] == ["b2/small"]


def test_escalation_climbs_one_tier_to_the_best_rated_model() -> None:
    cat = catalog()
    ladder = Ladder(cat, available=everything)
    step = make_step()
    up = ladder.next_model(step, cat.get("b2/small"))
    assert up is not None
    assert up.id == "m1/medium"
    top = ladder.next_model(step, up)
    assert top is not None
    assert top.id == "f1/large"
    assert ladder.next_model(step, top) is None  # nothing above the flagship tier


def test_escalation_prefers_what_the_budget_can_still_pay_for() -> None:
    cat = catalog()
    ladder = Ladder(cat, available=everything)
    step = make_step()
    f1, f2 = cat.get("f1/large"), cat.get("f2/large")
    between = (ladder.estimated_cost(step, f1) + ladder.estimated_cost(step, f2)) / 2
    costly_first = Catalog.from_rows(
        [
            model_row("m1/medium", tier="mid", quality=dict.fromkeys(("general",), 0.7)),
            model_row("f2/large", tier="flagship", input_per_mtok=3.0, output_per_mtok=12.0,
                      quality={"general": 0.95}),
            model_row("f1/large", tier="flagship", input_per_mtok=2.5, output_per_mtok=10.0,
                      quality={"general": 0.9}),
        ],
        source="test",
    )  # fmt: skip
    ladder = Ladder(costly_first, available=everything)
    mid = costly_first.get("m1/medium")
    assert ladder.next_model(step, mid, budget_left_usd=math.inf).id == "f2/large"  # type: ignore[union-attr]
    assert ladder.next_model(step, mid, budget_left_usd=between).id == "f1/large"  # type: ignore[union-attr]
    # Nothing fits: the cheapest of the tier (its call meets the budget, not a skip).
    assert ladder.next_model(step, mid, budget_left_usd=0.0).id == "f1/large"  # type: ignore[union-attr]


def test_escalation_skips_tiers_without_a_usable_model_and_never_goes_down() -> None:
    cat = catalog()
    no_mid = Ladder(cat, available=lambda m: m.tier != "mid")
    up = no_mid.next_model(make_step(), cat.get("b1/small"))
    assert up is not None
    assert up.tier == "flagship"
    local = Catalog.from_rows(
        [
            model_row("ollama/llama", tier="local", input_per_mtok=0, output_per_mtok=0),
            model_row("b1/small", tier="budget", input_per_mtok=0.1, output_per_mtok=0.4),
        ],
        source="test",
    )
    ladder = Ladder(local, available=everything)
    from_local = ladder.next_model(make_step(), local.get("ollama/llama"))
    assert from_local is not None
    assert from_local.id == "b1/small"  # a paid tier is a step up from a local model
    assert ladder.next_model(make_step(), local.get("b1/small")) is None


def test_escalation_respects_filters_capability_and_size() -> None:
    cat = catalog()
    flt = CandidateFilter(exclude_models=("m1/*",))
    up = Ladder(cat, available=everything, flt=flt).next_model(make_step(), cat.get("b1/small"))
    assert up is not None
    assert up.id == "m2/medium"
    big = make_step(est_input_tokens=150_000)  # fits no 128k window
    assert Ladder(cat, available=everything).next_model(big, cat.get("b1/small")) is None
    coders = Catalog.from_rows(
        [
            model_row("b1/small", tier="budget", quality={"general": 0.6}),
            model_row("m1/medium", tier="mid", quality={"general": 0.8}),
            model_row("m2/coder", tier="mid", quality={"code": 0.8}),
        ],
        source="test",
    )
    up = Ladder(coders, available=everything).next_model(make_step("code"), coders.get("b1/small"))
    assert up is not None
    assert up.id == "m2/coder"


async def test_run_budget_waits_for_settlements() -> None:
    budget = RunBudget(1.0)
    first = budget.try_reserve(0.7)
    assert first is not None
    assert budget.outstanding == 1
    assert not budget.fits(0.5)
    woke: list[bool] = []

    async def waiter() -> None:
        woke.append(await budget.wait_for_room(0.5))

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await anyio.sleep(0.01)
        assert woke == []  # still waiting: 0.3 free
        first.settle(0.1)  # the actual cost was far below the worst case
    assert woke == [True]
    assert budget.outstanding == 0
    assert budget.spent_usd == pytest.approx(0.1)
    # Nothing in flight and still short: no waiting, the answer is no.
    with anyio.fail_after(1):
        assert await budget.wait_for_room(5.0) is False


def test_run_budget_reports_each_settlement_once() -> None:
    seen: list[float] = []
    budget = RunBudget(1.0, spent_usd=0.2, on_settle=lambda b: seen.append(b.spent_usd))
    hold = budget.try_reserve(0.3)
    assert hold is not None
    hold.settle(0.25)
    hold.settle(0.25)  # a second settle is ignored
    assert seen == [pytest.approx(0.45)]
    assert budget.outstanding == 0


def test_path_is_the_full_climb_one_tier_at_a_time() -> None:
    from tokenplan.execution.ladder import TIER_RANK

    cat = Catalog.bundled()
    ladder = Ladder(cat, available=lambda _m: True)
    step = Step(
        id="s",
        title="t",
        instructions="write code",
        capability="code",
        est_input_tokens=200,
        est_output_tokens=300,
    )
    start = min((m for m in cat if m.can("code") and m.tier == "budget"), key=lambda m: m.id)
    climb = ladder.path(step, start)
    assert climb[0] == start
    ranks = [TIER_RANK[m.tier] for m in climb]
    assert ranks == sorted(set(ranks))
    assert [m.tier for m in climb] == ["budget", "mid", "flagship"]
    assert ladder.path(step, climb[-1]) == [climb[-1]]
