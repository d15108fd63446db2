"""The live suite: built-in tasks with programmatic graders, run on real or simulated models."""

from tokenplan.bench.live.sandbox import RunResult, run_python, run_tests
from tokenplan.bench.live.suite import TaskGrader, live_queries, run_live_suite
from tokenplan.bench.live.tasks import TASKS, Task, TaskKind, grade_response

__all__ = [
    "TASKS",
    "RunResult",
    "Task",
    "TaskGrader",
    "TaskKind",
    "grade_response",
    "live_queries",
    "run_live_suite",
    "run_python",
    "run_tests",
]
