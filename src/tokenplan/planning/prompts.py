"""The planner's messages: system prompt, goal message and repair requests (plan contract)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from tokenplan.planning.schema import PLAN_JSON_SCHEMA

__all__ = ["goal_message", "parse_error_message", "problems_message", "system_prompt"]

_SYSTEM = """\
You are the planner of tokenplan. You turn a goal into a small plan of steps that other \
language models will carry out, each step in one model call, under a strict money budget. \
You do not do the work yourself: you decide the steps.

How a step is run: a model receives the goal, the step's instructions and the full outputs of \
the steps listed in its depends_on, and nothing else. Steps whose dependencies are done run in \
parallel. The outputs of the steps that no other step depends on are the final result.

Capabilities (pick the one the step needs most; it decides which models can run the step):
- code: write, fix, review or explain source code, shell commands, SQL, regexes, config files.
- math: calculations, derivations, proofs, statistics, quantitative estimates.
- reasoning: multi-step analysis, comparing options, decisions with trade-offs, logic, \
critical review of an argument or design.
- general: writing, summarising, rewriting, translating, brainstorming, extracting or \
formatting information.

Good plans:
- Use as few steps as the goal allows: one step for a simple request, usually 2 to 6, never \
more than the step limit given with the goal.
- One step is one coherent deliverable that one model can produce in one answer (up to about \
1,500 words or 300 lines of code). Split work when the parts need different capabilities, \
can run in parallel, or when one part's output is the input of another.
- No steps for re-reading the goal, planning, or a final review unless the goal asks for them.
- Every step must be connected: depends_on lists exactly the steps whose output this step \
needs. When the goal has independent parts, add a final step that depends on all of them and \
assembles the answer. No step may depend on itself; no cycles.
- Instructions are self-contained: say what to produce, in what form, and every constraint \
from the goal that applies; refer to earlier results by step id (for example "Using the \
outline from step 'outline', ...").

Fields of each step:
- id: a short unique slug: a lowercase letter, then lowercase letters, digits or '-', at most \
32 characters (for example "outline", "draft-intro", "test-parser").
- title: a few words for people reading the plan.
- instructions: as above.
- capability: one of code, reasoning, math, general.
- depends_on: ids of earlier steps whose output this step needs ([] for none).
- est_input_tokens: the step's prompt size in tokens: its instructions, the goal and the full \
outputs of its dependencies (1 token is about 4 characters or 0.75 words).
- est_output_tokens: the size of the expected answer in tokens (about 150 for a paragraph, \
700 for a page, 1,200 for a 100-line module). Realistic, not padded.
- acceptance: a check of the output, or null. One of: "json" (the output must be valid JSON), \
"python" (a ```python block that parses), "code" (a fenced code block), "contains:<text>", \
"regex:<pattern>", "max_words:<N>", "min_words:<N>". Use "json" or "python" whenever the step \
must produce JSON or Python, max_words when the goal limits length; otherwise null.

Answer with the JSON object {"steps": [...]} only: no prose, no code fences.\
"""

_EXAMPLE = {
    "steps": [
        {
            "id": "parser",
            "title": "Write the CSV parser",
            "instructions": "Write a Python function parse_rows(text) that ...",
            "capability": "code",
            "depends_on": [],
            "est_input_tokens": 400,
            "est_output_tokens": 900,
            "acceptance": "python",
        },
        {
            "id": "summary",
            "title": "Explain the parser",
            "instructions": "Using the code from step 'parser', explain in at most 150 words ...",
            "capability": "general",
            "depends_on": ["parser"],
            "est_input_tokens": 1400,
            "est_output_tokens": 250,
            "acceptance": "max_words:150",
        },
    ]
}


def system_prompt(*, include_schema: bool) -> str:
    """The planner's system prompt; ``include_schema`` adds the JSON schema and an example.

    The schema is spelled out when the provider cannot enforce it (JSON mode or plain prompt).
    """
    if not include_schema:
        return _SYSTEM
    schema = json.dumps(PLAN_JSON_SCHEMA, separators=(",", ":"))
    example = json.dumps(_EXAMPLE, separators=(",", ":"))
    return (
        f"{_SYSTEM}\n\nThe answer must validate against this JSON schema:\n{schema}\n\n"
        f"Example of the shape (not of the content):\n{example}"
    )


def goal_message(goal: str, *, max_steps: int) -> str:
    """The first user message: the goal and the step limit (tags from the plan contract)."""
    return f"<goal>\n{goal}\n</goal>\n<max_steps>{max_steps}</max_steps>\nPlan this goal as JSON."


def problems_message(problems: Sequence[str]) -> str:
    """A repair request listing every validation problem of the previous answer."""
    listed = "\n".join(f"- {p}" for p in problems)
    return (
        "Your plan was rejected. Fix every problem below and answer again with the complete "
        f"corrected plan, as the JSON object only:\n{listed}"
    )


def parse_error_message(error: str, *, truncated: bool) -> str:
    """A repair request for an answer that could not be parsed at all."""
    if truncated:
        return (
            "Your answer was cut off at the output limit before the JSON was complete "
            f"({error}). Answer again with a shorter plan: fewer steps and more concise "
            "instructions, as the JSON object only."
        )
    return (
        f"Your answer could not be read as a plan: {error}. Answer again with the complete "
        'plan as a single JSON object of the form {"steps": [...]}, with no text around it.'
    )
