"""The prompt classifier on labelled examples (written for these tests, not taken from datasets)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenplan.catalog import CAPABILITIES
from tokenplan.routing.classifier import COMPLEXITIES, HEAD_CHARS, TAIL_CHARS, classify

CAPABILITY_EXAMPLES: list[tuple[str, str]] = [
    ("math", "What is 2+2?"),
    ("math", "Compute 15% of 240."),
    ("code", "Fix this bug: TypeError: 'NoneType' object has no attribute 'split'"),
    ("code", "Write a Python function that returns the n-th Fibonacci number using memoization."),
    ("code", "Why does this raise KeyError?\n```python\nd = {}\nprint(d['x'])\n```"),
    ("code", "How do I reverse a linked list in C++?"),
    ("code", "Write a SQL query that returns the top 5 customers by total order value in 2023."),
    (
        "code",
        "Refactor this function to be async and add type hints:\n\n"
        "def fetch(url):\n    r = requests.get(url)\n    return r.json()\n",
    ),
    ("code", "Create a bash script that backs up /etc to a dated tarball every night."),
    (
        "code",
        "Fix the bug in this JavaScript: `const total = items.reduce((a, b) => a + b.price);`",
    ),
    (
        "code",
        "What does the Rust borrow checker say about holding a mutable reference across await?",
    ),
    ("math", "What is the derivative of x^3 * sin(x)?"),
    ("math", "Solve for x: 3x^2 - 12x + 9 = 0."),
    (
        "math",
        "A shop sells pens at $3 each and notebooks at $5 each. Maria spent $41 on 11 items. "
        "How many notebooks did she buy?",
    ),
    (
        "math",
        "A train travels 120 miles in 2 hours and then 180 miles in 3 hours. What is its average "
        "speed in miles per hour for the whole trip?",
    ),
    ("math", "Compute the eigenvalues of the matrix [[2, 1], [1, 2]]."),
    ("math", "What is the probability of rolling two sixes with two fair dice?"),
    ("math", "Evaluate the integral of 1/(1+x^2) from 0 to 1."),
    ("math", "Prove that the square root of 2 is irrational."),
    (
        "reasoning",
        "If all bloops are razzies and all razzies are lazzies, are all bloops definitely "
        "lazzies? Explain your reasoning.",
    ),
    (
        "reasoning",
        "All cats are mammals. Some mammals are black. Does it follow that some cats are black? "
        "Explain the logic.",
    ),
    (
        "reasoning",
        "Identify the logical fallacy in this argument: everyone I know likes the film, so it "
        "must be the best film of the year.",
    ),
    ("reasoning", "The trophy doesn't fit in the suitcase because the _ is too big. Which is it?"),
    ("reasoning", "Given P ∨ Q and ¬P, what can you deduce about Q?"),
    ("general", "Hi there!"),
    ("general", "What is the capital of France?"),
    ("general", "Write a haiku about autumn rain."),
    ("general", "Give me three ideas for a 10-year-old's birthday party."),
    ("general", "What are the health benefits of green tea?"),
    ("general", "Draft a polite reply declining a meeting invitation for Thursday."),
    ("general", "Recommend a few classic science fiction novels for a beginner."),
    ("general", "Rewrite this sentence to sound more formal: we gotta ship this by friday."),
    ("general", "Tell me about the history of the Roman Colosseum."),
    ("general", "Summarize the main causes of the French Revolution in five bullet points."),
    ("general", "Bonjour, comment ça va aujourd'hui ?"),
]

COMPLEXITY_EXAMPLES: list[tuple[str, str]] = [
    ("moderate", "Is it better to rent or buy a house right now? Weigh the trade-offs."),
    ("simple", "Hi there!"),
    ("simple", "What is the capital of France?"),
    ("simple", "Translate 'good morning' into Spanish."),
    ("simple", "Who wrote Pride and Prejudice?"),
    ("simple", "What is 17 * 23?"),
    ("moderate", "Summarize the main causes of the French Revolution in five bullet points."),
    (
        "moderate",
        "Write a Python function that returns the n-th Fibonacci number using memoization.",
    ),
    (
        "moderate",
        "A train travels 120 miles in 2 hours and then 180 miles in 3 hours. What is its average "
        "speed in miles per hour for the whole trip?",
    ),
    (
        "complex",
        "Design and implement a thread-safe LRU cache in Rust with O(1) get and put, supporting "
        "per-entry TTL expiry and an eviction callback. Explain the concurrency trade-offs and "
        "write unit tests covering edge cases.",
    ),
    (
        "complex",
        "Implement a function to find the median of two sorted arrays of different sizes with "
        "O(1) space complexity and O(n) time complexity.",
    ),
    (
        "complex",
        "Write a comprehensive, well-structured 2,000-word analysis comparing the economic "
        "policies of the New Deal and the Great Society: their goals, mechanisms, measurable "
        "outcomes and long-term consequences, with a critique of each and a thorough discussion "
        "of the trade-offs.",
    ),
]


@pytest.mark.parametrize(("capability", "text"), CAPABILITY_EXAMPLES)
def test_capability_of_labelled_examples(capability: str, text: str) -> None:
    result = classify(text)
    assert result.capability == capability, result.signals


@pytest.mark.parametrize(("complexity", "text"), COMPLEXITY_EXAMPLES)
def test_complexity_of_labelled_examples(complexity: str, text: str) -> None:
    result = classify(text)
    assert result.complexity == complexity, (result.complexity_score, result.signals)


def test_signals_explain_the_decision() -> None:
    result = classify("Why does this raise KeyError?\n```python\nd = {}\nprint(d['x'])\n```")
    assert any(s.startswith("code: syntax") and "fenced block" in s for s in result.signals)
    assert any(s.startswith("code: words") and "python" in s for s in result.signals)


def test_scores_rank_the_primary_capability_first() -> None:
    result = classify("Compute the eigenvalues of the matrix [[2, 1], [1, 2]].")
    scores = result.scores
    assert set(scores) == set(CAPABILITIES)
    assert max(scores, key=scores.__getitem__) == "math"
    assert all(0.0 <= v <= 1.0 for v in scores.values())


def test_to_dict_shape() -> None:
    d = classify("Write a haiku about autumn rain.").to_dict()
    assert set(d) == {"capability", "complexity", "scores", "complexity_score", "signals"}
    assert d["capability"] == "general"
    assert isinstance(d["signals"], list)


def test_empty_prompt_is_simple_general() -> None:
    result = classify("")
    assert (result.capability, result.complexity) == ("general", "simple")


def test_long_prompts_read_only_a_bounded_window() -> None:
    head = "Write a Python function that parses this log file and returns the error count.\n"
    tail = "\nRemember: return an int, and handle an empty file."
    filler = "2024-01-01 INFO request served in 12 ms\n" * 30_000  # ~1.2 MB
    short = classify(head + tail)
    huge = classify(head + filler + tail)
    assert huge.capability == short.capability == "code"
    # Only the prompt's size is read outside the window: a huge prompt is flagged as long.
    assert any("long prompt" in s for s in huge.signals)
    # Whatever sits in the middle is never read.
    same_size = "x" * len(filler)
    assert classify(head + same_size + tail).capability == huge.capability


def test_window_sizes_are_sane() -> None:
    assert HEAD_CHARS >= 512
    assert TAIL_CHARS >= 256


@given(st.text(max_size=3000))
def test_never_raises_and_returns_valid_values(text: str) -> None:
    result = classify(text)
    assert result.capability in CAPABILITIES
    assert result.complexity in COMPLEXITIES
    assert all(0.0 <= v <= 1.0 for v in result.scores.values())
    assert isinstance(result.signals, tuple)
