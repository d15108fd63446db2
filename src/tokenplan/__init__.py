"""tokenplan: plan and run LLM work under a hard USD budget.

The public API is re-exported here lazily (attribute access imports the defining module), so
``import tokenplan`` stays cheap for the CLI's start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokenplan._lazy import lazy_exports

__version__ = "0.1.0"

# name -> defining module. Keep sorted by module; ``__all__`` is derived from it and locked by
# tests/test_public_api.py.
_EXPORTS: dict[str, str] = {
    "run_sync": "tokenplan._sync",
    "Catalog": "tokenplan.catalog.catalog",
    "load_catalog": "tokenplan.catalog.loading",
    "Model": "tokenplan.catalog.model",
    "ExecutionResult": "tokenplan.execution.records",
    "Executor": "tokenplan.execution.executor",
    "RunResult": "tokenplan.execution.result",
    "RunStatus": "tokenplan.execution.result",
    "StepOutcome": "tokenplan.execution.result",
    "StepResult": "tokenplan.execution.result",
    "StepStatus": "tokenplan.execution.result",
    "Scheduler": "tokenplan.execution.scheduler",
    "run_dag": "tokenplan.execution.scheduler",
    "Attempt": "tokenplan.ledger.attempt",
    "Ledger": "tokenplan.ledger.store",
    "Summary": "tokenplan.ledger.summary",
    "summarize": "tokenplan.ledger.summary",
    "cost_usd": "tokenplan.pricing",
    "usage_cost": "tokenplan.pricing",
    "Allocation": "tokenplan.planning.allocator",
    "allocate": "tokenplan.planning.allocator",
    "plan_and_allocate": "tokenplan.planning.pipeline",
    "load_plan": "tokenplan.planning.planfile",
    "save_plan": "tokenplan.planning.planfile",
    "PlannerResult": "tokenplan.planning.planner",
    "plan_goal": "tokenplan.planning.planner",
    "Plan": "tokenplan.planning.schema",
    "Step": "tokenplan.planning.schema",
    "ChatModel": "tokenplan.providers.base",
    "SimulatorModel": "tokenplan.providers.sim",
    "FallbackModel": "tokenplan.providers.fallback",
    "MeteredModel": "tokenplan.providers.metered",
    "RetryPolicy": "tokenplan.providers.retry",
    "Runtime": "tokenplan.runtime",
    "Classification": "tokenplan.routing.classifier",
    "classify": "tokenplan.routing.classifier",
    "RouteDecision": "tokenplan.routing.decision",
    "Router": "tokenplan.routing.router",
    "Settings": "tokenplan.settings",
    "estimate_request_tokens": "tokenplan.tokens",
    "estimate_tokens": "tokenplan.tokens",
    "ChatRequest": "tokenplan.types",
    "ChatResponse": "tokenplan.types",
    "JsonSchemaFormat": "tokenplan.types",
    "Message": "tokenplan.types",
    "StreamChunk": "tokenplan.types",
    "Usage": "tokenplan.types",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)


if TYPE_CHECKING:  # pragma: no cover
    from tokenplan._sync import run_sync as run_sync
    from tokenplan.catalog.catalog import Catalog as Catalog
    from tokenplan.catalog.loading import load_catalog as load_catalog
    from tokenplan.catalog.model import Model as Model
    from tokenplan.execution.executor import Executor as Executor
    from tokenplan.execution.records import ExecutionResult as ExecutionResult
    from tokenplan.execution.result import RunResult as RunResult
    from tokenplan.execution.result import RunStatus as RunStatus
    from tokenplan.execution.result import StepOutcome as StepOutcome
    from tokenplan.execution.result import StepResult as StepResult
    from tokenplan.execution.result import StepStatus as StepStatus
    from tokenplan.execution.scheduler import Scheduler as Scheduler
    from tokenplan.execution.scheduler import run_dag as run_dag
    from tokenplan.ledger.attempt import Attempt as Attempt
    from tokenplan.ledger.store import Ledger as Ledger
    from tokenplan.ledger.summary import Summary as Summary
    from tokenplan.ledger.summary import summarize as summarize
    from tokenplan.planning.allocator import Allocation as Allocation
    from tokenplan.planning.allocator import allocate as allocate
    from tokenplan.planning.pipeline import plan_and_allocate as plan_and_allocate
    from tokenplan.planning.planfile import load_plan as load_plan
    from tokenplan.planning.planfile import save_plan as save_plan
    from tokenplan.planning.planner import PlannerResult as PlannerResult
    from tokenplan.planning.planner import plan_goal as plan_goal
    from tokenplan.planning.schema import Plan as Plan
    from tokenplan.planning.schema import Step as Step
    from tokenplan.pricing import cost_usd as cost_usd
    from tokenplan.pricing import usage_cost as usage_cost
    from tokenplan.providers.base import ChatModel as ChatModel
    from tokenplan.providers.fallback import FallbackModel as FallbackModel
    from tokenplan.providers.metered import MeteredModel as MeteredModel
    from tokenplan.providers.retry import RetryPolicy as RetryPolicy
    from tokenplan.providers.sim import SimulatorModel as SimulatorModel
    from tokenplan.routing.classifier import Classification as Classification
    from tokenplan.routing.classifier import classify as classify
    from tokenplan.routing.decision import RouteDecision as RouteDecision
    from tokenplan.routing.router import Router as Router
    from tokenplan.runtime import Runtime as Runtime
    from tokenplan.settings import Settings as Settings
    from tokenplan.tokens import estimate_request_tokens as estimate_request_tokens
    from tokenplan.tokens import estimate_tokens as estimate_tokens
    from tokenplan.types import ChatRequest as ChatRequest
    from tokenplan.types import ChatResponse as ChatResponse
    from tokenplan.types import JsonSchemaFormat as JsonSchemaFormat
    from tokenplan.types import Message as Message
    from tokenplan.types import StreamChunk as StreamChunk
    from tokenplan.types import Usage as Usage
