"""Running the live task suite through the product's models under a hard budget.

The caller supplies the models: :class:`~tokenplan.bench.metering.MeteredModels` from the
product's runtime (real providers with keys, or the offline simulator), or any
:class:`~tokenplan.providers.base.ChatModel`, which is then put behind the product's metering
layer. Every call's worst case is reserved against one shared :class:`~tokenplan.budget.Budget`
before it is made; when the budget cannot cover a call, that query ends with a budget error
(scored 0) and the suite goes on, so the ceiling holds and the report says what was not run.

Policies: each model alone; the product's router (``router:<strategy>``) and escalation
(``escalation:<strategy>``, which also runs the code tests a prompt states in the sandbox)
over these models; the unanimous-pair cascade (the two cheapest models, then the best); and
the oracle, derived without extra calls from the single-model runs (per task, the cheapest
model that solved it). Outputs are the same :class:`BenchResult` rows as replay runs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from tokenplan.bench.dataset import prompt_capability
from tokenplan.bench.harness import PolicyOutcome, PolicyRun, run_policy
from tokenplan.bench.live.tasks import TASKS, Task, grade_response
from tokenplan.bench.metering import MeteredModels
from tokenplan.bench.policies.base import Choice, Policy, Query
from tokenplan.bench.policies.cascade import UnanimousCascade
from tokenplan.bench.policies.product import EscalationPolicy, RouterPolicy
from tokenplan.bench.policies.simple import SingleModelPolicy
from tokenplan.bench.results import BenchResult, summarize, task_rows
from tokenplan.budget import Budget
from tokenplan.catalog import Catalog, Model
from tokenplan.errors import UsageError
from tokenplan.providers.base import ChatModel
from tokenplan.routing.router import Router
from tokenplan.settings import Settings

__all__ = ["TaskGrader", "live_queries", "run_live_suite"]


class TaskGrader:
    """Grades a final answer with the task's programmatic grader."""

    def __init__(self, tasks: Sequence[Task], *, timeout_s: float = 10.0) -> None:
        self.tasks = {t.id: t for t in tasks}
        self.timeout_s = timeout_s

    async def grade(self, query: Query, choice: Choice) -> float:
        return await grade_response(self.tasks[query.id], choice.text, timeout_s=self.timeout_s)


def live_queries(tasks: Sequence[Task], *, max_tokens: int) -> list[Query]:
    """The tasks as policies see them (capability from the product's classifier)."""
    return [
        Query(t.id, t.prompt, prompt_capability(t.prompt), max_tokens=max_tokens) for t in tasks
    ]


def _price(m: Model) -> float:
    return m.input_per_mtok + m.output_per_mtok


def _live_policies(sub: Catalog, chosen: Sequence[Model]) -> tuple[list[Policy], str, str]:
    """Each model, the product's router and escalation, the unanimous pair; strong and weak."""
    by_price = sorted(chosen, key=lambda m: (_price(m), m.id))
    best = max(chosen, key=lambda m: (m.prior("general"), -_price(m), m.id))
    policies: list[Policy] = [SingleModelPolicy(m.id) for m in by_price]
    # Default routing settings: the user's rules and lists may name models not compared here.
    router = Router(sub, Settings())
    for strategy in ("cheapest", "balanced", "best_quality"):
        policies.append(RouterPolicy(router, strategy=strategy))
    for strategy in ("cheapest", "balanced"):
        policies.append(EscalationPolicy(router, strategy=strategy, verify_stated_tests=True))
    cheap = [m for m in by_price if m.id != best.id][:2]
    if len(cheap) == 2:
        policies.append(
            UnanimousCascade(
                "agree-2",
                panel=[m.id for m in cheap],
                strong=best.id,
                ranks=[m.prior("general") for m in cheap],
            )
        )
    return policies, best.id, by_price[0].id


def _oracle(singles: Sequence[PolicyRun], queries: Sequence[Query]) -> PolicyRun:
    outcomes = []
    for i, q in enumerate(queries):
        options = [run.outcomes[i] for run in singles]
        solved = [o for o in options if o.score > 0 and not o.error]
        pick = min(solved or options, key=lambda o: (-o.score, o.cost_usd, o.model or ""))
        outcomes.append(PolicyOutcome(q.id, pick.model, pick.score, pick.calls))
    return PolicyRun("oracle", "oracle", tuple(outcomes))


async def run_live_suite(
    model: ChatModel | MeteredModels,
    *,
    catalog: Catalog,
    model_ids: Sequence[str],
    budget_usd: float,
    tasks: Sequence[Task] = TASKS,
    max_tokens: int = 1024,
    concurrency: int = 4,
    grade_timeout_s: float = 10.0,
    dataset: str = "live",
    run_id: str = "bench-live",
) -> BenchResult:
    """Run the suite's policies on ``tasks`` through ``model`` within ``budget_usd``.

    ``model`` is the product's :class:`MeteredModels` (from a runtime), or any ``ChatModel``
    serving ``model_ids``, which is then metered here (provider name: its ``provider``
    attribute, else ``"bench"``; nothing is written to a ledger).
    """
    if not (budget_usd > 0 and math.isfinite(budget_usd)):
        raise UsageError("the live suite needs a positive budget (--budget USD)")
    chosen = [catalog.get(m) for m in model_ids]
    if len(chosen) < 2:
        raise UsageError("the live suite needs at least two models to compare")
    started = time.perf_counter()
    sub = Catalog(chosen, sources=catalog.sources)
    policies, strong, weak = _live_policies(sub, chosen)
    if not isinstance(model, MeteredModels):
        provider = str(getattr(model, "provider", "") or "bench")
        model = MeteredModels.wrapping(model, sub, provider=provider)
    budget = Budget(budget_usd)
    grader = TaskGrader(tasks, timeout_s=grade_timeout_s)
    queries = live_queries(tasks, max_tokens=max_tokens)
    runs = [
        await run_policy(
            p,
            queries,
            models=model,
            grader=grader,
            concurrency=concurrency,
            budget=budget,
            run_id=run_id,
        )
        for p in policies
    ]
    runs.append(_oracle([r for r in runs if r.kind == "single"], queries))
    rows, curves = summarize(
        dataset,
        runs,
        strong=strong,
        weak=weak,
        notes={"oracle": "UPPER BOUND: cheapest model that solved each task (no extra calls)"},
    )
    by_task = task_rows(
        dataset,
        runs,
        task_of={t.id: t.kind for t in tasks},
        reference=rows[0].reference if rows else "",
    )
    notes = [
        f"{len(tasks)} built-in tasks ({', '.join(sorted({t.kind for t in tasks}))}), graded "
        "programmatically",
        f"budget ${budget_usd:.4f}, spent ${budget.spent_usd:.4f}",
    ]
    errors = sum(r.errors for r in runs)
    if errors:
        notes.append(f"{errors} queries ended in errors (budget or provider), scored 0")
    return BenchResult(
        dataset=dataset,
        rows=rows,
        curves=curves,
        tasks=by_task,
        strong=strong,
        weak=weak,
        notes=notes,
        seconds=time.perf_counter() - started,
    )
