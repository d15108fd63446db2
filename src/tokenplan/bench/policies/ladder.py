"""Ladder policies: pick a starting model per prompt, climb on a failed acceptance check.

This is the shape of the product's routing and escalation: the router ranks candidates for a
prompt's capability under a strategy, the executor sends the prompt to the first one, checks
the output (empty, truncated, no answer, code that does not parse) and escalates up the tiers
- never downward - when the check fails.

Round 2 replaces the two stand-ins defined here with the product's code:

* :func:`catalog_ladder` (STAND-IN for ``tokenplan.routing.Router``) orders candidates from the
  catalog's tiers, prices and quality priors;
* :func:`acceptance_check` (STAND-IN for the executor's acceptance checks) reads the response
  with the answer extractors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from tokenplan.bench.answers import answer_kind, extract_answer
from tokenplan.bench.policies.base import Choice, PolicyKind, Query, ask
from tokenplan.catalog import TIER_ORDER, Catalog, Model
from tokenplan.providers.base import ChatModel
from tokenplan.types import ChatResponse

__all__ = [
    "AcceptFn",
    "LadderFn",
    "LadderPolicy",
    "LadderStrategy",
    "acceptance_check",
    "catalog_ladder",
]

#: Maps a query to the catalog ids to try, in order.
LadderFn = Callable[[Query], Sequence[str]]
#: Whether a response is acceptable for a query.
AcceptFn = Callable[[Query, ChatResponse], bool]
LadderStrategy = Literal["cheapest", "balanced", "best_quality", "escalation"]


def acceptance_check(query: Query, response: ChatResponse) -> bool:
    """STAND-IN acceptance check: non-empty, not truncated, and an answer of the right shape.

    Multiple choice: an option letter can be read. Math: a number can be read and the worked
    steps' arithmetic is right. Code: Python that parses and defines a function (any code
    block when the prompt asks for another language). Prose: any non-empty text.
    """
    if response.finish_reason == "length" or not response.text.strip():
        return False
    kind = answer_kind(query.text, query.capability)
    answer = extract_answer(kind, query.text, response.text)
    if kind == "choice":
        return answer.value is not None
    if kind == "number":
        return answer.value is not None and answer.check is not False
    if kind == "code":
        return bool(answer.check)
    return True


class LadderPolicy:
    """Try the ladder's models in order; stop at the first acceptable response (or the last)."""

    def __init__(
        self,
        name: str,
        ladder: LadderFn,
        *,
        accept: AcceptFn | None = acceptance_check,
        kind: PolicyKind = "router",
    ) -> None:
        self.name = name
        self.ladder = ladder
        self.accept = accept
        self.kind: PolicyKind = kind

    async def run(self, query: Query, model: ChatModel) -> Choice:
        ids = list(self.ladder(query))
        if not ids:
            raise ValueError(f"{self.name}: empty ladder for capability {query.capability!r}")
        for i, model_id in enumerate(ids):
            response = await ask(model, model_id, query)
            last = i == len(ids) - 1
            if last or self.accept is None or self.accept(query, response):
                return Choice(model_id, response.text, escalations=i)
        raise AssertionError("unreachable")  # pragma: no cover


def _cost(m: Model) -> float:
    mean = m.extra.get("mean_cost_usd")
    if isinstance(mean, (int, float)):
        return float(mean)
    return m.input_per_mtok + m.output_per_mtok


def _best(models: Sequence[Model], capability: str) -> Model:
    return max(models, key=lambda m: (m.prior(capability), -_cost(m), m.id))


def catalog_ladder(catalog: Catalog, strategy: LadderStrategy) -> LadderFn:
    """STAND-IN router: a ladder per prompt capability from tiers, prices and priors.

    * ``cheapest``: the cheapest capable model, then the best of each higher tier;
    * ``balanced``: the best non-flagship model, then the best flagship;
    * ``best_quality``: the model with the highest prior;
    * ``escalation``: the best model of each tier, budget -> mid -> flagship (the product's
      escalation cascade).
    """

    def ladder(query: Query) -> list[str]:
        capable = [m for m in catalog if m.can(query.capability) and m.tier in TIER_ORDER]
        if not capable:
            return []
        by_tier = {t: [m for m in capable if m.tier == t] for t in TIER_ORDER}
        best_of = {t: _best(ms, query.capability) for t, ms in by_tier.items() if ms}
        if strategy == "best_quality":
            return [_best(capable, query.capability).id]
        if strategy == "escalation":
            return [best_of[t].id for t in TIER_ORDER if t in best_of]
        if strategy == "cheapest":
            start = min(capable, key=lambda m: (_cost(m), m.id))
        else:
            lower = [m for m in capable if m.tier != "flagship"] or capable
            start = _best(lower, query.capability)
        above = TIER_ORDER[TIER_ORDER.index(start.tier) + 1 :]
        return [start.id, *(best_of[t].id for t in above if t in best_of)]

    return ladder
