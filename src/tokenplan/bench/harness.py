"""Running policies over queries: every call metered, every answer graded.

The harness hands each policy, per query, a :class:`CallLog` wrapped around the real model
(replay, simulator or providers). The log records each call's model and cost, and, with a
:class:`~tokenplan.budget.Budget`, reserves the call's worst case before it and settles the
actual cost after it, so a live run never spends more than its budget. Costs and call counts
come from the log, not from the policy.

A :class:`Grader` then scores the policy's final :class:`Choice`: :class:`LabelGrader` reads
the dataset's recorded grade of the chosen model (replay), the live suite runs programmatic
checks. A policy error (a provider error, the budget running out) scores 0 and is counted.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import anyio

from tokenplan.bench.dataset import OutcomeDataset
from tokenplan.bench.policies.base import Choice, Policy, PolicyKind, Query
from tokenplan.budget import Budget, Reservation
from tokenplan.catalog import Catalog
from tokenplan.errors import BudgetError, ProviderError, error_summary
from tokenplan.pricing import usage_cost
from tokenplan.providers.base import ChatModel
from tokenplan.tokens import estimate_messages_tokens
from tokenplan.types import ChatRequest, ChatResponse, StreamChunk

__all__ = [
    "Call",
    "CallLog",
    "Grader",
    "LabelGrader",
    "PolicyOutcome",
    "PolicyRun",
    "run_policy",
]

logger = logging.getLogger(__name__)

#: Output tokens assumed for a call's worst case when the request sets no ``max_tokens``.
DEFAULT_WORST_CASE_OUTPUT_TOKENS = 1024


@dataclass(frozen=True, slots=True)
class Call:
    """One model call made by a policy: the model asked, what it cost, how it failed."""

    model: str
    cost_usd: float
    error: str | None = None


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


class CallLog:
    """A :class:`ChatModel` wrapper recording every call (and holding budget) for one query."""

    def __init__(
        self, inner: ChatModel, *, budget: Budget | None = None, catalog: Catalog | None = None
    ) -> None:
        self.inner = inner
        self.budget = budget
        self.catalog = catalog
        self.calls: list[Call] = []

    def _reserve(self, request: ChatRequest) -> Reservation | None:
        if self.budget is None:
            return None
        model = self.catalog.find(request.model) if self.catalog is not None else None
        if model is None:
            raise BudgetError(
                f"cannot hold budget for {request.model}: it is not in the catalog",
                budget_usd=self.budget.limit_usd or 0.0,
                spent_usd=self.budget.spent_usd,
            )
        worst = model.worst_case_cost(
            estimate_messages_tokens(m.content for m in request.messages),
            request.max_tokens or DEFAULT_WORST_CASE_OUTPUT_TOKENS,
        )
        return self.budget.reserve(worst)

    def _cost(self, request: ChatRequest, response: ChatResponse) -> float:
        """The response's cost; priced from its usage when the model reported none."""
        if response.cost_usd > 0 or self.catalog is None:
            return response.cost_usd
        model = self.catalog.find(response.model) or self.catalog.find(request.model)
        return usage_cost(model, response.usage) if model is not None else 0.0

    async def complete(self, request: ChatRequest) -> ChatResponse:
        reservation = self._reserve(request)
        try:
            response = await self.inner.complete(request)
        except ProviderError as exc:
            self.calls.append(Call(request.model, 0.0, type(exc).__name__))
            if reservation is not None:
                reservation.release()
            raise
        cost = self._cost(request, response)
        if reservation is not None:
            reservation.settle(cost)
        self.calls.append(Call(response.model or request.model, cost))
        return response

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        reservation = self._reserve(request)
        final: ChatResponse | None = None
        try:
            async for chunk in self.inner.stream(request):
                if chunk.response is not None:
                    final = chunk.response
                yield chunk
        except ProviderError as exc:
            self.calls.append(Call(request.model, 0.0, type(exc).__name__))
            raise
        finally:
            cost = self._cost(request, final) if final is not None else 0.0
            if reservation is not None:
                reservation.settle(cost)
        if final is not None:
            self.calls.append(Call(final.model or request.model, cost))


async def _one(
    policy: Policy,
    query: Query,
    *,
    model: ChatModel,
    grader: Grader,
    budget: Budget | None,
    catalog: Catalog | None,
) -> PolicyOutcome:
    log = CallLog(model, budget=budget, catalog=catalog)
    try:
        choice = await policy.run(query, log)
    except (ProviderError, BudgetError) as exc:
        summary = error_summary(exc)
        return PolicyOutcome(
            query.id, None, 0.0, tuple(log.calls), error=f"{summary['type']}: {summary['message']}"
        )
    try:
        score = await grader.grade(query, choice)
    except ValueError as exc:
        logger.warning("bench.grade_failed", extra={"policy": policy.name, "query": query.id})
        return PolicyOutcome(
            query.id, choice.model, 0.0, tuple(log.calls), choice.escalations, f"grading: {exc}"
        )
    return PolicyOutcome(query.id, choice.model, score, tuple(log.calls), choice.escalations)


async def run_policy(
    policy: Policy,
    queries: Sequence[Query],
    *,
    model: ChatModel,
    grader: Grader,
    concurrency: int = 1,
    budget: Budget | None = None,
    catalog: Catalog | None = None,
) -> PolicyRun:
    """Run ``policy`` on every query (``concurrency`` at a time) and grade each answer.

    With a ``budget``, each call's worst case is reserved first (prices from ``catalog``); a
    query whose call cannot fit ends with a ``BudgetError`` outcome and the run goes on.
    """
    results: list[PolicyOutcome | None] = [None] * len(queries)

    async def run_one(i: int) -> None:
        results[i] = await _one(
            policy, queries[i], model=model, grader=grader, budget=budget, catalog=catalog
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
