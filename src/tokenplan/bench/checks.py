"""Acceptance checks of benchmark answers: the product's checks plus task-appropriate ones.

Everything here reads only the prompt and the response, as a user's own check could:

* :func:`~tokenplan.execution.acceptance.check_output` - the product's built-in checks (not
  empty, not cut off by the length limit, not blocked by a content filter);
* :func:`answer_problem` - the answer has the shape the prompt asks for: a multiple-choice
  prompt gets an option (a letter, or an option's text); a math prompt a number whose worked
  ``a op b = c`` steps add up; a code prompt Python that parses and defines a function (a
  fenced block when another language is asked for);
* :func:`stated_tests` / :func:`failing_stated_tests` - when the prompt itself states tests
  (``assert`` lines, as MBPP's original prompts do), the answer's code must pass them, run in
  the sandbox of the live suite (a subprocess with a timeout and resource limits).

:func:`acceptance` combines the synchronous checks into the ``accept`` callable of a
:class:`~tokenplan.ledger.context.CallContext`, so the metering layer records a rejected
answer's ledger line as ``invalid`` with the reason.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from tokenplan.bench.answers import answer_kind, extract_answer, extract_code
from tokenplan.execution.acceptance import check_output

if TYPE_CHECKING:
    from tokenplan.types import ChatResponse

__all__ = ["acceptance", "answer_problem", "failing_stated_tests", "stated_tests"]

# An ``assert`` statement on one line (MBPP states its tests this way).
_ASSERT_RE = re.compile(r"^[ \t]*(assert\b.+)$", re.MULTILINE)


def answer_problem(prompt: str, capability: str, text: str) -> str | None:
    """Why ``text`` is not an answer of the shape ``prompt`` asks for (``None``: it is)."""
    kind = answer_kind(prompt, capability)
    answer = extract_answer(kind, prompt, text)
    if kind == "choice":
        return None if answer.value is not None else "no option can be read from the answer"
    if kind == "number":
        if answer.value is None:
            return "no number can be read from the answer"
        return "the worked arithmetic does not add up" if answer.check is False else None
    if kind == "code":
        return None if answer.check else "no code that parses and defines a function"
    return None


def acceptance(prompt: str, capability: str) -> Callable[[ChatResponse], str | None]:
    """The product's output checks, then :func:`answer_problem`, for one prompt."""

    def accept(response: ChatResponse) -> str | None:
        return check_output(response) or answer_problem(prompt, capability, response.text)

    return accept


def stated_tests(prompt: str) -> str | None:
    """The ``assert`` lines ``prompt`` states, as a test program (``None`` when it states none).

    Only lines that parse as Python ``assert`` statements count, so prose mentioning "assert"
    does not.
    """
    lines = []
    for match in _ASSERT_RE.finditer(prompt):
        line = match.group(1).strip()
        try:
            tree = ast.parse(line)
        except SyntaxError:
            continue
        if len(tree.body) == 1 and isinstance(tree.body[0], ast.Assert):
            lines.append(line)
    return "\n".join(lines) + "\n" if lines else None


async def failing_stated_tests(prompt: str, text: str, *, timeout_s: float = 5.0) -> str | None:
    """Why the answer's code fails the tests the prompt states (``None``: it passes, or the
    prompt states no tests).

    The code runs in the live suite's sandbox (:func:`~tokenplan.bench.live.sandbox.run_tests`):
    a subprocess with an isolated interpreter, resource limits and a ``timeout_s`` after which
    it is killed.
    """
    # Imported here: the live package imports the policies, which import this module.
    from tokenplan.bench.live.sandbox import run_tests

    tests = stated_tests(prompt)
    if tests is None:
        return None
    code = extract_code(text)
    if code is None:
        return "no Python code to run the stated tests on"
    result = await run_tests(code, tests, timeout_s=timeout_s)
    if result.timed_out:
        return f"the stated tests did not finish within {timeout_s:g}s"
    return None if result.passed else "the code fails the tests stated in the prompt"
