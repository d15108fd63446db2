"""The live suite: graders (right, wrong, runaway code), references, and a simulated run."""

from __future__ import annotations

import os
import time

import pytest

from tokenplan.bench.live import TASKS, Task, grade_response, run_live_suite, run_python
from tokenplan.bench.report import markdown_table
from tokenplan.catalog import Catalog
from tokenplan.errors import UsageError
from tokenplan.testing import FunctionModel
from tokenplan.testing.catalogs import model_row
from tokenplan.types import ChatRequest

CODE = Task(
    "add",
    "code",
    "Write a Python function `add(a, b)`.",
    reference="```python\ndef add(a, b):\n    return a + b\n```",
    tests="assert add(2, 3) == 5\nassert add(-1, 1) == 0\n",
)
MATH = Task("m", "math", "What is 6 * 7?", reference="Answer: 42", answer="42")
FACT = Task(
    "f", "fact", "Capital of France?", reference="Paris", answer="Paris", aliases=("Paris, France",)
)


async def test_code_grader_runs_hidden_tests() -> None:
    assert await grade_response(CODE, CODE.reference) == 1.0
    wrong = "```python\ndef add(a, b):\n    return a - b\n```"
    assert await grade_response(CODE, wrong) == 0.0
    assert await grade_response(CODE, "I would add them.") == 0.0
    # Exiting early with status 0 is not passing: the tests must run to the end.
    exits = "```python\nimport sys\ndef add(a, b):\n    sys.exit(0)\n```"
    assert await grade_response(CODE, exits) == 0.0
    on_load = "```python\nimport sys\nsys.exit(0)\n```"
    assert await grade_response(CODE, on_load) == 0.0
    # A __main__ block (unittest.main() exits) does not run when the solution is loaded.
    with_main = (
        "```python\ndef add(a, b):\n    return a + b\n\n"
        "if __name__ == '__main__':\n    import sys\n    sys.exit(0)\n```"
    )
    assert await grade_response(CODE, with_main) == 1.0
    other_language = "```javascript\nfunction add(a, b) { return a + b }\n```"
    assert await grade_response(CODE, other_language) == 0.0


async def test_runaway_code_is_killed_at_the_timeout() -> None:
    started = time.monotonic()
    result = await run_python("while True:\n    pass\n", timeout_s=1.0)
    elapsed = time.monotonic() - started
    assert result.timed_out
    assert not result.passed
    assert elapsed < 8.0
    spinning = "```python\ndef add(a, b):\n    while True:\n        pass\n```"
    assert await grade_response(CODE, spinning, timeout_s=1.0) == 0.0


async def test_sandbox_is_isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak-1234567890")
    program = (
        "import os, sys\n"
        "assert 'OPENAI_API_KEY' not in os.environ\n"
        f"assert os.getcwd() != {os.getcwd()!r}\n"
        "assert sys.flags.isolated == 1\n"
    )
    result = await run_python(program, timeout_s=10.0)
    assert result.passed, result.output


async def test_memory_blowup_fails_cleanly() -> None:
    result = await run_python("x = bytearray(4 * 1024 ** 3)\n", timeout_s=10.0, memory_mb=256)
    assert not result.passed
    assert not result.timed_out


@pytest.mark.parametrize(
    ("response", "score"),
    [
        ("6 * 7 = 42\nAnswer: 42", 1.0),
        ("Answer: 42.0", 1.0),
        ("6 * 7 = 43\nAnswer: 43", 0.0),
        ("I don't know", 0.0),
    ],
)
async def test_math_grader(response: str, score: float) -> None:
    assert await grade_response(MATH, response) == score


@pytest.mark.parametrize(
    ("response", "score"),
    [
        ("Paris", 1.0),
        ("paris.", 1.0),
        ("The capital is Paris.", 1.0),
        ("Lyon", 0.0),
        ("Parisian", 0.0),
        ("", 0.0),
    ],
)
async def test_fact_grader(response: str, score: float) -> None:
    assert await grade_response(FACT, response) == score


async def test_every_builtin_reference_passes_its_grader() -> None:
    assert 20 <= len(TASKS) <= 40
    assert {t.kind for t in TASKS} == {"code", "math", "fact"}
    assert len({t.id for t in TASKS}) == len(TASKS)
    for task in TASKS:
        assert await grade_response(task, task.reference) == 1.0, task.id


def _sim(wrong_models: tuple[str, ...]) -> FunctionModel:
    """A stand-in for the simulator: right answers, except from ``wrong_models``."""
    reference = {t.prompt: t.reference for t in TASKS}

    def answer(request: ChatRequest) -> str:
        if request.model in wrong_models:
            return "I am not sure."
        return reference[request.messages[-1].content]

    return FunctionModel(answer)


def _three_tiers() -> Catalog:
    """One model per tier, the budget one good enough for the router's quality floors."""
    rows = [
        model_row(f"x/{tier}", tier=tier, input_per_mtok=p, output_per_mtok=4 * p,
                  quality=dict.fromkeys(("code", "reasoning", "math", "general"), q))
        for tier, p, q in (("budget", 0.1, 0.8), ("mid", 1.0, 0.85), ("flagship", 5.0, 0.9))
    ]  # fmt: skip
    return Catalog.from_rows(rows)


async def test_simulated_suite_run_produces_rows_within_budget() -> None:
    catalog = _three_tiers()
    ids = ["x/budget", "x/mid", "x/flagship"]
    model = _sim(wrong_models=(ids[0],))
    result = await run_live_suite(model, catalog=catalog, model_ids=ids, budget_usd=0.5)
    rows = {r.policy: r for r in result.rows}
    assert rows[ids[0]].accuracy == 0.0
    assert rows[ids[1]].accuracy == 1.0
    assert rows["oracle"].accuracy == 1.0
    assert rows["oracle"].usd_per_1k <= rows[ids[1]].usd_per_1k
    expected = {"router:cheapest", "router:balanced", "router:best_quality", "agree-2"}
    assert expected | {"escalation:cheapest", "escalation:balanced"} <= set(rows)
    # The product's escalation climbs past the failing budget model on code and math (its
    # "I am not sure." passes the checks of a fact question, so those stay wrong).
    assert rows["escalation:cheapest"].accuracy > rows["router:cheapest"].accuracy
    assert rows["escalation:cheapest"].escalation_rate > 0
    assert all(r.errors == 0 for r in result.rows)
    assert "budget $0.5000" in " ".join(result.notes)
    assert "| agree-2 |" in markdown_table(result)
    # Every call carried max_tokens, so every worst case could be reserved.
    assert model.requests
    assert all(r.max_tokens == 1024 for r in model.requests)


async def test_suite_stops_at_the_budget() -> None:
    catalog = Catalog.bundled()
    ids = [m.id for m in catalog][:2]
    result = await run_live_suite(_sim(()), catalog=catalog, model_ids=ids, budget_usd=0.001)
    assert sum(r.errors for r in result.rows if r.kind != "oracle") > 0
    spent = next(n for n in result.notes if n.startswith("budget"))
    assert float(spent.rsplit("$", 1)[1]) <= 0.001


async def test_suite_needs_a_budget_and_two_models() -> None:
    catalog = Catalog.bundled()
    ids = [m.id for m in catalog][:2]
    with pytest.raises(UsageError, match="positive budget"):
        await run_live_suite(_sim(()), catalog=catalog, model_ids=ids, budget_usd=0)
    with pytest.raises(UsageError, match="two models"):
        await run_live_suite(_sim(()), catalog=catalog, model_ids=ids[:1], budget_usd=1)
