"""What the simulator says: pick the answer's form from the request, write it, or spoil it.

Forms, first match wins:

* ``plan``   - a planner request (schema named ``tokenplan_plan``, or ``<goal>`` tags without a
  schema): a plan derived from the goal, pure JSON;
* ``schema`` - any other ``response_format``: an instance of the schema, pure JSON;
* ``json``   - ``json_mode``, or a prompt asking for JSON unless the capability is ``code``:
  a JSON object with a ``note`` label;
* ``code``   - a coding request: a labelled answer with one fenced code block;
* ``text``   - everything else: labelled markdown prose (with a worked result for arithmetic).

Spoiled answers are what real models get wrong: empty output, a runaway answer cut off by the
length limit, malformed JSON, Python that does not parse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tokenplan.catalog.model import Model
from tokenplan.providers.sim import writer
from tokenplan.providers.sim.plan import PLAN_SCHEMA_NAME, build_plan
from tokenplan.providers.sim.prompt import (
    code_language,
    first_sentence,
    keywords,
    length_hint,
    plan_ask,
    task_text,
    wants_json,
)
from tokenplan.providers.sim.prose import continuation, prose_answer
from tokenplan.providers.sim.rng import Rng
from tokenplan.providers.sim.schema import SchemaContext, instance
from tokenplan.tokens import estimate_tokens
from tokenplan.types import ChatRequest

__all__ = ["Draft", "Form", "InvalidKind", "compose", "invalid_kind", "runaway", "spoil"]

Form = Literal["plan", "schema", "json", "code", "text"]
InvalidKind = Literal["empty", "length", "malformed_json", "broken_code"]

_DEFAULT_MAX_STEPS = 12


@dataclass(frozen=True, slots=True)
class Draft:
    """A finished answer before limits are applied: its text, form and code language."""

    text: str
    form: Form
    language: str | None = None

    @property
    def is_json(self) -> bool:
        return self.form in ("plan", "schema", "json")


def compose(request: ChatRequest, model: Model, *, capability: str, rng: Rng) -> Draft:
    """The (valid) answer ``model`` gives to ``request``."""
    task = task_text(request)
    ask = plan_ask(request)
    fmt = request.response_format
    if (fmt is not None and fmt.name == PLAN_SCHEMA_NAME) or (ask is not None and fmt is None):
        schema = fmt.json_schema if fmt is not None else {}
        steps_schema = _path(schema, "properties", "steps")
        limit = ask.max_steps if ask is not None else _DEFAULT_MAX_STEPS
        if isinstance(steps_schema.get("maxItems"), int):
            limit = min(limit, steps_schema["maxItems"])
        doc = build_plan(
            ask.goal if ask is not None else task,
            max_steps=limit,
            rng=rng.child("plan"),
            items_schema=_path(steps_schema, "items") or None,
        )
        return Draft(json.dumps(doc, ensure_ascii=False), "plan")
    if fmt is not None:
        context = SchemaContext(
            words=tuple(keywords(task)) or ("result",),
            sentence=first_sentence(task) or "A simulated value",
        )
        value = instance(fmt.json_schema, context=context, rng=rng.child("schema"))
        return Draft(json.dumps(value, ensure_ascii=False), "schema")
    # A coding step whose prompt merely mentions JSON (say, in an earlier step's output) still
    # gets code; otherwise no model could pass its check and escalation would be pointless.
    if request.json_mode or (capability != "code" and wants_json(task)):
        return Draft(writer.json_answer(task, model.id, rng.child("json")), "json")
    if capability == "code":
        language = code_language(task)
        text = writer.code_answer(task, model.id, rng.child("code"), language=language)
        return Draft(text, "code", language)
    worked = writer.arithmetic_answer(task) if capability == "math" else None
    text = prose_answer(
        task,
        writer.marker(model.id),
        rng.child("prose"),
        hint=length_hint(task),
        extra_line=worked or "",
    )
    return Draft(text, "text")


def _path(doc: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    node: Any = doc
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


_KINDS: Mapping[str, tuple[tuple[InvalidKind, int], ...]] = {
    "json": (("empty", 1), ("length", 2), ("malformed_json", 3)),
    "python": (("empty", 1), ("length", 2), ("broken_code", 3)),
    "code": (("empty", 1), ("length", 2)),
    "text": (("empty", 2), ("length", 3)),
}


def invalid_kind(draft: Draft, rng: Rng) -> InvalidKind:
    """How this answer goes wrong, when it does (weighted by what is typical for its form)."""
    if draft.is_json:
        options = _KINDS["json"]
    elif draft.form == "code":
        options = _KINDS["python" if draft.language == "python" else "code"]
    else:
        options = _KINDS["text"]
    pick = rng.random() * sum(w for _, w in options)
    for kind, weight in options:
        pick -= weight
        if pick < 0:
            return kind
    return options[-1][0]


def spoil(draft: Draft, kind: InvalidKind, rng: Rng) -> str:
    """The text of ``draft`` spoiled by ``kind`` (``length`` is done by :func:`runaway`)."""
    if kind == "empty":
        return ""
    if kind == "malformed_json":
        return _malformed_json(draft.text, rng)
    if kind == "broken_code":
        return writer.broken_python(draft.text, rng)
    return draft.text


def _malformed_json(text: str, rng: Rng) -> str:
    candidates = [
        text[:-1] + ",\n" + text[-1:] if text[-1:] in "}]" else text + ",",  # trailing comma
        text[: max(1, (len(text) * 2) // 3)],  # stopped early
        text.replace('"', "'"),  # Python-style quotes
        "Here is the JSON you asked for:\n" + text,  # chatter before it
    ]
    start = rng.randint(0, len(candidates) - 1)
    for i in range(len(candidates)):
        candidate = candidates[(start + i) % len(candidates)]
        try:
            json.loads(candidate)
        except ValueError:
            return candidate
    return "{" + text


def runaway(draft: Draft, *, tokens: int, task: str, rng: Rng) -> str:
    """``draft`` continued past ``tokens`` tokens, the way a model that does not stop goes on
    until the limit: JSON and code repeat themselves, prose keeps adding new paragraphs."""
    text = draft.text
    if draft.is_json or draft.form == "code":
        if draft.is_json:
            stripped = text.rstrip()
            if stripped.endswith("}"):
                head, filler = stripped[:-1] + ', "notes": "', "and further details "
            elif stripped.endswith("]"):
                head, filler = stripped[:-1] + ', "', "and further items "
            else:
                head, filler = stripped.rstrip('"'), " and more"
        else:
            fence = text.rfind("```")
            head = text[:fence] if fence > 0 else text
            filler = "# handle the remaining cases in the same way\n"
        out = head
        while estimate_tokens(out) <= tokens:
            missing = tokens + 1 - estimate_tokens(out)
            out += filler * max(1, (missing * 3) // max(1, len(filler)) + 1)
        return out
    parts = [text.rstrip() + "\n\n"]
    budget = estimate_tokens(parts[0])
    more = continuation(task, rng)
    while True:
        # Token estimates of pieces add up to about the whole; check the whole now and then.
        while budget <= tokens:
            parts.append(next(more))
            budget += estimate_tokens(parts[-1])
        out = "".join(parts)
        if estimate_tokens(out) > tokens:
            return out
        budget = estimate_tokens(out)
