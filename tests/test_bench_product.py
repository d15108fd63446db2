"""The product's router and escalation as benchmark policies, and the response-only checks."""

from __future__ import annotations

import time

import pytest

from tokenplan.bench.checks import acceptance, answer_problem, failing_stated_tests, stated_tests
from tokenplan.bench.harness import run_policy
from tokenplan.bench.metering import MeteredModels
from tokenplan.bench.policies import Choice, EscalationPolicy, Query, RouterPolicy
from tokenplan.budget import Budget
from tokenplan.catalog import Catalog
from tokenplan.errors import ModelUnavailableError
from tokenplan.execution.ladder import TIER_RANK
from tokenplan.ledger.attempt import Attempt
from tokenplan.routing.router import Router
from tokenplan.settings import Settings
from tokenplan.testing import FunctionModel
from tokenplan.testing.catalogs import model_row
from tokenplan.types import ChatRequest, ChatResponse

MC = "Which gas do plants absorb?\nA) oxygen\nB) carbon dioxide\nC) helium\nAnswer:"
CODE = "Write a Python function `add(a, b)` returning the sum of a and b."


def _catalog() -> Catalog:
    """Two models per tier; within a tier the first is cheaper and a little worse."""
    rows = []
    for tier, price, q in (("budget", 0.1, 0.55), ("mid", 1.0, 0.72), ("flagship", 10.0, 0.9)):
        rows.append(model_row(f"x/{tier}-1", tier=tier, input_per_mtok=price,
                              output_per_mtok=price * 4, quality=dict.fromkeys(
                                  ("code", "reasoning", "math", "general"), q)))  # fmt: skip
        rows.append(model_row(f"x/{tier}-2", tier=tier, input_per_mtok=price * 1.5,
                              output_per_mtok=price * 6, quality=dict.fromkeys(
                                  ("code", "reasoning", "math", "general"), q + 0.03)))  # fmt: skip
    return Catalog.from_rows(rows)


class Grade:
    async def grade(self, query: Query, choice: Choice) -> float:
        return 1.0


def _metered(
    catalog: Catalog, answers: dict[str, str], ledger: list[Attempt]
) -> tuple[MeteredModels, FunctionModel]:
    def answer(request: ChatRequest) -> str:
        text = answers[request.model]
        if text == "DEAD":
            raise ModelUnavailableError("gone", status_code=404, provider="x", model=request.model)
        return text

    inner = FunctionModel(answer)
    return MeteredModels.wrapping(inner, catalog, provider="x", forward=ledger.append), inner


@pytest.mark.parametrize("strategy", ["cheapest", "balanced", "best_quality"])
async def test_router_policy_calls_what_the_router_returns(strategy: str) -> None:
    catalog = _catalog()
    router = Router(catalog, Settings())
    prompts = [MC, CODE, "What is 17 * 23? Show your working.", "Summarize the history of Rome."]
    queries = [Query(f"q{i}", p, "general") for i, p in enumerate(prompts)]
    ledger: list[Attempt] = []
    models, inner = _metered(catalog, dict.fromkeys([m.id for m in catalog], "B"), ledger)
    run = await run_policy(
        RouterPolicy(router, strategy=strategy), queries, models=models, grader=Grade()
    )
    expected = [router.route(p, strategy=strategy).model.id for p in prompts]
    assert [o.model for o in run.outcomes] == expected
    assert [r.model for r in inner.requests] == expected
    assert [a.model for a in ledger] == expected
    # The router reads the capability from the text, whatever the query's tag says.
    assert router.route(CODE, strategy=strategy).capability == "code"


async def test_escalation_climbs_a_tier_per_rejected_answer() -> None:
    catalog = _catalog()
    router = Router(catalog, Settings())
    policy = EscalationPolicy(router, strategy="cheapest")
    decision, climb = policy.climb(Query("q", MC, "reasoning"))
    assert decision.model.tier == "budget"
    ladder = [m.id for m in climb]
    answers = dict.fromkeys([m.id for m in catalog], "I would rather not say.")
    answers[ladder[2]] = "B) carbon dioxide"
    ledger: list[Attempt] = []
    models, inner = _metered(catalog, answers, ledger)
    run = await run_policy(
        policy,
        [Query("q", MC, "reasoning")],
        models=models,
        grader=Grade(),
    )
    (outcome,) = run.outcomes
    assert [r.model for r in inner.requests] == ladder
    assert [catalog.get(m).tier for m in ladder] == ["budget", "mid", "flagship"]
    assert (outcome.model, outcome.escalations) == (ladder[2], 2)
    # The ledger: rejected answers are "invalid" with the reason; each call names its origin.
    assert [a.outcome for a in ledger] == ["invalid", "invalid", "ok"]
    assert "no option can be read" in (ledger[0].error or "")
    assert [a.escalated_from for a in ledger] == [None, ladder[0], ladder[1]]
    assert {a.kind for a in ledger} == {"bench"}


async def test_escalation_never_goes_downward() -> None:
    catalog = _catalog()
    router = Router(catalog, Settings())
    decision, climb = EscalationPolicy(router, strategy="best_quality").climb(
        Query("q", MC, "reasoning")
    )
    assert decision.model.tier == "flagship"
    assert climb == [decision.model]
    ledger: list[Attempt] = []
    models, inner = _metered(catalog, dict.fromkeys([m.id for m in catalog], "no idea"), ledger)
    choice = await EscalationPolicy(router, strategy="best_quality").run(
        Query("q", MC, "reasoning"), models
    )
    # The last rung's answer stands, rejected or not: there is nowhere higher to go.
    assert (choice.model, choice.escalations) == (decision.model.id, 0)
    assert [r.model for r in inner.requests] == [decision.model.id]


def test_escalation_climbs_strictly_upward_with_the_same_capability() -> None:
    catalog = _catalog()
    router = Router(catalog, Settings())
    for strategy in ("cheapest", "balanced", "best_quality"):
        policy = EscalationPolicy(router, strategy=strategy)
        for prompt in (MC, CODE, "hello there"):
            decision, climb = policy.climb(Query("q", prompt, "general"))
            assert climb[0] == decision.model
            ranks = [TIER_RANK[m.tier] for m in climb]
            assert ranks == sorted(set(ranks))  # one model per tier, strictly upward
            assert all(m.can(decision.capability) for m in climb)


async def test_a_dead_model_is_escalated_past() -> None:
    catalog = _catalog()
    router = Router(catalog, Settings())
    ladder = [
        m.id for m in EscalationPolicy(router, strategy="cheapest").climb(Query("q", MC, "x"))[1]
    ]
    answers = dict.fromkeys([m.id for m in catalog], "B")
    answers[ladder[0]] = "DEAD"
    ledger: list[Attempt] = []
    models, _ = _metered(catalog, answers, ledger)
    choice = await EscalationPolicy(router, strategy="cheapest").run(
        Query("q", MC, "reasoning"), models
    )
    assert (choice.model, choice.escalations) == (ladder[1], 1)
    assert [(a.model, a.outcome) for a in ledger] == [(ladder[0], "error"), (ladder[1], "ok")]
    assert ledger[1].escalated_from == ladder[0]


async def test_an_escalation_that_does_not_fit_the_budget_keeps_the_last_answer() -> None:
    catalog = _catalog()
    router = Router(catalog, Settings())
    ladder = [
        m.id for m in EscalationPolicy(router, strategy="cheapest").climb(Query("q", MC, "x"))[1]
    ]
    ledger: list[Attempt] = []
    models, _ = _metered(catalog, dict.fromkeys([m.id for m in catalog], "hmm"), ledger)
    # Enough for a budget-tier call (its max_tokens lowered to fit), not for one mid-tier token.
    budget = Budget(0.00002)
    run = await run_policy(
        EscalationPolicy(router, strategy="cheapest"),
        [Query("q", MC, "reasoning", max_tokens=100)],
        models=models,
        grader=Grade(),
        budget=budget,
    )
    (outcome,) = run.outcomes
    assert outcome.error is None
    assert outcome.model == ladder[0]
    assert [a.model for a in ledger] == [ladder[0]]  # the mid-tier call was never made
    assert budget.spent_usd <= 0.00002


def _response(text: str, finish: str = "stop") -> ChatResponse:
    return ChatResponse(model="m", provider="p", text=text, finish_reason=finish)  # type: ignore[arg-type]


def test_answer_checks_read_only_prompt_and_response() -> None:
    assert answer_problem(MC, "reasoning", "B") is None
    assert answer_problem(MC, "reasoning", "Carbon dioxide") is None
    assert answer_problem(MC, "reasoning", "I do not know") is not None
    math = "How many apples are left?"
    assert answer_problem(math, "math", "5 - 2 = 3. Answer: 3") is None
    assert answer_problem(math, "math", "5 - 2 = 4. Answer: 4") is not None
    assert answer_problem(math, "math", "Several.") is not None
    assert answer_problem(CODE, "code", "```python\ndef add(a, b):\n    return a + b\n```") is None
    assert answer_problem(CODE, "code", "```python\ndef add(a, b) return\n```") is not None
    assert answer_problem("Write a poem.", "general", "Roses are red.") is None
    accept = acceptance(MC, "reasoning")
    assert accept(_response("B")) is None
    assert accept(_response("B", "length")) == "output cut off by the length limit"
    assert accept(_response("   ")) == "empty output"


STATED = CODE + "\n\nYour code should pass this test:\nassert add(2, 3) == 5\n"


def test_stated_tests_are_the_assert_lines_that_parse() -> None:
    assert stated_tests(STATED) == "assert add(2, 3) == 5\n"
    assert stated_tests(CODE) is None
    assert stated_tests("Please assert your opinion politely.") is None
    assert stated_tests("x\n  assert f(1) == [1,\nassert g() is None") == "assert g() is None\n"


async def test_stated_tests_pass_a_correct_solution_and_fail_a_wrong_one() -> None:
    right = "```python\ndef add(a, b):\n    return a + b\n```"
    wrong = "```python\ndef add(a, b):\n    return a - b\n```"
    assert await failing_stated_tests(STATED, right) is None
    assert await failing_stated_tests(STATED, wrong) == (
        "the code fails the tests stated in the prompt"
    )
    assert await failing_stated_tests(STATED, "no code here") is not None
    assert await failing_stated_tests(CODE, wrong) is None  # nothing stated, nothing to run


async def test_a_hanging_solution_is_killed_at_the_timeout() -> None:
    hang = "```python\ndef add(a, b):\n    while True:\n        pass\n```"
    started = time.monotonic()
    problem = await failing_stated_tests(STATED, hang, timeout_s=1.0)
    assert problem == "the stated tests did not finish within 1s"
    assert time.monotonic() - started < 10


async def test_escalation_runs_the_stated_tests_when_asked() -> None:
    catalog = _catalog()
    router = Router(catalog, Settings())
    _, climb = EscalationPolicy(router, strategy="cheapest").climb(Query("q", STATED, "code"))
    ladder = [m.id for m in climb]
    answers = dict.fromkeys(
        [m.id for m in catalog], "```python\ndef add(a, b):\n    return a + b\n```"
    )
    answers[ladder[0]] = "```python\ndef add(a, b):\n    return a * b\n```"  # parses, wrong
    ledger: list[Attempt] = []
    models, _ = _metered(catalog, answers, ledger)
    plain = await EscalationPolicy(router, strategy="cheapest").run(
        Query("q", STATED, "code"), models
    )
    assert plain.model == ladder[0]  # the shape checks alone accept wrong code
    tested = await EscalationPolicy(router, strategy="cheapest", verify_stated_tests=True).run(
        Query("q", STATED, "code"), models
    )
    assert (tested.model, tested.escalations) == (ladder[1], 1)
