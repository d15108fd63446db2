"""Reference policies: one fixed model, random strong/weak mixing, and the oracle."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from tokenplan.bench.dataset import OutcomeDataset
from tokenplan.bench.policies.base import Choice, Policy, PolicyKind, Query, ask
from tokenplan.providers.base import ChatModel

__all__ = [
    "MixturePolicy",
    "OraclePolicy",
    "RandomMixPolicy",
    "SingleModelPolicy",
    "UpperBound",
    "share_hash",
]


def share_hash(seed: int, query_id: str, *, salt: str = "mix") -> float:
    """A deterministic number in [0, 1) for a query id (stable across runs and machines)."""
    digest = hashlib.sha256(f"{salt}\x00{seed}\x00{query_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


class SingleModelPolicy:
    """Always the same model."""

    kind: PolicyKind = "single"

    def __init__(self, model_id: str, *, name: str | None = None) -> None:
        self.model_id = model_id
        self.name = name or model_id

    async def run(self, query: Query, model: ChatModel) -> Choice:
        response = await ask(model, self.model_id, query)
        return Choice(self.model_id, response.text)


class RandomMixPolicy:
    """Sends a fixed share of prompts (a seeded hash of the prompt id) to the strong model.

    RouteLLM's ``random`` baseline: its curve is the straight line between the two models, so
    its APGR is about 0.5. Any router worth using must beat it.
    """

    kind: PolicyKind = "baseline"

    def __init__(
        self, *, weak: str, strong: str, strong_share: float, seed: int = 0, name: str | None = None
    ) -> None:
        if not 0.0 <= strong_share <= 1.0:
            raise ValueError("strong_share must be in [0, 1]")
        self.weak, self.strong, self.strong_share, self.seed = weak, strong, strong_share, seed
        self.name = name or f"random-mix@{strong_share:.0%}"

    def _goes_strong(self, query_id: str) -> bool:
        return share_hash(self.seed, query_id) < self.strong_share

    async def run(self, query: Query, model: ChatModel) -> Choice:
        target = self.strong if self._goes_strong(query.id) else self.weak
        response = await ask(model, target, query)
        return Choice(target, response.text, escalations=int(target == self.strong))


class OraclePolicy:
    """UPPER BOUND ONLY: reads the grades and picks the best-scoring model, cheapest on ties.

    Every prompt costs one call to the chosen model. No real router can do this; it shows how
    much room the data leaves.
    """

    kind: PolicyKind = "oracle"

    def __init__(
        self, labels: OutcomeDataset, *, models: Sequence[str] | None = None, name: str = "oracle"
    ) -> None:
        self.labels = labels
        self.models = tuple(models or labels.models)
        self.name = name

    def pick(self, query_id: str) -> str:
        """Dataset model name of the best-scoring (then cheapest) model on ``query_id``."""
        outcomes = {m: self.labels.outcome(query_id, m) for m in self.models}
        return min(self.models, key=lambda m: (-outcomes[m].score, outcomes[m].cost_usd, m))

    async def run(self, query: Query, model: ChatModel) -> Choice:
        target = self.labels.model_id(self.pick(query.id))
        response = await ask(model, target, query)
        return Choice(target, response.text)


class UpperBound:
    """A policy that was fitted on the grades it is measured on, marked ``oracle``.

    Runs ``policy`` unchanged; only its name and kind say that its figures are an upper bound,
    not something a router could reach.
    """

    kind: PolicyKind = "oracle"

    def __init__(self, policy: Policy, *, name: str) -> None:
        self.policy = policy
        self.name = name

    async def run(self, query: Query, model: ChatModel) -> Choice:
        return await self.policy.run(query, model)


class MixturePolicy:
    """Runs ``other`` on a fixed share of queries (a seeded hash of the id), ``base`` on the rest.

    Mixing two operating points reaches every point between them in expectation; fitted
    cascades use it to spend exactly the budget they were fitted for.
    """

    def __init__(
        self,
        name: str,
        *,
        base: Policy,
        other: Policy,
        other_share: float,
        seed: int = 0,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        if not 0.0 <= other_share <= 1.0:
            raise ValueError("other_share must be in [0, 1]")
        self.name = name
        self.base, self.other, self.other_share, self.seed = base, other, other_share, seed
        self.kind: PolicyKind = base.kind
        self.info = dict(info or {})

    async def run(self, query: Query, model: ChatModel) -> Choice:
        uses_other = share_hash(self.seed, query.id, salt="mixture") < self.other_share
        return await (self.other if uses_other else self.base).run(query, model)

    def to_dict(self) -> dict[str, Any]:
        def describe(p: Policy) -> Any:
            to_dict = getattr(p, "to_dict", None)
            return to_dict() if callable(to_dict) else p.name

        return {
            "name": self.name,
            "mixture": {"other_share": self.other_share, "seed": self.seed},
            "info": self.info,
            "base": describe(self.base),
            "other": describe(self.other),
        }
