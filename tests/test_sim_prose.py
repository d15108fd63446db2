"""Simulated prose is proportionate and varied: size follows the prompt, sentences do not repeat."""

from __future__ import annotations

import re

import pytest

from sim_helpers import make_catalog
from tokenplan.ledger.context import call_context
from tokenplan.providers.sim import SimulatorModel, marker
from tokenplan.providers.sim.latency import PROFILES
from tokenplan.providers.sim.prompt import length_hint
from tokenplan.providers.sim.prose import answer_size, topic_of
from tokenplan.providers.sim.rng import Rng
from tokenplan.types import ChatRequest, ChatResponse

CATALOG = make_catalog()
TOPICS = ("tide pools", "compilers", "bread baking", "tax law", "glaciers", "jazz harmony")


def sim(**kwargs: object) -> SimulatorModel:
    options: dict[str, object] = {"failure_rates": 0.0, "error_rates": 0.0, "latency_scale": 0.0}
    options.update(kwargs)
    return SimulatorModel(CATALOG, **options)  # type: ignore[arg-type]


async def answer(prompt: str, model: str = "acme/medium", **kwargs: object) -> ChatResponse:
    simulator = kwargs.pop("simulator", None) or sim()
    assert isinstance(simulator, SimulatorModel)
    return await simulator.complete(ChatRequest.from_prompt(prompt, model=model, **kwargs))  # type: ignore[arg-type]


def body(response: ChatResponse) -> str:
    head, _, rest = response.text.partition("\n")
    assert head == marker(response.model)
    return rest.strip()


def words(text: str) -> int:
    return len(text.split())


def sentences(text: str) -> list[str]:
    plain = re.sub(r"^\s*(?:- |#+ )", "", text, flags=re.MULTILINE)
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", plain) if len(s.split()) > 3]


@pytest.mark.parametrize(
    "prompt",
    [
        "What is the boiling point of water?",
        "Who wrote Dubliners?",
        "Define entropy.",
        "hi",
    ],
)
async def test_a_one_line_question_gets_a_few_sentences(prompt: str) -> None:
    response = await answer(prompt)
    assert response.finish_reason == "stop"
    assert 1 <= len(sentences(body(response)) or [body(response)]) <= 4, response.text
    assert words(body(response)) <= 60
    assert "- " not in body(response)  # no bullet list for a one-liner


async def test_arithmetic_gets_the_result_and_a_line_not_filler() -> None:
    with call_context(capability="math"):
        response = await answer("What is 17*23?")
    text = body(response)
    assert text.startswith("Working: 17*23 = 391\n\nAnswer: 391")
    assert words(text) <= 25
    assert response.finish_reason == "stop"


async def test_bigger_asks_get_longer_answers() -> None:
    short = await answer("Explain recursion.")
    long = await answer(
        "Compare PostgreSQL and SQLite for a small analytics app: cost, concurrency, backups "
        "and operations. Explain the trade-offs, recommend one and describe the migration plan."
    )
    assert words(body(short)) < words(body(long))
    assert 40 <= words(body(short)) <= 140
    assert words(body(long)) >= 150
    assert "\n### " in long.text  # sections
    assert "PostgreSQL" in long.text  # the prompt's own spelling


@pytest.mark.parametrize(
    ("prompt", "low", "high"),
    [
        ("Write a 500-word essay on the history of the bicycle.", 400, 500),
        ("Summarize the benefits of unit testing in at most 40 words.", 1, 40),
        ("Describe glaciers in at least 300 words.", 300, 450),
        ("Write a detailed report on coral reefs.", 300, 550),
        ("Briefly, what is a glacier?", 1, 70),
    ],
)
async def test_explicit_lengths_are_honoured_counting_the_marker_line(
    prompt: str, low: int, high: int
) -> None:
    for model in ("acme/small", "acme/medium", "acme/large"):
        response = await answer(prompt, model=model)
        assert low <= words(response.text) <= high, (model, words(response.text))
        assert response.finish_reason == "stop"


async def test_sentences_do_not_repeat_within_an_answer() -> None:
    for i, topic in enumerate(TOPICS):
        for prompt in (
            f"Explain {topic} to a new colleague.",
            f"Write a detailed report on {topic} ({i}).",
            f"Write a 900-word essay about {topic}.",
        ):
            said = sentences(body(await answer(prompt)))
            assert len(said) == len(set(said)), prompt
            assert not any(line.startswith("- ") for line in said)


async def test_runaway_prose_keeps_going_without_repeating_itself() -> None:
    simulator = sim(failure_rates=1.0)
    runaways = 0
    for i, topic in enumerate(TOPICS * 3):
        with call_context(capability="general"):
            response = await answer(f"Explain {topic} ({i}).", simulator=simulator, max_tokens=1024)
        if response.finish_reason != "length":
            continue
        runaways += 1
        paragraphs = [p for p in body(response).split("\n\n") if p.strip()]
        complete = paragraphs[:-1]  # the last one is cut off by the limit
        assert len(complete) >= 5
        assert len(complete) == len(set(complete))
        assert response.usage.output_tokens == 1024
    assert runaways >= 3


async def test_a_short_answer_takes_about_a_second_at_the_default_latency() -> None:
    """Planned latency = time to first token + visible tokens at the tier's speed; a short
    answer on a budget or mid model lands around a second (flagships think longer)."""
    for model, limit_s in (("acme/small", 1.5), ("acme/medium", 2.0)):
        response = await answer("What is the boiling point of water?", model=model)
        profile = PROFILES[CATALOG.get(model).tier]
        visible = response.usage.output_tokens - response.usage.reasoning_tokens
        planned = profile.first_token_s * 1.2 + visible * 1.2 / profile.tokens_per_s
        assert planned < limit_s, (model, visible)


def test_the_size_follows_the_weight_of_the_prompt() -> None:
    rng = Rng(1)
    one_liner = answer_size("What is a glacier?", None, rng, used_words=12)
    multi = answer_size(
        "Analyze our churn data. Compare the three cohorts, explain the drivers, evaluate the "
        "pricing change and recommend next steps with a rollout plan for each region.",
        None,
        rng,
        used_words=12,
    )
    assert one_liner[1] <= 80
    assert multi[0] >= 110
    hinted = answer_size("x", length_hint("in at most 30 words"), rng, used_words=12)
    assert hinted[1] == 18  # the marker's words count against the limit


@pytest.mark.parametrize(
    ("prompt", "phrase"),
    [
        ("What are the benefits of unit testing?", "the benefits of unit testing"),
        ("Explain recursion.", "recursion"),
        ("Write a 500-word essay on the history of the bicycle.", "the history of the bicycle"),
        ("Compare PostgreSQL and SQLite: cost and speed.", "PostgreSQL and SQLite"),
        ("Describe photosynthesis briefly.", "photosynthesis"),
        ("Summarize tax law in at most 40 words.", "tax law"),
    ],
)
def test_topic_phrase(prompt: str, phrase: str) -> None:
    assert topic_of(prompt).phrase == phrase
