"""The simulated planner: a goal split into a small DAG of steps, per the plan contract.

How a goal becomes steps (all deterministic):

1. sentences (and numbered or bulleted lines) are read in order;
2. inside one, sequencing words (``then``, ``after that``, ``finally`` ...) start a new phase
   that depends on the one before; a sentence that opens with one, or refers back
   (``it``, ``the results``, ``these`` ...), depends on the previous phase too; otherwise it is
   independent and runs in parallel;
3. inside a phase, commas and ``and`` split off parallel parts - but only where the next words
   start with an action verb, so ``compare cost, speed and safety`` stays one step;
4. if more than one step is left without a dependent, a final synthesis step depends on all of
   them; every step is therefore connected and the last one answers the goal;
5. the plan is merged down to ``max_steps`` (parallel parts first, then the last two phases).

Capabilities, acceptance specs and token estimates come from each part's wording.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tokenplan.catalog.model import Capability
from tokenplan.providers.sim.prompt import (
    capability_of,
    code_language,
    length_hint,
    slugify,
    wants_json,
)
from tokenplan.providers.sim.rng import Rng
from tokenplan.tokens import estimate_tokens

__all__ = ["PLAN_SCHEMA_NAME", "build_plan"]

#: ``JsonSchemaFormat.name`` of planner requests (see the plan contract).
PLAN_SCHEMA_NAME = "tokenplan_plan"

_VERBS = frozenset(
    str.split(
        """write draft research investigate compare analyze analyse summarize summarise list outline
    design implement build create code test review explain describe compute calculate estimate
    solve prove derive translate find identify evaluate assess plan propose recommend collect
    gather extract classify rank generate produce prepare define document refactor debug fix
    optimize optimise benchmark measure check verify validate critique edit proofread rewrite
    format convert visualize visualise plot chart map simulate brainstorm suggest decide choose
    select prioritize prioritise schedule organize organise publish deploy add make give provide
    show fetch parse sort count search scrape read study discuss argue justify survey sketch pick
    combine merge integrate assemble finalize finalise polish refine improve update set configure
    install run execute train tune label annotate interview contact email send"""
    )
)
_SENTENCES = re.compile(r"(?<=[.!?;])\s+|\n+")
_LIST_PREFIX = re.compile(r"^\s*(?:[-*\u2022]|\(?\d{1,2}[.)]|step \d+:)\s*", re.IGNORECASE)
_SEQUENCE = re.compile(
    r"[,;]?\s*\b(?:and then|then|after that|afterwards|after this|finally|next|subsequently|"
    r"followed by|once done|once that is done|lastly)\b[,:]?\s*",
    re.IGNORECASE,
)
_OPENS_WITH_SEQUENCE = re.compile(
    r"^(?:then|finally|next|after|afterwards|lastly|using|based on|with (?:that|those|these)|"
    r"from (?:that|those|these)|subsequently)\b",
    re.IGNORECASE,
)
_BACK_REFERENCE = re.compile(
    r"\b(?:it|its|them|they|their|this|these|those|the results?|the findings|the above|"
    r"the output|the draft|the summary|the function|the code|the report|the list|the data|"
    r"the analysis|the answers?|the outline|the plan|the script|the program|previous|earlier)\b",
    re.IGNORECASE,
)
_CONCLUDING = re.compile(
    r"\b(?:report|summar(?:y|ize|ise)|conclu\w+|recommendations?|recommend|present\w*|"
    r"wrap up|write-?up)\b",
    re.IGNORECASE,
)
_PARALLEL_SEPARATOR = re.compile(r"(,\s*(?:and\s+|or\s+)?|\s+and\s+|\s+as well as\s+|\s+plus\s+)")

_BASE_OUTPUT: Mapping[str, int] = {"code": 700, "math": 450, "reasoning": 650, "general": 600}
_SYSTEM_OVERHEAD_TOKENS = 180
#: The goal is quoted in each step as context, cut to this many characters (the executor's
#: step prompt carries the whole goal; this keeps a 12-step plan compact).
_GOAL_CONTEXT_CHARS = 120


@dataclass(slots=True)
class _Phase:
    parts: list[str]
    after_previous: bool


def build_plan(
    goal: str, *, max_steps: int, rng: Rng, items_schema: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A plan document (``{"steps": [...]}``) for ``goal`` with at most ``max_steps`` steps."""
    goal = re.sub(r"\s+", " ", goal).strip() or "Complete the requested task"
    phases = _reduce(_phases(goal), max(1, max_steps))
    steps = _steps(goal, phases, rng)
    if items_schema is not None:
        steps = [_conform(step, items_schema) for step in steps]
    return {"steps": steps}


# -- splitting --------------------------------------------------------------------------------


def _phases(goal: str) -> list[_Phase]:
    phases: list[_Phase] = []
    for raw_sentence in _SENTENCES.split(goal):
        sentence = _LIST_PREFIX.sub("", raw_sentence).strip(" .;")
        if not sentence:
            continue
        opens = bool(_OPENS_WITH_SEQUENCE.match(sentence))
        segments = [s for s in _SEQUENCE.split(sentence) if s.strip(" ,;.")]
        for i, segment in enumerate(segments):
            parts = _parallel_parts(segment)
            if not parts:
                continue
            depends = bool(phases) and (
                i > 0 or opens or bool(_BACK_REFERENCE.search(segment)) or _leading_marker(segment)
            )
            phases.append(_Phase([parts[0]], depends))
            for part in parts[1:]:
                # "write a parser, then test it" is split above; "write a parser, test it"
                # refers back to the part before it, and "..., and write a report" sums up
                # the parts before it, so those wait.
                if _BACK_REFERENCE.search(part) or _CONCLUDING.search(part):
                    phases.append(_Phase([part], True))
                else:
                    phases[-1].parts.append(part)
    return phases or [_Phase([goal], False)]


def _leading_marker(segment: str) -> bool:
    return bool(_OPENS_WITH_SEQUENCE.match(segment.strip()))


def _parallel_parts(segment: str) -> list[str]:
    pieces = _PARALLEL_SEPARATOR.split(segment)
    parts: list[str] = []
    current = pieces[0]
    for sep, piece in zip(pieces[1::2], pieces[2::2], strict=True):
        first = piece.strip().split(" ", 1)[0].lower()
        if first in _VERBS and _starts_with_verb(current):
            parts.append(current)
            current = piece
        else:
            current = current + sep + piece
    parts.append(current)
    cleaned = [_clean(p) for p in parts]
    return [p for p in cleaned if len(p) > 1]


def _starts_with_verb(text: str) -> bool:
    words = text.strip().split(" ", 1)
    return bool(words) and words[0].lower() in _VERBS


def _clean(part: str) -> str:
    part = _OPENS_WITH_SEQUENCE.sub("", part.strip()).strip(" ,;:.")
    return part[:1].upper() + part[1:] if part else part


def _sinks(phases: list[_Phase]) -> int:
    return sum(
        len(p.parts)
        for k, p in enumerate(phases)
        if k == len(phases) - 1 or not phases[k + 1].after_previous
    )


def _size(phases: list[_Phase]) -> int:
    return sum(len(p.parts) for p in phases) + (1 if _sinks(phases) > 1 else 0)


def _reduce(phases: list[_Phase], max_steps: int) -> list[_Phase]:
    phases = [_Phase(list(p.parts), p.after_previous) for p in phases]
    # A goal of thousands of sentences: fold runs of phases first, so the exact merging below
    # stays cheap (it is quadratic in the number of parts).
    most = 4 * max_steps
    if len(phases) > most:
        run = -(-len(phases) // most)
        phases = [_fold(phases[i : i + run]) for i in range(0, len(phases), run)]
    while _size(phases) > max_steps:
        wide = [p for p in phases if len(p.parts) > 1]
        if wide:
            phase = max(wide, key=lambda p: len(p.parts))
            last = phase.parts.pop()
            phase.parts[-1] = f"{phase.parts[-1]}; {last[:1].lower()}{last[1:]}"
            continue
        last_phase = phases.pop()
        prev = phases[-1]
        joiner = "; then " if last_phase.after_previous else "; also "
        tail = last_phase.parts[0]
        prev.parts[0] = f"{prev.parts[0]}{joiner}{tail[:1].lower()}{tail[1:]}"
    return phases


def _fold(phases: list[_Phase]) -> _Phase:
    """One single-part phase doing everything ``phases`` did, in order."""
    text = ""
    for phase in phases:
        joined = "; ".join(phase.parts)
        if not text:
            text = joined
        else:
            joiner = "; then " if phase.after_previous else "; also "
            text += joiner + joined[:1].lower() + joined[1:]
    return _Phase([text], phases[0].after_previous)


# -- steps ------------------------------------------------------------------------------------


def _steps(goal: str, phases: list[_Phase], rng: Rng) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    taken: set[str] = set()
    previous: list[dict[str, Any]] = []
    for phase in phases:
        deps = [s["id"] for s in previous] if phase.after_previous else []
        dep_output = sum(s["est_output_tokens"] for s in previous) if phase.after_previous else 0
        current = [
            _step(part, goal=goal, deps=deps, dep_output=dep_output, taken=taken, rng=rng)
            for part in phase.parts
        ]
        steps += current
        previous = current
    depended = {d for s in steps for d in s["depends_on"]}
    sinks = [s for s in steps if s["id"] not in depended]
    if len(sinks) > 1:
        steps.append(_synthesis(goal, sinks, taken=taken, rng=rng))
    return steps


_EXPLAINING = frozenset({"document", "explain", "describe", "summarize", "summarise", "discuss"})


def _capability(part: str) -> Capability:
    capability = capability_of(part)
    first = part.split(" ", 1)[0].lower()
    if capability == "code" and first in _EXPLAINING:
        return "general"  # "document the API" is prose about code, not code
    return capability


def _step(
    part: str, *, goal: str, deps: list[str], dep_output: int, taken: set[str], rng: Rng
) -> dict[str, Any]:
    capability = _capability(part)
    acceptance = _acceptance(part, capability)
    instructions = f"{part}."
    if part.rstrip(".").lower() != goal.rstrip(".").lower():
        instructions += f' This step is part of the goal: "{_quote(goal)}".'
    if deps:
        instructions += f" Build on the output of {_join(deps)}."
    instructions += _GUIDANCE[capability]
    if acceptance == "json":
        instructions += " Return only valid JSON."
    elif acceptance and acceptance.startswith(("max_words:", "min_words:")):
        verb = "at most" if acceptance.startswith("max") else "at least"
        instructions += f" Use {verb} {acceptance.split(':', 1)[1]} words."
    output = _output_tokens(part, capability, rng)
    return {
        "id": _unique(slugify(part, max_len=24, max_words=3), taken),
        "title": _title(part),
        "instructions": instructions,
        "capability": capability,
        "depends_on": list(deps),
        "est_input_tokens": _SYSTEM_OVERHEAD_TOKENS + estimate_tokens(instructions) + dep_output,
        "est_output_tokens": output,
        "acceptance": acceptance,
    }


def _synthesis(
    goal: str, sinks: list[dict[str, Any]], *, taken: set[str], rng: Rng
) -> dict[str, Any]:
    all_code = all(s["capability"] == "code" for s in sinks)
    capability: Capability = "code" if all_code else "general"
    ids = [s["id"] for s in sinks]
    if all_code:
        title = "Integrate the code into one deliverable"
        instructions = (
            f"Combine the code from {_join(ids)} into one coherent, runnable deliverable for the "
            f'goal: "{_quote(goal)}". Resolve naming conflicts and keep every tested '
            "behaviour." + _GUIDANCE["code"]
        )
    else:
        title = "Assemble the final answer"
        instructions = (
            f"Combine the outputs of {_join(ids)} into one coherent final answer to the goal: "
            f'"{_quote(goal)}". Resolve overlaps and contradictions; keep the specifics.'
        )
    # The final answer is JSON / code only when every input is; a word limit of the goal applies
    # to it when the goal states one.
    kinds = {s["acceptance"] for s in sinks}
    acceptance = kinds.pop() if len(kinds) == 1 and kinds <= {"json", "python", "code"} else None
    if acceptance is None and not all_code:
        word_limit = _acceptance(goal, "general")
        acceptance = word_limit if word_limit and word_limit != "json" else None
    if acceptance == "json":
        instructions += " Return only valid JSON."
    dep_output = sum(s["est_output_tokens"] for s in sinks)
    hint = length_hint(goal)
    output = 2 * hint.max_words + 60 if hint else min(2000, 800 + 120 * max(0, len(ids) - 2))
    return {
        "id": _unique("integrate-code" if all_code else "final-answer", taken),
        "title": title,
        "instructions": instructions,
        "capability": capability,
        "depends_on": ids,
        "est_input_tokens": _SYSTEM_OVERHEAD_TOKENS + estimate_tokens(instructions) + dep_output,
        "est_output_tokens": _round_tokens(output * rng.uniform(0.95, 1.1)),
        "acceptance": acceptance,
    }


_GUIDANCE: Mapping[str, str] = {
    "code": " Return the complete code in one fenced code block, with a short usage example.",
    "math": " Show the working, then state the final result on its own line.",
    "reasoning": " Weigh the alternatives explicitly and justify the conclusion.",
    "general": " Be specific and concise.",
}


def _acceptance(text: str, capability: str) -> str | None:
    if wants_json(text) or re.search(r"\bjson\b", text, re.IGNORECASE):
        return "json"
    if capability == "code":
        return "python" if code_language(text) == "python" else "code"
    explicit = re.search(r"\b(at least|minimum of|no fewer than)\s+\d+\s+words?", text, re.I)
    hint = length_hint(text)
    if hint is not None and re.search(r"\d+[\s-]*words?", text, re.IGNORECASE):
        return f"min_words:{hint.min_words}" if explicit else f"max_words:{hint.max_words}"
    return None


def _output_tokens(part: str, capability: str, rng: Rng) -> int:
    hint = length_hint(part)
    base = 2 * hint.max_words + 60 if hint else _BASE_OUTPUT[capability]
    return _round_tokens(base * rng.uniform(0.95, 1.1))


def _round_tokens(n: float) -> int:
    return max(10, round(n / 10.0) * 10)


def _unique(slug: str, taken: set[str]) -> str:
    candidate, n = slug, 2
    while candidate in taken:
        suffix = f"-{n}"
        candidate = slug[: 32 - len(suffix)].rstrip("-") + suffix
        n += 1
    taken.add(candidate)
    return candidate


def _title(part: str) -> str:
    title = _shorten(part.replace("; then ", ", then ").replace("; ", " and "), 70)
    return title[:1].upper() + title[1:]


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;: ") + "\u2026"


def _quote(goal: str) -> str:
    return _shorten(goal, _GOAL_CONTEXT_CHARS).rstrip(".!?; ")


def _join(ids: list[str]) -> str:
    quoted = [f"`{i}`" for i in ids]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _conform(step: dict[str, Any], items_schema: Mapping[str, Any]) -> dict[str, Any]:
    """Drop fields the schema does not allow and fill required ones it adds (contract drift)."""
    from tokenplan.providers.sim.schema import SchemaContext, instance

    props = items_schema.get("properties")
    if not isinstance(props, Mapping):
        return step
    out = dict(step)
    if items_schema.get("additionalProperties") is False:
        out = {k: v for k, v in out.items() if k in props}
    for key in items_schema.get("required") or ():
        if key not in out:
            ctx = SchemaContext(words=(str(step["id"]),), sentence=str(step["title"]))
            out[key] = instance(props.get(key, {}), context=ctx, rng=Rng(step["id"], key))
    return out
