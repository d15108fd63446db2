"""Answer extraction: multiple choice, numbers, arithmetic checks, code."""

from __future__ import annotations

import pytest

from tokenplan.bench.answers import (
    Answer,
    answer_kind,
    arithmetic_consistent,
    choice_options,
    code_defines_function,
    extract_answer,
    extract_choice,
    extract_code,
    extract_number,
    normalize_text,
)

ARC = (
    "Which is hottest?\nA) ice\nB) water\nC) steam\nD) snow\nAnswer:\nC\n\n"
    "Which planet is largest?\nA) Mars\nB) Jupiter\nC) Venus\nD) Earth\n"
    'Print only a single choice from "A" or "B" or "C" or "D" without explanation.\nAnswer:'
)
WINO = "Kyle is cold, Logan is not. _ wears a coat.\nA) Kyle\nB) Logan\nAnswer:"
MMLU = "What is 2+2?\nA. 3\nB. 4\nC. 5\nD. 22\nAnswer:"


def test_choice_options_reads_the_last_question() -> None:
    assert choice_options(ARC) == {"A": "Mars", "B": "Jupiter", "C": "Venus", "D": "Earth"}
    assert choice_options(WINO) == {"A": "Kyle", "B": "Logan"}
    assert choice_options(MMLU)["B"] == "4"
    assert choice_options("No options here.\nA) lonely") == {}
    assert choice_options("Write a function to add two numbers.") == {}


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("B", "B"),
        ("B\n", "B"),
        ("(B)", "B"),
        ("B) Jupiter", "B"),
        ("B. Jupiter is the largest", "B"),
        ("The answer is B.", "B"),
        ("Answer: (D)", "D"),
        ("Jupiter", "B"),
        ("jupiter.", "B"),
        ("Jupi", "B"),  # truncated option text
        ("E", None),  # not an option
        ("I do not have enough context to answer.", None),
        ("", None),
        ("Okay,", None),
    ],
)
def test_extract_choice(response: str, expected: str | None) -> None:
    assert extract_choice(response, choice_options(ARC)) == expected


def test_extract_choice_matches_names_in_winogrande() -> None:
    options = choice_options(WINO)
    assert extract_choice("Logan", options) == "B"
    assert extract_choice("Kyle\n", options) == "A"
    assert extract_choice("A)", options) == "A"


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("She makes 9 * 2 = 18 dollars.\n#### 18", "18"),
        ("The answer is $1,200.50 in total. Then 3 more.", "1200.5"),
        ("So 16 - 3 - 4 = 9 eggs, 9 * 2 = 18.", "18"),
        ("Answer: 4.0", "4"),
        ("Answer: -7", "-7"),
        ("no numbers here", None),
    ],
)
def test_extract_number(response: str, expected: str | None) -> None:
    assert extract_number(response) == expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("16 - 3 = 13, 13 - 4 = 9, 9 * 2 = 18", True),
        ("$2 x 9 = $18", True),
        ("10 / 3 = 3.33", True),  # rounded working is fine
        ("2 + 3 * 4 = 14", True),  # precedence
        ("16 - 3 = 12", False),
        ("1,000 + 250 = 1,250 and 5 * 5 = 24", False),
        ("Janet has 16 eggs.", None),
    ],
)
def test_arithmetic_consistent(response: str, expected: bool | None) -> None:
    assert arithmetic_consistent(response) is expected


def test_extract_code_prefers_python_and_refuses_other_languages() -> None:
    py = "Here:\n```python\ndef f(x):\n    return x\n```\nDone."
    assert extract_code(py) == "def f(x):\n    return x\n"
    js = "```javascript\nfunction f(x) { return x }\n```"
    assert extract_code(js) is None
    both = "```js\nlet a = 1\n```\n```py\ndef g():\n    pass\n```"
    assert extract_code(both) == "def g():\n    pass\n"
    tagged = "[PYTHON]\ndef h():\n    return 1\n[/PYTHON]\n[TESTS]..."
    assert extract_code(tagged) == "\ndef h():\n    return 1\n"
    bare = "def k(a, b):\n    return a + b"
    assert extract_code(bare) == bare
    assert extract_code("Sorry, I cannot help.") is None
    assert extract_code("```\r\ndef w():\r\n    pass\r\n```") == "def w():\n    pass\n"


def test_code_defines_function() -> None:
    assert code_defines_function("def f():\n    return 1")
    assert not code_defines_function("x = 1")
    assert not code_defines_function("def f(:\n")
    assert not code_defines_function(None)


def test_answer_kind_and_extract_answer() -> None:
    assert answer_kind(ARC, "reasoning") == "choice"
    assert answer_kind("Write a function to sort.", "code") == "code"
    assert answer_kind("How many eggs?", "math") == "number"
    assert answer_kind("Write a poem.", "general") == "text"
    assert extract_answer("choice", ARC, "B") == Answer("B")
    assert extract_answer("number", "q", "3 + 4 = 7 so #### 7") == Answer("7", True)
    assert extract_answer("code", "Write a function", "```python\ndef f(): pass\n```") == Answer(
        None, True
    )
    # Another language was asked for: any code block passes the check.
    cpp = "Write a C++ program to add numbers."
    assert extract_answer("code", cpp, "```cpp\nint main() {}\n```").check is True
    assert extract_answer("code", cpp, "no code").check is False
    # Short text answers are comparable, prose is not.
    assert extract_answer("text", "Capital of France?", "Paris.") == Answer("paris", True)
    assert extract_answer("text", "Essay", "word " * 40).value is None
    assert extract_answer("text", "Essay", "   ") == Answer(None, False)


def test_normalize_text() -> None:
    assert normalize_text("  The Eiffel-Tower! ") == "eiffel tower"
    assert normalize_text("Ångström") == "angstrom"
