"""The policy interface of the benchmark.

A routing policy answers one :class:`Query` by calling models through a
:class:`~tokenplan.providers.base.ChatModel` and returns a :class:`Choice`: which model's
response is its final answer, and that response. It sees the prompt text, the prompt's
capability tag (the classifier's job) and the responses it asks for - nothing else. In
particular it never sees a grade: graders read those from the dataset, after the fact.

The model handed to a policy is the product's metering layer, so every call, its cost and its
outcome are measured by the product, not reported by the policy. The exceptions to "prompts
and responses only" are marked ``oracle`` and are upper bounds:
:class:`~tokenplan.bench.policies.simple.OraclePolicy` reads the grades to pick the cheapest
correct model, and :class:`~tokenplan.bench.policies.simple.UpperBound` wraps policies fitted on
the grades they are measured on.

The product's own routing and escalation are policies too
(:mod:`tokenplan.bench.policies.product`): the router picks from the prompt text, the
escalation reads the responses with the product's acceptance checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from tokenplan.providers.base import ChatModel
from tokenplan.types import ChatRequest, ChatResponse

__all__ = ["Choice", "Policy", "PolicyKind", "Query", "ask"]

#: ``single``: one fixed model. ``router``: picks a model per prompt (may escalate on an
#: acceptance check). ``cascade``: asks cheap models first and escalates on their responses.
#: ``baseline``: a reference curve (random mixing). ``oracle``: reads grades; upper bound only.
PolicyKind = Literal["single", "router", "cascade", "baseline", "oracle"]


@dataclass(frozen=True, slots=True)
class Query:
    """One prompt as a policy sees it: an opaque id, the text, and its capability tag.

    ``max_tokens`` (optional) caps each call's output; live runs set it so every call's worst
    case can be reserved against the budget.
    """

    id: str
    text: str
    capability: str
    max_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    """A policy's answer: the catalog id whose response is final, and that response's text.

    ``escalations`` counts moves to a stronger model after a check or a disagreement.
    """

    model: str
    text: str
    escalations: int = 0


@runtime_checkable
class Policy(Protocol):
    """Something that answers a :class:`Query` through a :class:`ChatModel`."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> PolicyKind: ...

    async def run(self, query: Query, model: ChatModel) -> Choice: ...


async def ask(model: ChatModel, model_id: str, query: Query) -> ChatResponse:
    """Send ``query``'s prompt, verbatim and alone, to ``model_id``."""
    request = ChatRequest.from_prompt(query.text, model=model_id, max_tokens=query.max_tokens)
    return await model.complete(request)
