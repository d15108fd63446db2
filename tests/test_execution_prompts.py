"""Step prompts: what a step sees, the acceptance check in words, fitting the context window."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tokenplan.execution.prompts import (
    SAFETY_TOKENS,
    SYSTEM_PROMPT,
    StepInput,
    acceptance_words,
    build_step_prompt,
)
from tokenplan.planning.schema import Step
from tokenplan.tokens import estimate_messages_tokens, estimate_tokens


def make_step(acceptance: str | None = None, **kw: object) -> Step:
    fields: dict[str, object] = {
        "id": "draft",
        "title": "Draft the report",
        "instructions": "Write the report from the outline.",
        "capability": "general",
        "depends_on": ("outline",),
        "est_input_tokens": 500,
        "est_output_tokens": 400,
        "acceptance": acceptance,
    }
    fields.update(kw)
    return Step.model_validate(fields)


def test_the_prompt_holds_goal_instructions_and_inputs() -> None:
    prompt = build_step_prompt(
        make_step("max_words:150"),
        "Write a report on tides",
        [StepInput("outline", "Outline", "1. Moon 2. Sun")],
        model_id="x/y",
        context_window=100_000,
        max_tokens=800,
    )
    system, user = prompt.messages
    assert system.role == "system"
    assert system.content.startswith(SYSTEM_PROMPT)
    assert "Use at most 150 words." in system.content
    assert user.content.index("Write a report on tides") < user.content.index("1. Moon")
    assert user.content.index("1. Moon") < user.content.index("Write the report from")
    assert '<input step="outline" title="Outline">' in user.content
    assert user.content.rstrip().endswith("Requirement: Use at most 150 words.")
    assert "<goal>" not in user.content  # that tag is the planner's
    assert prompt.max_tokens == 800
    assert prompt.trims == ()
    assert prompt.input_tokens == estimate_messages_tokens(m.content for m in prompt.messages)


def test_acceptance_in_words() -> None:
    assert acceptance_words(None) is None
    assert acceptance_words("json") is not None
    assert "valid JSON only" in (acceptance_words("json") or "")
    assert "```python" in (acceptance_words("python") or "")
    assert "fenced code block" in (acceptance_words("code") or "")
    assert acceptance_words("contains:Total") == 'The answer must contain "Total".'
    assert acceptance_words("regex:^#+ ") == "The answer must match the regular expression /^#+/."
    assert acceptance_words("min_words:40") == "Use at least 40 words."
    assert acceptance_words("cite two sources") == "What a good answer looks like: cite two sources"


def test_the_longest_inputs_are_trimmed_first_and_marked() -> None:
    short = StepInput("a", "A", "short input " * 50)  # ~150 tokens
    long1 = StepInput("b", "B", "the long middle " * 3000)
    long2 = StepInput("c", "C", "another long one " * 2000)
    step = make_step(depends_on=("a", "b", "c"))
    prompt = build_step_prompt(
        step, "goal", [short, long1, long2], model_id="m/x", context_window=8000, max_tokens=1000
    )
    body = prompt.messages[-1].content
    assert short.text in body  # short inputs are kept whole
    assert [t.step_id for t in prompt.trims] == ["b", "c"]
    assert body.count("tokenplan trimmed this input to fit m/x's 8,000-token context") == 2
    assert prompt.input_tokens + prompt.max_tokens <= 8000
    # Trimmed inputs keep their beginning and their end.
    assert "the long middle the long middle" in body
    kept = {t.step_id: t.kept_tokens for t in prompt.trims}
    assert abs(kept["b"] - kept["c"]) <= 0.1 * kept["b"]  # cut to a common length
    assert all(t.kept_tokens < t.tokens for t in prompt.trims)
    assert "trimmed to ~" in prompt.trims[0].note()


def test_a_crowded_window_drops_inputs_then_lowers_max_tokens() -> None:
    step = make_step(instructions="Do it. " * 1200)  # ~3k tokens of instructions
    dep = StepInput("outline", "Outline", "point " * 500)
    prompt = build_step_prompt(
        step, "goal", [dep], model_id="m/x", context_window=4000, max_tokens=3000
    )
    assert 100 < prompt.max_tokens < 3000
    assert prompt.input_tokens + prompt.max_tokens <= 4000
    assert [t.kept_tokens for t in prompt.trims] == [0]
    assert "was left out to fit m/x" in prompt.messages[-1].content


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 6000), max_size=5),
    window=st.integers(2000, 40_000),
    max_tokens=st.integers(1, 4000),
)
def test_prompts_fit_the_window_and_trim_only_what_they_must(
    sizes: list[int], window: int, max_tokens: int
) -> None:
    inputs = [StepInput(f"d{i}", f"Dep {i}", "word " * n) for i, n in enumerate(sizes)]
    step = make_step(depends_on=tuple(i.step_id for i in inputs))
    prompt = build_step_prompt(
        step, "the goal", inputs, model_id="m/x", context_window=window, max_tokens=max_tokens
    )
    assert 1 <= prompt.max_tokens <= max_tokens
    assert prompt.input_tokens + prompt.max_tokens + SAFETY_TOKENS <= window
    body = prompt.messages[-1].content
    trimmed = {t.step_id for t in prompt.trims}
    full = {i.step_id: estimate_tokens(i.text) for i in inputs}
    for item in inputs:
        if item.step_id not in trimmed:
            assert item.text in body
    if trimmed:  # only the longest inputs are cut
        assert min(full[s] for s in trimmed) >= max(
            (full[s] for s in full if s not in trimmed), default=0
        )
    elif prompt.input_tokens + max_tokens + SAFETY_TOKENS <= window:
        assert prompt.max_tokens == max_tokens  # nothing given up when everything fits
