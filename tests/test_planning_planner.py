from __future__ import annotations

import json

import pytest

from _planning_factories import GOOD_ANSWER, answer, catalog, model, step
from tokenplan.budget import Budget
from tokenplan.catalog import Catalog
from tokenplan.errors import (
    InvalidPlanError,
    NoCandidateError,
    PlanParseError,
    RateLimitError,
    UnknownModelError,
    UsageError,
)
from tokenplan.ledger.context import current_context
from tokenplan.planning.planner import choose_planner_model, plan_goal
from tokenplan.planning.schema import PLAN_JSON_SCHEMA
from tokenplan.testing import FunctionModel, ScriptedModel
from tokenplan.types import ChatRequest, ChatResponse, Usage

PLANNER = "open/planner"

BAD_JSON = '{"steps": [{"id": "a", '
CYCLE = answer(step("a", ["b"]), step("b", ["a"]))
UNKNOWN_DEPS = answer(step("a"), step("b", ["a", "drafft"]), step("draft", ["b"]))
DUPLICATES = answer(step("a"), step("b", ["a"]), step("a"))
TOO_MANY = answer(step("s0"), *(step(f"s{i}", [f"s{i - 1}"]) for i in range(1, 6)))


def planner_catalog(*, json_schema: bool = True) -> Catalog:
    return catalog(model(PLANNER, json_schema=json_schema))


async def test_good_plan_in_one_call_with_the_contract_request() -> None:
    llm = ScriptedModel([GOOD_ANSWER])
    result = await plan_goal(
        "  Build a CSV parser and explain it  ",
        model=llm,
        planner_model_id=PLANNER,
        catalog=planner_catalog(),
        max_steps=5,
    )
    assert result.plan.ids == ("outline", "code", "write")
    assert result.plan.goal == "Build a CSV parser and explain it"
    assert (result.calls, result.repairs, result.rejected) == (1, 0, ())
    assert result.answers == (GOOD_ANSWER,)
    assert result.output_mode == "json_schema"
    (req,) = llm.requests
    assert req.model == PLANNER
    assert [m.role for m in req.messages] == ["system", "user"]
    user = req.messages[1].content
    assert "<goal>\nBuild a CSV parser and explain it\n</goal>" in user
    assert "<max_steps>5</max_steps>" in user
    assert req.response_format is not None
    assert req.response_format.name == "tokenplan_plan"
    assert req.response_format.json_schema == PLAN_JSON_SCHEMA
    assert not req.json_mode
    system = req.messages[0].content
    for capability in ("code:", "math:", "reasoning:", "general:"):
        assert capability in system
    assert "est_input_tokens" in system
    assert '"additionalProperties"' not in system  # the schema travels in response_format


@pytest.mark.parametrize("known", [True, False])
async def test_json_mode_with_schema_in_prompt_without_json_schema_support(known: bool) -> None:
    llm = ScriptedModel([GOOD_ANSWER])
    cat = planner_catalog(json_schema=False) if known else None
    result = await plan_goal("goal", model=llm, planner_model_id=PLANNER, catalog=cat)
    req = llm.requests[0]
    assert result.output_mode == "json_mode"
    assert req.json_mode
    assert req.response_format is None
    assert json.dumps(PLAN_JSON_SCHEMA, separators=(",", ":")) in req.messages[0].content


async def test_each_class_of_bad_plan_is_repaired_with_its_exact_errors() -> None:
    script = [BAD_JSON, CYCLE, UNKNOWN_DEPS, DUPLICATES, TOO_MANY, GOOD_ANSWER]
    llm = ScriptedModel(script)
    result = await plan_goal(
        "goal", model=llm, planner_model_id=PLANNER, max_steps=5, max_repairs=5
    )
    assert result.calls == 6
    assert result.plan.ids == ("outline", "code", "write")
    assert result.answers == tuple(script)
    assert result.rejected[0][0].startswith("the answer is not valid JSON: ")
    assert result.rejected[1] == ("dependency cycle: a -> b -> a",)
    assert result.rejected[2] == (
        "step 'b' depends on unknown step 'drafft' (did you mean 'draft'?)",
    )
    assert result.rejected[3] == ("duplicate step id 'a' (steps #1, #3); ids must be unique",)
    assert result.rejected[4] == ("too many steps: 6 (the limit is 5; merge small steps)",)
    # Each re-ask carries the previous answer and, verbatim, every problem found in it.
    for call in range(1, 6):
        msgs = llm.requests[call].messages
        assert len(msgs) == 2 + 2 * call
        assert msgs[-2].role == "assistant"
        assert msgs[-2].content == script[call - 1]
        assert msgs[-1].role == "user"
        for problem in result.rejected[call - 1]:
            assert problem in msgs[-1].content
    assert "could not be read as a plan" in llm.requests[1].messages[-1].content
    assert "- dependency cycle: a -> b -> a" in llm.requests[2].messages[-1].content


async def test_repairs_are_bounded_then_the_last_errors_are_raised() -> None:
    # A good plan is scripted fourth: it must never be asked for.
    llm = ScriptedModel([CYCLE, UNKNOWN_DEPS, CYCLE, GOOD_ANSWER])
    with pytest.raises(InvalidPlanError) as info:
        await plan_goal("goal", model=llm, planner_model_id=PLANNER)
    assert len(llm.requests) == 3
    err = info.value
    assert err.problems == ("dependency cycle: a -> b -> a",)
    assert str(err).startswith(f"the planner ({PLANNER}) gave no valid plan in 3 calls")
    assert "dependency cycle: a -> b -> a" in str(err)


async def test_unparseable_last_answer_raises_parse_error_with_raw() -> None:
    llm = ScriptedModel(["nope", "still nope"])
    with pytest.raises(PlanParseError) as info:
        await plan_goal("goal", model=llm, planner_model_id=PLANNER, max_repairs=1)
    assert len(llm.requests) == 2
    assert info.value.raw == "still nope"
    assert "gave no valid plan in 2 calls" in str(info.value)


async def test_no_repairs_means_one_call() -> None:
    llm = ScriptedModel([CYCLE, GOOD_ANSWER])
    with pytest.raises(InvalidPlanError):
        await plan_goal("goal", model=llm, planner_model_id=PLANNER, max_repairs=0)
    assert len(llm.requests) == 1


async def test_planner_cost_is_the_sum_of_all_calls_and_each_call_is_metered() -> None:
    replies = iter([(CYCLE, 0.0011), (BAD_JSON, 0.0022), (GOOD_ANSWER, 0.0033)])
    seen: list[tuple[str, str | None, str, int, object]] = []

    def answer_with_cost(request: ChatRequest) -> ChatResponse:
        ctx = current_context()
        # What the metering layer does: number the attempt, read kind / run / budget.
        seen.append((ctx.kind, ctx.step_id, ctx.run_id, ctx.next_attempt(), ctx.budget))
        text, cost = next(replies)
        return ChatResponse(
            model=request.model,
            provider="test",
            text=text,
            cost_usd=cost,
            usage=Usage(input_tokens=100, output_tokens=50),
        )

    budget = Budget(1.0)
    result = await plan_goal(
        "goal",
        model=FunctionModel(answer_with_cost),
        planner_model_id=PLANNER,
        run_id="run-1",
        budget=budget,
    )
    assert result.cost_usd == pytest.approx(0.0066)
    assert result.calls == 3
    assert result.usage == Usage(input_tokens=300, output_tokens=150)
    assert seen == [
        ("plan", None, "run-1", 1, budget),
        ("plan", None, "run-1", 2, budget),
        ("plan", None, "run-1", 3, budget),
    ]
    assert current_context().kind == "route"  # the context is restored afterwards


async def test_truncated_answer_asks_for_a_shorter_plan() -> None:
    cut = ChatResponse(
        model=PLANNER, provider="test", text=GOOD_ANSWER[:40], finish_reason="length"
    )
    llm = ScriptedModel([cut, GOOD_ANSWER])
    result = await plan_goal("goal", model=llm, planner_model_id=PLANNER, max_tokens=100)
    assert result.calls == 2
    assert llm.requests[0].max_tokens == 100
    assert "cut off at the output limit" in llm.requests[1].messages[-1].content


async def test_max_tokens_is_capped_at_the_planner_models_output_limit() -> None:
    llm = ScriptedModel([GOOD_ANSWER])
    cat = catalog(model(PLANNER, max_out=4096))
    await plan_goal("goal", model=llm, planner_model_id=PLANNER, catalog=cat)
    assert llm.requests[0].max_tokens == 4096


async def test_simulated_answers_are_flagged() -> None:
    sim = ChatResponse(model=PLANNER, provider="sim", text=GOOD_ANSWER, simulated=True)
    result = await plan_goal("goal", model=ScriptedModel([sim]), planner_model_id=PLANNER)
    assert result.simulated
    assert result.model == PLANNER


async def test_planner_may_not_pin_models() -> None:
    pinned = answer(step("a", model="x/y"))
    llm = ScriptedModel([pinned, answer(step("a"))])
    result = await plan_goal("goal", model=llm, planner_model_id=PLANNER)
    assert result.rejected == (
        ("step 'a': unknown field 'model' (models are chosen by the allocator)",),
    )
    assert result.plan.pinned == {}


async def test_provider_errors_propagate_without_a_fallback_plan() -> None:
    llm = ScriptedModel([RateLimitError("slow down", status_code=429), GOOD_ANSWER])
    with pytest.raises(RateLimitError):
        await plan_goal("goal", model=llm, planner_model_id=PLANNER)
    assert len(llm.requests) == 1


@pytest.mark.parametrize("goal", ["", "   ", "\n\t"])
async def test_empty_goal_is_a_usage_error_before_any_call(goal: str) -> None:
    llm = ScriptedModel([])
    with pytest.raises(UsageError, match="goal is empty"):
        await plan_goal(goal, model=llm, planner_model_id=PLANNER)
    assert llm.requests == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_steps": 0}, "max steps"),
        ({"max_repairs": -1}, "max_repairs"),
        ({"max_tokens": 0}, "max_tokens"),
    ],
)
async def test_bad_limits(kwargs: dict[str, int], match: str) -> None:
    with pytest.raises(UsageError, match=match):
        await plan_goal("goal", model=ScriptedModel([]), planner_model_id=PLANNER, **kwargs)  # type: ignore[arg-type]


def test_choose_planner_model() -> None:
    cat = catalog(
        model("a/weak-cheap", inp=0.01, out=0.01, quality={"reasoning": 0.6}),
        model("b/good-cheap", inp=0.2, out=1.0, quality={"reasoning": 0.8}),
        model("c/good-dear", inp=2.0, out=8.0, quality={"reasoning": 0.9}),
        model("d/no-schema", inp=0.1, out=0.2, quality={"reasoning": 0.85}, json_schema=False),
        model("e/local", tier="local", inp=0, out=0, quality={"reasoning": 0.7}),
    )
    assert choose_planner_model(cat).id == "b/good-cheap"
    # A user with only a local server plans with it.
    assert choose_planner_model(cat, available={"e/local"}).id == "e/local"
    assert choose_planner_model(cat, available={"c/good-dear", "a/weak-cheap"}).id == "c/good-dear"
    # Nothing reaches the bar: the best-rated available model plans.
    assert choose_planner_model(cat, available={"a/weak-cheap", "d/no-schema"}).id == (
        "d/no-schema"
    )
    assert choose_planner_model(cat, model_id="a/weak-cheap").id == "a/weak-cheap"
    with pytest.raises(UnknownModelError):
        choose_planner_model(cat, model_id="a/weak-chep")
    with pytest.raises(NoCandidateError):
        choose_planner_model(cat, available=set())


def test_bundled_catalog_has_a_planner() -> None:
    chosen = choose_planner_model(Catalog.bundled())
    assert chosen.json_schema
    assert chosen.prior("reasoning") >= 0.75


async def test_no_planning_call_without_room_for_a_plan() -> None:
    from tokenplan.catalog.model import Model
    from tokenplan.errors import BudgetError
    from tokenplan.ledger.context import call_context
    from tokenplan.planning.planner import PLANNER_MIN_OUTPUT_TOKENS
    from tokenplan.providers.metered import MeteredModel
    from tokenplan.tokens import estimate_request_tokens

    cat = planner_catalog()
    info: Model = cat.get(PLANNER)
    llm = ScriptedModel([GOOD_ANSWER])
    metered = MeteredModel(llm, info, provider="open")
    await plan_goal("Build a CSV parser", model=metered, planner_model_id=PLANNER, catalog=cat)
    prompt_tokens = estimate_request_tokens(llm.requests[0])
    # Room for the prompt and a few hundred output tokens: not enough for a plan.
    budget = Budget(info.worst_case_cost(prompt_tokens, PLANNER_MIN_OUTPUT_TOKENS // 3))
    with call_context(), pytest.raises(BudgetError) as err:
        await plan_goal("Build a CSV parser", model=metered, planner_model_id=PLANNER,
                        catalog=cat, budget=budget)  # fmt: skip
    assert len(llm.requests) == 1  # only the first, unbudgeted call
    assert f"{PLANNER_MIN_OUTPUT_TOKENS:,} output tokens" in err.value.message
