"""Policies see prompts and responses only; cascades, the oracle and the random mix."""

from __future__ import annotations

import pytest

from _bench_data import synthetic_outcomes
from tokenplan.bench.answers import Answer
from tokenplan.bench.catalog import build_catalog
from tokenplan.bench.harness import LabelGrader, run_policy
from tokenplan.bench.metering import MeteredModels
from tokenplan.bench.policies import (
    AgreementCascade,
    CascadePlan,
    OraclePolicy,
    Query,
    RandomMixPolicy,
    SingleModelPolicy,
    UnanimousCascade,
)
from tokenplan.bench.policies.cascade import coarse_key, encode_state, group_key, representative
from tokenplan.bench.replay import ReplayModel
from tokenplan.testing import FunctionModel
from tokenplan.types import ChatRequest, ChatResponse

MC = "Pick one.\nA) red\nB) blue\nC) green\nAnswer:"


def _q(text: str = MC, capability: str = "reasoning", qid: str = "q1") -> Query:
    return Query(qid, text, capability)


def _answers(mapping: dict[str, str]) -> FunctionModel:
    return FunctionModel(lambda req: mapping[req.model])


async def test_single_model_sends_the_prompt_verbatim_and_alone() -> None:
    model = _answers({"x/a": "B"})
    choice = await SingleModelPolicy("x/a").run(_q(), model)
    assert (choice.model, choice.text, choice.escalations) == ("x/a", "B", 0)
    (request,) = model.requests
    assert request.prompt_text == MC
    assert len(request.messages) == 1


def test_encode_state() -> None:
    assert encode_state([]) == ""
    assert encode_state([Answer("B"), Answer("B"), Answer("A")]) == "a.a.b"
    assert encode_state([Answer("C"), Answer(None), Answer("C")]) == "a.x.a"
    assert encode_state([Answer("7", True), Answer("8", False)]) == "a+.b-"
    assert encode_state([Answer(None, True)]) == "x+"


def test_representative_prefers_the_largest_group_then_rank() -> None:
    answers = [Answer("A"), Answer("B"), Answer("B")]
    assert representative(answers, [0.9, 0.5, 0.7]) == 2
    tie = [Answer("A"), Answer("B")]
    assert representative(tie, [0.4, 0.8]) == 1
    code = [Answer(None, False), Answer(None, True), Answer(None, True)]
    assert representative(code, [0.9, 0.6, 0.7]) == 2
    nothing = [Answer(None), Answer(None)]
    assert representative(nothing, [0.2, 0.3]) == 1


def test_group_keys() -> None:
    assert group_key(_q()) == "reasoning/choice/3"
    assert group_key(_q("Write a function to add.", "code")) == "code/code/0"
    assert coarse_key("reasoning/choice/3") == "reasoning/choice/*"


async def test_unanimous_cascade_accepts_agreement_and_escalates_otherwise() -> None:
    policy = UnanimousCascade("u", panel=["x/a", "x/b"], strong="x/s", ranks=[0.5, 0.6])
    agree = _answers({"x/a": "B", "x/b": "B) blue", "x/s": "C"})
    choice = await policy.run(_q(), agree)
    assert (choice.model, choice.text, choice.escalations) == ("x/b", "B) blue", 0)
    assert [r.model for r in agree.requests] == ["x/a", "x/b"]
    differ = _answers({"x/a": "B", "x/b": "A", "x/s": "C"})
    choice = await policy.run(_q(), differ)
    assert (choice.model, choice.escalations) == ("x/s", 1)
    # A first answer with nothing readable escalates at once.
    unreadable = _answers({"x/a": "I am not sure.", "x/b": "A", "x/s": "C"})
    await policy.run(_q(), unreadable)
    assert [r.model for r in unreadable.requests] == ["x/a", "x/s"]
    # Code cannot be compared: the first answer is accepted when it parses.
    code = _answers({"x/a": "```python\ndef f():\n    return 1\n```", "x/b": "", "x/s": ""})
    choice = await policy.run(_q("Write a function f.", "code"), code)
    assert choice.model == "x/a"


async def test_agreement_cascade_follows_its_table() -> None:
    plan = CascadePlan(
        panel=("x/a", "x/b"),
        ranks=(0.5, 0.6),
        actions={"": "ask", "a": "ask", "a.a": "accept", "a.b": "escalate", "x": "escalate"},
    )
    policy = AgreementCascade("c", strong="x/s", plans={"reasoning/choice/*": plan})
    model = _answers({"x/a": "B", "x/b": "B", "x/s": "C"})
    assert (await policy.run(_q(), model)).model == "x/b"
    model = _answers({"x/a": "B", "x/b": "A", "x/s": "C"})
    choice = await policy.run(_q(), model)
    assert (choice.model, choice.escalations) == ("x/s", 1)
    # No plan for code prompts: straight to the strong model.
    model = _answers({"x/s": "```python\ndef f(): pass\n```"})
    assert (await policy.run(_q("Write f.", "code"), model)).model == "x/s"
    assert [r.model for r in model.requests] == ["x/s"]


def test_plan_actions_are_safe_at_the_edges() -> None:
    plan = CascadePlan(panel=("x/a",), ranks=(0.5,), actions={"": "accept", "a": "ask"})
    assert plan.action("", 0) == "ask"  # nothing to accept yet
    assert plan.action("a", 1) == "escalate"  # the panel is exhausted
    assert plan.action("zzz", 1) == "escalate"  # unseen state


async def test_random_mix_share_is_seeded_and_close_to_asked() -> None:
    mix = RandomMixPolicy(weak="x/w", strong="x/s", strong_share=0.3, seed=5)
    model = FunctionModel(lambda req: "ok")
    picks = [(await mix.run(_q(qid=f"q{i}"), model)).model for i in range(400)]
    share = picks.count("x/s") / len(picks)
    assert 0.24 < share < 0.36
    again = [(await mix.run(_q(qid=f"q{i}"), model)).model for i in range(400)]
    assert picks == again
    assert RandomMixPolicy(weak="w", strong="s", strong_share=1.0).name == "random-mix@100%"
    with pytest.raises(ValueError):
        RandomMixPolicy(weak="w", strong="s", strong_share=1.5)


async def test_oracle_picks_the_cheapest_correct_model() -> None:
    ds = synthetic_outcomes(30)
    oracle = OraclePolicy(ds)
    for s in ds.samples:
        a, b = ds.outcome(s.id, "cheap-a").score, ds.outcome(s.id, "cheap-b").score
        expected = "cheap-a" if a else ("cheap-b" if b else "big")
        assert oracle.pick(s.id) == expected
    run = await run_policy(
        oracle,
        [Query(s.id, s.text, s.capability) for s in ds.samples],
        models=MeteredModels.wrapping(ReplayModel(ds), build_catalog(ds), provider="replay"),
        grader=LabelGrader(ds),
    )
    assert run.accuracy == 1.0
    assert run.calls_per_query == 1.0


async def test_policies_never_see_grades() -> None:
    """Whatever a policy sends is a prompt from the query; what it gets back is a response."""
    ds = synthetic_outcomes(20)
    seen: list[ChatRequest] = []
    replay = ReplayModel(ds)

    async def spy(request: ChatRequest) -> ChatResponse:
        seen.append(request)
        return await replay.complete(request)

    policy = UnanimousCascade("u", panel=["t/cheap-a", "t/cheap-b"], strong="t/big")
    queries = [Query(s.id, s.text, s.capability) for s in ds.samples]
    models = MeteredModels.wrapping(FunctionModel(spy), build_catalog(ds), provider="replay")
    run = await run_policy(policy, queries, models=models, grader=LabelGrader(ds))
    texts = {q.text for q in queries}
    assert all(r.prompt_text in texts for r in seen)
    # With this data agreement means correct and the strong model is always right.
    assert run.accuracy == 1.0
