"""The product's own routing and escalation, as benchmark policies.

* :class:`RouterPolicy` - ``cheapest``, ``balanced``, ``best_quality``: the product's
  :class:`~tokenplan.routing.router.Router` over the dataset's catalog picks the model from the
  prompt text alone (its classifier decides the capability and complexity); one call.
* :class:`EscalationPolicy` - the product's escalation: the router's choice first; when the
  answer fails its acceptance check (:func:`tokenplan.bench.checks.acceptance`: the product's
  output checks plus task-appropriate answer checks, reading only the prompt and the response)
  or the model cannot be used, the next tier up with the same capability, chosen exactly as the
  executor chooses for a plan step (:meth:`tokenplan.execution.ladder.Ladder.next_model`), never
  downward. Each escalated call
  runs under ``call_context(escalated_from=..., accept=...)``, so its ledger line names the model
  it escalated from and a rejected answer is recorded as ``invalid``.

Optionally (``verify_stated_tests``) a code answer must also pass the tests the prompt states,
run in the sandbox (:func:`tokenplan.bench.checks.failing_stated_tests`). That check is
asynchronous and runs after the call, so the ledger line of an answer failing only it says
``ok``; the escalation it causes is recorded on the next call as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokenplan.bench.checks import acceptance, failing_stated_tests
from tokenplan.bench.policies.base import Choice, PolicyKind, Query, ask
from tokenplan.errors import AllCandidatesFailed, BudgetError, ProviderError
from tokenplan.execution.ladder import Ladder
from tokenplan.ledger.context import call_context
from tokenplan.planning.schema import Step

if TYPE_CHECKING:
    from tokenplan.catalog.model import Model
    from tokenplan.providers.base import ChatModel
    from tokenplan.routing.decision import RouteDecision
    from tokenplan.routing.router import Router
    from tokenplan.types import ChatResponse

__all__ = ["EscalationPolicy", "RouterPolicy"]


class RouterPolicy:
    """The product router's choice for the prompt, under ``strategy``; one call."""

    kind: PolicyKind = "router"

    def __init__(self, router: Router, *, strategy: str, name: str | None = None) -> None:
        self.router = router
        self.strategy = strategy
        self.name = name or f"router:{strategy}"

    def decide(self, query: Query) -> RouteDecision:
        """The router's decision for ``query`` (prompt text and ``max_tokens`` only)."""
        return self.router.route(query.text, strategy=self.strategy, max_tokens=query.max_tokens)

    async def run(self, query: Query, model: ChatModel) -> Choice:
        chosen = self.decide(query).model.id
        response = await ask(model, chosen, query)
        return Choice(chosen, response.text)


class EscalationPolicy:
    """The router's choice, climbing tiers on rejected answers (see the module docstring)."""

    kind: PolicyKind = "router"

    def __init__(
        self,
        router: Router,
        *,
        strategy: str,
        name: str | None = None,
        verify_stated_tests: bool = False,
        test_timeout_s: float = 5.0,
    ) -> None:
        self.router = RouterPolicy(router, strategy=strategy)
        self.ladder = Ladder(router.catalog, available=lambda _m: True)
        self.strategy = strategy
        self.name = name or f"escalation:{strategy}"
        self.verify_stated_tests = verify_stated_tests
        self.test_timeout_s = test_timeout_s

    async def _problem(self, query: Query, capability: str, response: ChatResponse) -> str | None:
        problem = acceptance(query.text, capability)(response)
        if problem is None and self.verify_stated_tests:
            problem = await failing_stated_tests(
                query.text, response.text, timeout_s=self.test_timeout_s
            )
        return problem

    def climb(self, query: Query) -> tuple[RouteDecision, list[Model]]:
        """The router's decision for ``query`` and the models escalation would try, in order."""
        decision = self.router.decide(query)
        step = Step(
            id="query",
            title="benchmark query",
            instructions=query.text,
            capability=decision.capability,
            est_input_tokens=max(1, decision.estimated_input_tokens),
            est_output_tokens=max(1, decision.max_tokens),
        )
        return decision, self.ladder.path(step, decision.model)

    async def run(self, query: Query, model: ChatModel) -> Choice:
        decision, ladder = self.climb(query)
        capability = decision.capability
        accept = acceptance(query.text, capability)
        tried: str | None = None
        answered: Choice | None = None  # the last (rejected) answer, should escalation not fit
        for i, rung in enumerate(ladder):
            last = i == len(ladder) - 1
            try:
                with call_context(escalated_from=tried, accept=accept):
                    response = await ask(model, rung.id, query)
            except BudgetError:
                if answered is None:
                    raise
                return answered  # the escalation does not fit the budget: keep what we have
            except (ProviderError, AllCandidatesFailed):
                if last:
                    raise
                tried = rung.id  # a model that cannot answer: escalate past it
                continue
            if last or await self._problem(query, capability, response) is None:
                return Choice(rung.id, response.text, escalations=i)
            tried, answered = rung.id, Choice(rung.id, response.text, escalations=i)
        raise AssertionError("unreachable: the ladder always holds the chosen model")
