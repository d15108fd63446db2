"""Plan a goal under a hard budget, then run it: parallel steps, checked and escalated.

    python examples/04_plan_and_execute.py

With no provider key it runs on the offline simulator (outputs say so). The run folder and
the ledger lines go to tokenplan's data folder (set TOKENPLAN_HOME to put them elsewhere).
"""

from __future__ import annotations

from tokenplan import Executor, Runtime, Settings, run_sync
from tokenplan.execution import ExecutorEvent, StepEscalated

GOAL = "Research three note-taking apps, then compare them and write a short recommendation."


def show(event: ExecutorEvent) -> None:
    if isinstance(event, StepEscalated):
        print(f"  ! {event.step_id}: {event.from_model} -> {event.to_model} ({event.reason})")


async def main() -> None:
    async with Runtime.open(Settings.load()) as runtime:
        executor = Executor(runtime, on_event=show)
        planned = await executor.plan(GOAL, budget_usd=0.05)  # one billed planner call
        for step in planned.plan.steps:
            chosen = planned.allocation.for_step(step.id)
            print(f"{step.id:22} {step.capability:9} {chosen.model} ~${chosen.est_cost_usd:.5f}")
        result = await executor.run(planned)
    print(f"{result.status}: ${result.spent_usd:.5f} of ${result.budget_usd} ({result.run_id})")
    for step_id, record in result.steps.items():
        print(f"  {step_id:22} {record.status:9} {record.model} x{record.attempts}")
    print(f"result: {result.result_path}")


if __name__ == "__main__":
    run_sync(main)
