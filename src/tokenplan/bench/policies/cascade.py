"""Agreement cascades: ask cheap models first, escalate on what their responses say.

A cascade asks a *panel* of cheap models one at a time. After each response it reads the
answers so far (letters, numbers, checks - :mod:`tokenplan.bench.answers`) and either accepts
the panel's answer, asks the next panel model, or escalates to the strong model. Nothing but
the prompt and the responses goes into that decision.

The situation after ``k`` responses is a *state*: the answers' agreement pattern and check
results, independent of which letter or number was said. ``a.a.b`` means the first two agree
and the third differs; ``x`` is a response with no readable answer; a ``+``/``-`` suffix is a
passed/failed check (arithmetic steps for math, "parses and defines a function" for code)::

    ""        nothing asked yet (the root)
    "a"       one answer
    "a.a"     two agreeing answers        "a.b"   two different answers
    "x+"      code that parses            "a-"    a number whose working is wrong

:class:`AgreementCascade` maps states to actions with a table, one per prompt *group* (the
capability, answer kind and number of options, all read from the query). The table is fitted
on train data by :mod:`tokenplan.bench.policies.fit`; :class:`UnanimousCascade` is the simple
hand-written rule (accept when the first ``k`` agree) that needs no fitting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tokenplan.bench.answers import Answer, answer_kind, choice_options, extract_answer
from tokenplan.bench.policies.base import Choice, PolicyKind, Query, ask
from tokenplan.providers.base import ChatModel

__all__ = [
    "Action",
    "AgreementCascade",
    "CascadePlan",
    "UnanimousCascade",
    "coarse_key",
    "encode_state",
    "group_key",
    "representative",
]

Action = Literal["ask", "accept", "escalate"]


def group_key(query: Query) -> str:
    """``capability/kind/options`` of a query, e.g. ``reasoning/choice/4`` or ``code/code/0``."""
    kind = answer_kind(query.text, query.capability)
    n_options = len(choice_options(query.text)) if kind == "choice" else 0
    return f"{query.capability}/{kind}/{n_options}"


def coarse_key(key: str) -> str:
    """The fallback group of a group key: any number of options (``reasoning/choice/*``)."""
    capability, kind, _ = key.split("/", 2)
    return f"{capability}/{kind}/*"


def encode_state(answers: Sequence[Answer]) -> str:
    """The agreement pattern of ``answers`` (see the module docstring)."""
    labels: dict[str, str] = {}
    tokens = []
    for a in answers:
        label = "x" if a.value is None else labels.setdefault(a.value, chr(97 + len(labels)))
        suffix = "" if a.check is None else ("+" if a.check else "-")
        tokens.append(label + suffix)
    return ".".join(tokens)


def representative(answers: Sequence[Answer], ranks: Sequence[float]) -> int:
    """Index of the response a cascade returns when it accepts.

    The largest group of agreeing answers wins (ties: the group holding the best-ranked
    model); within it, the best-ranked model. With no readable answers, the best-ranked
    response whose check passed, else the best-ranked response. ``ranks`` are the panel
    models' quality priors.
    """
    groups: dict[str, list[int]] = {}
    for i, a in enumerate(answers):
        if a.value is not None:
            groups.setdefault(a.value, []).append(i)
    if groups:
        members = max(groups.values(), key=lambda g: (len(g), max(ranks[i] for i in g)))
    else:
        members = [i for i, a in enumerate(answers) if a.check] or list(range(len(answers)))
    return max(members, key=lambda i: (ranks[i], -i))


@dataclass(frozen=True, slots=True)
class CascadePlan:
    """The fitted decision table of one prompt group.

    ``panel`` are the cheap models' catalog ids in asking order, ``ranks`` their priors (used
    to pick the representative), ``actions`` the state -> action table. ``unseen`` is the
    action for a state the table lacks.
    """

    panel: tuple[str, ...]
    ranks: tuple[float, ...]
    actions: Mapping[str, Action]
    unseen: Action = "escalate"
    stats: Mapping[str, Any] = field(default_factory=dict)

    def action(self, state: str, asked: int) -> Action:
        act = self.actions.get(state, self.unseen)
        if act == "ask" and asked >= len(self.panel):
            return "escalate"
        if act == "accept" and asked == 0:
            return "ask" if self.panel else "escalate"
        return act

    def to_dict(self) -> dict[str, Any]:
        return {
            "panel": list(self.panel),
            "ranks": list(self.ranks),
            "actions": dict(sorted(self.actions.items())),
            "unseen": self.unseen,
            "stats": dict(self.stats),
        }


async def _run_panel(
    plan: CascadePlan, strong: str, query: Query, model: ChatModel, kind: Any
) -> Choice:
    answers: list[Answer] = []
    texts: list[str] = []
    while True:
        act = plan.action(encode_state(answers), len(answers))
        if act == "ask":
            response = await ask(model, plan.panel[len(answers)], query)
            texts.append(response.text)
            answers.append(extract_answer(kind, query.text, response.text))
            continue
        if act == "accept":
            best = representative(answers, plan.ranks[: len(answers)])
            return Choice(plan.panel[best], texts[best])
        response = await ask(model, strong, query)
        return Choice(strong, response.text, escalations=1)


class AgreementCascade:
    """Table-driven agreement cascade (see the module docstring).

    A query uses the plan of its group, else of its coarse group (:func:`coarse_key`), else
    goes straight to the strong model.
    """

    kind: PolicyKind = "cascade"

    def __init__(
        self,
        name: str,
        *,
        strong: str,
        plans: Mapping[str, CascadePlan],
        info: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.strong = strong
        self.plans = dict(plans)
        self.info = dict(info or {})

    async def run(self, query: Query, model: ChatModel) -> Choice:
        key = group_key(query)
        plan = self.plans.get(key) or self.plans.get(coarse_key(key))
        if plan is None:
            response = await ask(model, self.strong, query)
            return Choice(self.strong, response.text, escalations=1)
        kind = answer_kind(query.text, query.capability)
        return await _run_panel(plan, self.strong, query, model, kind)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "strong": self.strong,
            "info": self.info,
            "plans": {g: p.to_dict() for g, p in sorted(self.plans.items())},
        }


class UnanimousCascade:
    """Ask ``panel`` in order; accept when the first ``agree`` answers are equal, else escalate.

    For answers with no comparable value (code, prose) the first response is accepted when its
    check passes. Needs no fitting, so it also runs on the live suite.
    """

    kind: PolicyKind = "cascade"

    def __init__(
        self,
        name: str,
        *,
        panel: Sequence[str],
        strong: str,
        agree: int = 2,
        ranks: Sequence[float] | None = None,
    ) -> None:
        if not 1 <= agree <= len(panel):
            raise ValueError("agree must be between 1 and the panel size")
        self.name = name
        self.panel = tuple(panel)
        self.strong = strong
        self.agree = agree
        self.ranks = tuple(ranks) if ranks is not None else tuple(range(len(panel), 0, -1))

    async def run(self, query: Query, model: ChatModel) -> Choice:
        kind = answer_kind(query.text, query.capability)
        answers: list[Answer] = []
        texts: list[str] = []
        comparable = kind in ("choice", "number", "text")
        needed = self.agree if comparable else 1
        for model_id in self.panel[:needed]:
            response = await ask(model, model_id, query)
            texts.append(response.text)
            answers.append(extract_answer(kind, query.text, response.text))
            last = answers[-1]
            ok = (
                last.value is not None and last.check is not False
                if comparable
                else bool(last.check)
            )
            if not ok or (comparable and answers[-1].value != answers[0].value):
                break
        else:
            best = representative(answers, self.ranks[: len(answers)])
            return Choice(self.panel[best], texts[best])
        response = await ask(model, self.strong, query)
        return Choice(self.strong, response.text, escalations=1)
