"""Fitting agreement cascades on the train part of a dataset.

For each prompt group (:func:`~tokenplan.bench.policies.cascade.group_key`) the fit considers
the cheap models (mean train cost at most ``max_cost_ratio`` of the strong model's, responses
recorded), keeps the ``max_candidates`` with the best train score, and for every ordering of
``max_panel`` of them builds the tree of agreement states the train prompts pass through. For
a cost weight ``λ`` (accuracy points per USD per prompt), backward induction picks in every
state the action with the best value::

    accept:    P(representative correct | state)
    escalate:  P(strong correct | state)                  - λ · E[strong cost | state]
    ask next:  E[value of the next state | state]         - λ · E[next model's cost | state]

Probabilities are train frequencies shrunk toward the parent state's estimate (``smoothing``
pseudo-counts), so a rare state does not decide on two or three prompts. The panel order with
the best root value wins. Larger ``λ`` means cheaper plans; :meth:`CascadeFit.for_budget`
finds the smallest ``λ`` whose plan costs at most a given fraction of the strong model's
train cost. Only the dataset passed in (the train part) is ever read.
"""

from __future__ import annotations

import math

from tokenplan.bench.answers import Answer, answer_kind, extract_answer
from tokenplan.bench.dataset import OutcomeDataset
from tokenplan.bench.policies.base import Policy, Query
from tokenplan.bench.policies.cascade import (
    Action,
    AgreementCascade,
    CascadePlan,
    coarse_key,
    group_key,
)
from tokenplan.bench.policies.simple import MixturePolicy
from tokenplan.bench.policies.tree import GroupFit, PlanEstimate
from tokenplan.catalog import Catalog

__all__ = ["CascadeFit"]

_Prefix = tuple[str, ...]


class CascadeFit:
    """Everything needed to produce fitted :class:`AgreementCascade` policies for a dataset.

    Plans are fitted per group (``capability/kind/options``) when the group has at least
    ``min_group`` train prompts, and per coarse group (``capability/kind/*``, all option
    counts) as the fallback for smaller or unseen groups.
    """

    def __init__(
        self,
        train: OutcomeDataset,
        catalog: Catalog,
        *,
        strong: str,
        max_panel: int = 4,
        max_candidates: int = 6,
        max_cost_ratio: float = 0.25,
        smoothing: float = 4.0,
        min_group: int = 40,
    ) -> None:
        if strong not in train.models:
            raise KeyError(f"strong model {strong!r} is not in {train.name}")
        self.train = train
        self.strong = strong
        self.strong_cost = train.mean_cost(strong)
        self._queries = [Query(s.id, s.text, s.capability) for s in train.samples]
        fine: dict[str, list[int]] = {}
        for i, q in enumerate(self._queries):
            fine.setdefault(group_key(q), []).append(i)
        coarse: dict[str, list[int]] = {}
        for key, rows in fine.items():
            coarse.setdefault(coarse_key(key), []).extend(rows)
        self._catalog = catalog
        self._usable = [m for m in train.models if m != strong and train.has_responses(m)]
        self._scores = {m: [o.score for o in train.column(m)] for m in train.models}
        self._costs = {m: [o.cost_usd for o in train.column(m)] for m in train.models}
        self._answer_cache: dict[str, list[Answer]] = {}
        options = (max_panel, max_candidates, max_cost_ratio, smoothing)
        self.groups: dict[str, GroupFit] = {}
        for key, rows in sorted(fine.items()):
            if len(rows) >= min_group and (group := self._group(key, rows, *options)):
                self.groups[key] = group
        for key, rows in sorted(coarse.items()):
            members = [f for f in fine if coarse_key(f) == key]
            if len(members) == 1 and members[0] in self.groups:
                self.groups[key] = self.groups[members[0]]  # same prompts: share the fit
            elif group := self._group(key, sorted(rows), *options):
                self.groups[key] = group
        # Which plan each train prompt will use at run time (None: straight to strong).
        self._route: dict[str | None, list[int]] = {}
        for key, rows in fine.items():
            target = key if key in self.groups else coarse_key(key)
            self._route.setdefault(target if target in self.groups else None, []).extend(rows)

    def _group(
        self,
        key: str,
        rows: list[int],
        max_panel: int,
        max_candidates: int,
        max_cost_ratio: float,
        smoothing: float,
    ) -> GroupFit | None:
        scores, costs = self._scores, self._costs
        capability = key.split("/", 1)[0]
        catalog_ranks = {m: self._rank(m, capability) for m in self._usable}
        strong_mean = sum(costs[self.strong][r] for r in rows) / len(rows)
        cheap = [
            m
            for m in self._usable
            if sum(costs[m][r] for r in rows) / len(rows) <= max_cost_ratio * strong_mean
        ]
        cheap.sort(key=lambda m: (-sum(scores[m][r] for r in rows), m))
        candidates = cheap[:max_candidates]
        if not candidates:
            return None
        return GroupFit(
            key,
            rows,
            candidates=candidates,
            strong=self.strong,
            answers={m: self._answers(m) for m in candidates},
            scores=scores,
            costs=costs,
            ranks=catalog_ranks,
            max_panel=max_panel,
            smoothing=smoothing,
        )

    def _rank(self, model: str, capability: str) -> float:
        return self._catalog.get(self.train.model_id(model)).prior(capability)

    def _answers(self, model: str) -> list[Answer]:
        cached = self._answer_cache.get(model)
        if cached is None:
            column = self.train.column(model)
            cached = [
                extract_answer(answer_kind(q.text, q.capability), q.text, column[i].response or "")
                for i, q in enumerate(self._queries)
            ]
            self._answer_cache[model] = cached
        return cached

    @property
    def usable(self) -> bool:
        """Whether any group has a cheap panel (no responses recorded -> no cascade)."""
        return bool(self.groups)

    def estimate(self, lam: float) -> tuple[dict[str, CascadePlan], PlanEstimate]:
        """Plans for every group at ``lam`` and their pooled train estimate."""
        plans: dict[str, CascadePlan] = {}
        solved: dict[str, tuple[_Prefix, dict[str, Action], Action]] = {}
        by_fit: dict[int, tuple[_Prefix, PlanEstimate, dict[str, Action]]] = {}
        for key, group in self.groups.items():
            if id(group) not in by_fit:
                by_fit[id(group)] = group.best(lam)
            order, est, actions = by_fit[id(group)]
            unseen: Action = "escalate" if "escalate" in actions.values() else "accept"
            solved[key] = (order, actions, unseen)
            plans[key] = CascadePlan(
                panel=tuple(self.train.model_id(m) for m in order),
                ranks=tuple(group.ranks[m] for m in order),
                actions=actions,
                unseen=unseen,
                stats={
                    "train_prompts": group.n,
                    "train_accuracy": round(est.accuracy, 4),
                    "train_cost_usd": est.cost_usd,
                    "train_strong_share": round(est.strong_share, 4),
                },
            )
        acc = cost = share = 0.0
        for target, rows in self._route.items():
            if target is None:
                for r in rows:
                    acc += self._scores[self.strong][r]
                    cost += self._costs[self.strong][r]
                share += len(rows)
                continue
            order, actions, unseen = solved[target]
            est = self.groups[target].simulate(order, actions, rows, unseen=unseen)
            acc += est.accuracy * len(rows)
            cost += est.cost_usd * len(rows)
            share += est.strong_share * len(rows)
        n = max(len(self.train), 1)
        return plans, PlanEstimate(float("nan"), acc / n, cost / n, share / n)

    def policy(self, lam: float, *, name: str) -> AgreementCascade:
        """The fitted cascade at cost weight ``lam``."""
        plans, total = self.estimate(lam)
        return AgreementCascade(
            name,
            strong=self.train.model_id(self.strong),
            plans=plans,
            info={
                "lambda": lam,
                "fitted_on": self.train.name,
                "train_prompts": len(self.train),
                "train_accuracy": round(total.accuracy, 4),
                "train_cost_fraction_of_strong": round(total.cost_usd / self.strong_cost, 4)
                if self.strong_cost > 0
                else None,
                "train_strong_share": round(total.strong_share, 4),
            },
        )

    def budget_bracket(self, fraction: float, *, iterations: int = 22) -> tuple[float, float]:
        """``(λ_cheap, λ_rich)``: the plans either side of ``fraction`` of the strong model's cost.

        ``λ_cheap`` is the smallest cost weight whose train cost is within the budget;
        ``λ_rich`` the largest found whose plan costs more (equal to ``λ_cheap`` when even the
        richest plan fits). Plan cost falls in steps as ``λ`` grows; a bisection on ``log10 λ``
        finds the step.
        """
        target = fraction * self.strong_cost
        lo, hi = -2.0, 8.0
        if self.estimate(math.pow(10.0, lo))[1].cost_usd <= target:
            return math.pow(10.0, lo), math.pow(10.0, lo)
        for _ in range(iterations):
            mid = (lo + hi) / 2
            if self.estimate(math.pow(10.0, mid))[1].cost_usd <= target:
                hi = mid
            else:
                lo = mid
        return math.pow(10.0, hi), math.pow(10.0, lo)

    def for_budget(self, fraction: float, *, name: str | None = None, seed: int = 0) -> Policy:
        """The best train operating point costing ``fraction`` of the strong model's train cost.

        Plan costs move in steps, so the two plans either side of the budget are mixed: a
        seeded hash of the query id sends the share ``p`` of queries that makes the expected
        train cost equal the budget to the richer plan. Without a richer plan (or with an
        exact fit) it is the single cheaper plan.
        """
        name = name or f"agree-cascade@{fraction:.0%}"
        lam_cheap, lam_rich = self.budget_bracket(fraction)
        cheap = self.policy(lam_cheap, name=name)
        cheap.info["budget_fraction"] = fraction
        target = fraction * self.strong_cost
        cost_cheap = self.estimate(lam_cheap)[1].cost_usd
        cost_rich = self.estimate(lam_rich)[1].cost_usd
        if lam_rich == lam_cheap or cost_rich <= cost_cheap or cost_cheap >= target:
            return cheap
        share = (target - cost_cheap) / (cost_rich - cost_cheap)
        rich = self.policy(lam_rich, name=f"{name} (rich plan)")
        return MixturePolicy(
            name,
            base=cheap,
            other=rich,
            other_share=min(1.0, max(0.0, share)),
            seed=seed,
            info={"budget_fraction": fraction, "train_cost_usd": target},
        )

    def lambda_grid(self, points: int = 13) -> list[float]:
        """Cost weights spanning "escalate whenever it helps" to "never escalate" (log spaced)."""
        scale = 1.0 / max(self.strong_cost, 1e-9)
        low, high = math.log10(scale) - 2.0, math.log10(scale) + 2.5
        step = (high - low) / max(points - 1, 1)
        return [math.pow(10.0, low + i * step) for i in range(points)]
