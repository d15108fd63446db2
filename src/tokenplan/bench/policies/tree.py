"""Agreement-state trees of one prompt group, and backward induction over them.

For every ordering of up to ``max_panel`` candidate cheap models, :class:`GroupFit` records
the states the train prompts pass through as the models answer one by one (see
:func:`~tokenplan.bench.policies.cascade.encode_state`), how often each state's representative
answer is right, how the strong model does there, and what each next call costs.
:meth:`GroupFit.best` then picks, for a cost weight ``λ``, the order and the state -> action
table with the best value (see :mod:`tokenplan.bench.policies.fit`).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from tokenplan.bench.answers import Answer
from tokenplan.bench.policies.cascade import Action, encode_state, representative

__all__ = ["GroupFit", "PlanEstimate"]

_Prefix = tuple[str, ...]


@dataclass(slots=True)
class _Stat:
    n: int = 0
    acc: float = 0.0
    strong: float = 0.0
    strong_cost: float = 0.0


@dataclass(slots=True)
class _Edge:
    cost: float = 0.0
    children: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class PlanEstimate:
    """A plan's value and its empirical train accuracy, cost per prompt and strong-call share."""

    value: float
    accuracy: float
    cost_usd: float
    strong_share: float


class GroupFit:
    """The state trees of one prompt group for every candidate panel order."""

    def __init__(
        self,
        key: str,
        rows: Sequence[int],
        *,
        candidates: Sequence[str],
        strong: str,
        answers: dict[str, list[Answer]],
        scores: dict[str, list[float]],
        costs: dict[str, list[float]],
        ranks: dict[str, float],
        max_panel: int,
        smoothing: float,
    ) -> None:
        self.key = key
        self.rows = tuple(rows)
        self.n = len(rows)
        self.candidates = tuple(candidates)
        self.ranks = ranks
        self.strong = strong
        self._answers, self._scores, self._costs = answers, scores, costs
        self.smoothing = smoothing
        self.depth = min(max_panel, len(self.candidates))
        self.nodes: dict[_Prefix, dict[str, _Stat]] = {}
        self.edges: dict[tuple[_Prefix, str], dict[str, _Edge]] = {}
        root = _Stat(n=self.n)
        for r in rows:
            root.strong += scores[strong][r]
            root.strong_cost += costs[strong][r]
        self.nodes[()] = {"": root}
        self._grow(
            (), list(rows), [""] * len(rows), [[] for _ in rows], strong, answers, scores, costs
        )

    def _grow(
        self,
        prefix: _Prefix,
        rows: list[int],
        states: list[str],
        said: list[list[Answer]],
        strong: str,
        answers: dict[str, list[Answer]],
        scores: dict[str, list[float]],
        costs: dict[str, list[float]],
    ) -> None:
        if len(prefix) >= self.depth:
            return
        for m in self.candidates:
            if m in prefix:
                continue
            panel = (*prefix, m)
            ranks = [self.ranks[x] for x in panel]
            stats: dict[str, _Stat] = {}
            edges: dict[str, _Edge] = {}
            next_states: list[str] = []
            next_said: list[list[Answer]] = []
            for i, r in enumerate(rows):
                seq = [*said[i], answers[m][r]]
                state = encode_state(seq)
                rep = panel[representative(seq, ranks)]
                st = stats.setdefault(state, _Stat())
                st.n += 1
                st.acc += scores[rep][r]
                st.strong += scores[strong][r]
                st.strong_cost += costs[strong][r]
                edge = edges.setdefault(states[i], _Edge())
                edge.cost += costs[m][r]
                edge.children[state] += 1
                next_states.append(state)
                next_said.append(seq)
            self.nodes[panel] = stats
            self.edges[(prefix, m)] = edges
            self._grow(panel, rows, next_states, next_said, strong, answers, scores, costs)

    def simulate(
        self,
        order: _Prefix,
        actions: dict[str, Action],
        rows: Sequence[int],
        *,
        unseen: Action = "escalate",
    ) -> PlanEstimate:
        """Run a plan over train ``rows`` exactly as the policy would."""
        acc = cost = share = 0.0
        ranks = [self.ranks[m] for m in order]
        for r in rows:
            said: list[Answer] = []
            while True:
                state = encode_state(said)
                act = actions.get(state, unseen)
                if act == "ask" and len(said) < len(order):
                    m = order[len(said)]
                    cost += self._costs[m][r]
                    said.append(self._answers[m][r])
                    continue
                if act == "accept" and said:
                    acc += self._scores[order[representative(said, ranks)]][r]
                else:
                    acc += self._scores[self.strong][r]
                    cost += self._costs[self.strong][r]
                    share += 1.0
                break
        n = max(len(rows), 1)
        return PlanEstimate(float("nan"), acc / n, cost / n, share / n)

    def orders(self) -> list[_Prefix]:
        """Panel orders worth solving: all of maximal length (they dominate their prefixes)."""
        return list(itertools.permutations(self.candidates, self.depth))

    def solve(self, order: _Prefix, lam: float) -> tuple[PlanEstimate, dict[str, Action]]:
        """Backward induction over ``order``'s state tree at cost weight ``lam``."""
        actions: dict[str, Action] = {}
        root = self.nodes[()][""]
        pooled = 0.0
        if order:
            first = self.nodes[order[:1]]
            pooled = sum(s.acc for s in first.values()) / max(root.n, 1)
        estimate = self._value(order, 0, "", lam, pooled, root.strong / max(root.n, 1), actions)
        return estimate, actions

    def _value(
        self,
        order: _Prefix,
        depth: int,
        state: str,
        lam: float,
        prior_acc: float,
        prior_strong: float,
        actions: dict[str, Action],
    ) -> PlanEstimate:
        st = self.nodes[order[:depth]][state]
        k = self.smoothing
        n = st.n
        est_strong = st.strong / n if depth == 0 else (st.strong + k * prior_strong) / (n + k)
        strong_cost = st.strong_cost / n
        best: tuple[Action, PlanEstimate] = (
            "escalate",
            PlanEstimate(est_strong - lam * strong_cost, st.strong / n, strong_cost, 1.0),
        )
        est_acc = prior_acc
        if depth > 0:
            est_acc = (st.acc + k * prior_acc) / (n + k)
            accept = PlanEstimate(est_acc, st.acc / n, 0.0, 0.0)
            if accept.value >= best[1].value - 1e-12:
                best = ("accept", accept)
        if depth < len(order):
            edge = self.edges[(order[:depth], order[depth])][state]
            value = -lam * edge.cost / n
            acc, cost, share = 0.0, edge.cost / n, 0.0
            for child, count in edge.children.items():
                sub = self._value(order, depth + 1, child, lam, est_acc, est_strong, actions)
                p = count / n
                value += p * sub.value
                acc += p * sub.accuracy
                cost += p * sub.cost_usd
                share += p * sub.strong_share
            if value > best[1].value + 1e-12:
                best = ("ask", PlanEstimate(value, acc, cost, share))
        actions[state] = best[0]
        return best[1]

    def best(self, lam: float) -> tuple[_Prefix, PlanEstimate, dict[str, Action]]:
        """The best order and its table at ``lam`` (the empty order: always escalate)."""
        root = self.nodes[()][""]
        strong_only = PlanEstimate(
            root.strong / root.n - lam * root.strong_cost / root.n,
            root.strong / root.n,
            root.strong_cost / root.n,
            1.0,
        )
        chosen: tuple[_Prefix, PlanEstimate, dict[str, Action]] = (
            (),
            strong_only,
            {"": "escalate"},
        )
        for order in self.orders():
            estimate, actions = self.solve(order, lam)
            if estimate.value > chosen[1].value + 1e-12:
                chosen = (order, estimate, actions)
        return chosen
