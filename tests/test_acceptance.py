from __future__ import annotations

import pytest

from tokenplan.execution.acceptance import check_output, check_text, code_blocks
from tokenplan.types import ChatResponse


def resp(text: str, finish: str = "stop") -> ChatResponse:
    return ChatResponse(model="x/y", provider="x", text=text, finish_reason=finish)  # type: ignore[arg-type]


GOOD_PY = "Here:\n```python\ndef f(x):\n    return x + 1\n```\n"
BAD_PY = "```python\ndef f(x)\n    return x\n```"


@pytest.mark.parametrize(
    ("text", "spec", "verdict"),
    [
        ("hello", None, None),
        ("   \n", None, "empty output"),
        ("free text spec only applies built-ins", "be concise and friendly", None),
        ('{"a": 1}', "json", None),
        ('```json\n{"a": [1, 2]}\n```', "json", None),
        ("{'a': 1}", "json", "not valid JSON"),
        (GOOD_PY, "python", None),
        (BAD_PY, "python", "python does not parse: line 1"),
        (GOOD_PY + BAD_PY, "python", "python does not parse"),
        ("def f(): pass", "python", "no ```python code block"),
        ("```js\nlet a = 1\n```", "code", None),
        ("no code here", "code", "no fenced code block"),
        ("The Answer is 42.", "contains:answer is 42", None),
        ("nothing", "contains:42", "does not contain '42'"),
        ("order #123 shipped", r"regex:#\d+", None),
        ("order shipped", r"regex:#\d+", "does not match"),
        ("one two three", "max_words:3", None),
        ("one two three four", "max_words:3", "4 words, more than the 3 allowed"),
        ("one two", "min_words:3", "2 words, fewer than the 3 required"),
    ],
)
def test_checks(text: str, spec: str | None, verdict: str | None) -> None:
    got = check_text(text, spec)
    if verdict is None:
        assert got is None
    else:
        assert got is not None
        assert verdict in got


def test_truncated_and_filtered_outputs_are_rejected_whatever_the_spec() -> None:
    assert check_output(resp('{"a": 1}', "length"), "json") == "output cut off by the length limit"
    assert "content filter" in (check_output(resp("x", "content_filter")) or "")
    assert check_output(resp('{"a": 1}'), "json") is None


def test_code_blocks_finds_language_tags() -> None:
    text = "```Python\nx = 1\n```\ntext\n```\nplain\n```\n"
    assert code_blocks(text) == [("python", "x = 1\n"), ("", "plain\n")]
