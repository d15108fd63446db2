"""The same goal at several budgets: what each plan costs, which models it gets, how it ends.

    python examples/05_budget_comparison.py

The runs go in parallel (one executor each), all offline on the simulator without keys.
"""

from __future__ import annotations

import anyio

from tokenplan import ExecutionResult, Executor, Runtime, Settings, run_sync
from tokenplan.errors import BudgetError

GOAL = "Write a Python function that parses ISO dates, then write unit tests for it."
BUDGETS = (0.0015, 0.005, 0.02, 0.10)


async def main() -> None:
    results: dict[float, ExecutionResult | BudgetError] = {}
    async with Runtime.open(Settings.load()) as runtime:

        async def attempt(budget: float) -> None:
            executor = Executor(runtime)
            try:
                results[budget] = await executor.run_goal(
                    GOAL, budget_usd=budget, strategy="best_quality"
                )
            except BudgetError as exc:  # too small: says what would do
                results[budget] = exc

        async with anyio.create_task_group() as tg:
            for budget in BUDGETS:
                tg.start_soon(attempt, budget)
    for budget in BUDGETS:
        r = results[budget]
        if isinstance(r, BudgetError):
            need = f"${r.minimum_usd:.2g}" if r.minimum_usd else "more"
            print(f"${budget:<6} too small: this plan needs a budget of {need}")
            continue
        models = ", ".join(sorted({s.model or "-" for s in r.steps.values()}))
        ok = sum(s.status == "succeeded" for s in r.steps.values())
        print(
            f"${budget:<6} {r.status:9} {ok}/{len(r.steps)} ok, spent ${r.spent_usd:.5f}: {models}"
        )


if __name__ == "__main__":
    run_sync(main)
