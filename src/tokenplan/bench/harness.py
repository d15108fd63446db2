"""Running policies over queries: every call metered by the product, every answer graded.

Policies call models through :class:`~tokenplan.bench.metering.MeteredModels`: the product's
metering layer (:class:`~tokenplan.providers.metered.MeteredModel`) reserves each call's worst
case from the budget, settles its actual cost and records one ledger
:class:`~tokenplan.ledger.attempt.Attempt` (``kind="bench"``) per call. The harness runs each
query under a :func:`~tokenplan.ledger.context.call_context` naming the run and the query, and
reads the query's calls and costs from the attempts recorded under it - not from the policy.

A :class:`Grader` then scores the policy's final :class:`Choice`: :class:`LabelGrader` reads
the dataset's recorded grade of the chosen model (replay), the live suite runs programmatic
checks. A query whose calls fail (a provider error, the budget running out, no route) scores 0
and is counted as an error.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import anyio

from tokenplan.bench.dataset import OutcomeDataset
from tokenplan.bench.metering import MeteredModels
from tokenplan.bench.policies.base import Choice, Policy, PolicyKind, Query
from tokenplan.budget import Budget
from tokenplan.errors import (
    AllCandidatesFailed,
    BudgetError,
    ProviderError,
    RoutingError,
    error_summary,
)
from tokenplan.ledger.attempt import Attempt
from tokenplan.ledger.context import call_context

__all__ = [
    "Call",
    "Grader",
    "LabelGrader",
    "PolicyOutcome",
    "PolicyRun",
    "run_policy",
]

logger = logging.getLogger(__name__)

#: Errors that end one query (scored 0, counted) rather than the whole run.
QUERY_ERRORS = (ProviderError, BudgetError, RoutingError, AllCandidatesFailed)


@dataclass(frozen=True, slots=True)
class Call:
    """One model call made by a policy, as the metering layer recorded it.

    ``outcome`` is the ledger's (``ok``, ``invalid`` for an answer its acceptance check
    rejected, ``error``); ``escalated_from`` the model the policy escalated from.
    """

    model: str
    cost_usd: float
    error: str | None = None
    outcome: str = "ok"
    escalated_from: str | None = None

    @classmethod
    def from_attempt(cls, attempt: Attempt) -> Call:
        return cls(
            attempt.model,
            attempt.cost_usd,
            attempt.error if attempt.outcome == "error" else None,
            attempt.outcome,
            attempt.escalated_from,
        )


@dataclass(frozen=True, slots=True)
class PolicyOutcome:
    """A policy's result on one query, as measured by the harness."""

    query_id: str
    model: str | None
    score: float
    calls: tuple[Call, ...]
    escalations: int = 0
    error: str | None = None

    @property
    def cost_usd(self) -> float:
        return sum(c.cost_usd for c in self.calls)

    def called(self, model_id: str) -> bool:
        return any(c.model == model_id for c in self.calls)


@dataclass(frozen=True, slots=True)
class PolicyRun:
    """All outcomes of one policy over a query set."""

    policy: str
    kind: PolicyKind
    outcomes: tuple[PolicyOutcome, ...]
    info: dict[str, object] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.outcomes)

    @property
    def accuracy(self) -> float:
        """Mean score (errors count as 0)."""
        return sum(o.score for o in self.outcomes) / self.n if self.n else math.nan

    @property
    def cost_per_query(self) -> float:
        return sum(o.cost_usd for o in self.outcomes) / self.n if self.n else math.nan

    @property
    def escalation_rate(self) -> float:
        """Share of queries on which the policy escalated at least once."""
        return sum(1 for o in self.outcomes if o.escalations) / self.n if self.n else math.nan

    @property
    def calls_per_query(self) -> float:
        return sum(len(o.calls) for o in self.outcomes) / self.n if self.n else math.nan

    @property
    def errors(self) -> int:
        return sum(1 for o in self.outcomes if o.error)

    def strong_share(self, strong_id: str) -> float:
        """Share of queries that called ``strong_id`` at least once."""
        return sum(1 for o in self.outcomes if o.called(strong_id)) / self.n if self.n else math.nan


class Grader(Protocol):
    """Scores a policy's final answer to a query, in [0, 1]."""

    async def grade(self, query: Query, choice: Choice) -> float: ...


class LabelGrader:
    """Replay grading: the dataset's recorded score of the chosen model on the query.

    The final text must be the chosen model's recorded response (when one was recorded): a
    policy cannot claim a model's grade for an answer that model did not give.
    """

    def __init__(self, dataset: OutcomeDataset) -> None:
        self.dataset = dataset

    async def grade(self, query: Query, choice: Choice) -> float:
        name = self.dataset.model_name(choice.model)
        if name is None:
            raise ValueError(f"{choice.model!r} is not a model of {self.dataset.name}")
        outcome = self.dataset.outcome(query.id, name)
        if outcome.response is not None and choice.text != outcome.response:
            raise ValueError(f"the final text is not {choice.model}'s recorded response")
        return outcome.score


async def _one(
    policy: Policy,
    query: Query,
    *,
    models: MeteredModels,
    grader: Grader,
    run_id: str,
    budget: Budget | None,
) -> PolicyOutcome:
    step_id = f"{policy.name}:{query.id}"
    error: str | None = None
    choice: Choice | None = None
    with call_context(
        run_id=run_id, kind="bench", step_id=step_id, budget=budget, capability=query.capability
    ):
        try:
            choice = await policy.run(query, models)
        except QUERY_ERRORS as exc:
            summary = error_summary(exc)
            error = f"{summary['type']}: {summary['message']}"
    calls = tuple(Call.from_attempt(a) for a in models.log.take(run_id, step_id))
    if choice is None:
        return PolicyOutcome(query.id, None, 0.0, calls, error=error)
    try:
        score = await grader.grade(query, choice)
    except ValueError as exc:
        logger.warning("bench.grade_failed", extra={"policy": policy.name, "query": query.id})
        return PolicyOutcome(
            query.id, choice.model, 0.0, calls, choice.escalations, f"grading: {exc}"
        )
    return PolicyOutcome(query.id, choice.model, score, calls, choice.escalations)


async def run_policy(
    policy: Policy,
    queries: Sequence[Query],
    *,
    models: MeteredModels,
    grader: Grader,
    concurrency: int = 1,
    budget: Budget | None = None,
    run_id: str = "bench",
) -> PolicyRun:
    """Run ``policy`` on every query (``concurrency`` at a time) and grade each answer.

    Each query runs under ``call_context(run_id=run_id, kind="bench", step_id="<policy>:<query
    id>", budget=budget)``; its calls are the attempts ``models`` recorded there. With a
    ``budget``, the metering layer reserves each call's worst case first; a query whose call
    cannot fit ends with a ``BudgetError`` outcome and the run goes on.
    """
    results: list[PolicyOutcome | None] = [None] * len(queries)

    async def run_one(i: int) -> None:
        results[i] = await _one(
            policy, queries[i], models=models, grader=grader, run_id=run_id, budget=budget
        )

    if concurrency <= 1:
        for i in range(len(queries)):
            await run_one(i)
    else:
        limiter = anyio.CapacityLimiter(concurrency)

        async def worker(i: int) -> None:
            async with limiter:
                await run_one(i)

        async with anyio.create_task_group() as tg:
            for i in range(len(queries)):
                tg.start_soon(worker, i)
    outcomes = tuple(r for r in results if r is not None)
    return PolicyRun(policy.name, policy.kind, outcomes)
