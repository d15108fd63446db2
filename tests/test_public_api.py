"""The public API is explicit and stable: changes to it must be deliberate."""

from __future__ import annotations

import subprocess
import sys

import tokenplan

EXPECTED = {
    "Allocation",
    "Attempt",
    "Catalog",
    "ChatModel",
    "ChatRequest",
    "ChatResponse",
    "Classification",
    "ExecutionResult",
    "Executor",
    "FallbackModel",
    "JsonSchemaFormat",
    "Ledger",
    "Message",
    "MeteredModel",
    "Model",
    "Plan",
    "PlannerResult",
    "RetryPolicy",
    "RouteDecision",
    "Router",
    "RunResult",
    "RunStatus",
    "Runtime",
    "Scheduler",
    "Settings",
    "SimulatorModel",
    "Step",
    "StepOutcome",
    "StepResult",
    "StepStatus",
    "StreamChunk",
    "Summary",
    "Usage",
    "__version__",
    "allocate",
    "classify",
    "cost_usd",
    "estimate_request_tokens",
    "estimate_tokens",
    "load_catalog",
    "load_plan",
    "plan_and_allocate",
    "plan_goal",
    "run_dag",
    "run_sync",
    "save_plan",
    "summarize",
    "usage_cost",
}


def test_all_is_locked() -> None:
    assert set(tokenplan.__all__) == EXPECTED
    assert len(tokenplan.__all__) == len(set(tokenplan.__all__))


def test_every_export_resolves() -> None:
    for name in tokenplan.__all__:
        assert getattr(tokenplan, name) is not None, name


def test_unknown_attribute_raises() -> None:
    import pytest

    with pytest.raises(AttributeError):
        _ = tokenplan.does_not_exist  # type: ignore[attr-defined]


def test_import_is_lazy() -> None:
    heavy = ("pydantic", "httpx", "networkx", "rich")
    code = f"import sys, tokenplan; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
