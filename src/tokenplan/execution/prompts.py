"""The prompt of one plan step, fitted to the model's context window.

A step sees the goal, its own instructions and the outputs of its *direct* dependencies only
(their own inputs already shaped those outputs). The prompt is sized with the conservative
token estimator (:mod:`tokenplan.tokens`): room is kept for ``max_tokens`` of output, and when
the inputs do not fit, the longest ones are trimmed first, down to a common length (each cut
is marked in the text and reported as a :class:`Trim`). There is no fixed character cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tokenplan.planning.acceptance import AcceptanceSpec, parse_acceptance
from tokenplan.planning.schema import Step
from tokenplan.tokens import estimate_messages_tokens, estimate_tokens
from tokenplan.types import Message

__all__ = [
    "SAFETY_TOKENS",
    "SYSTEM_PROMPT",
    "StepInput",
    "StepPrompt",
    "Trim",
    "acceptance_words",
    "build_step_prompt",
]

SYSTEM_PROMPT = (
    "You carry out one step of a plan that works towards a larger goal. Do exactly this step "
    "and answer with its result: the content itself, complete and ready for the next steps to "
    "use, without preamble, questions back or remarks about the plan. The outputs of the "
    "earlier steps this one builds on are given between <input> tags; use them, and do not "
    "repeat them unless the step asks for it. If something is ambiguous, make a reasonable "
    "assumption and state it in one line."
)

#: Tokens kept free beyond the estimate (role markers the estimator may not know about).
SAFETY_TOKENS = 32
#: Share of a trimmed input kept from its beginning (the rest from its end).
_HEAD_SHARE = 2 / 3


@dataclass(frozen=True, slots=True)
class StepInput:
    """The output of a dependency, as the step receives it."""

    step_id: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class Trim:
    """An input cut to fit ``model``'s context window: ``kept_tokens`` of ``tokens`` kept."""

    step_id: str
    tokens: int
    kept_tokens: int
    model: str
    context_window: int

    def note(self) -> str:
        return (
            f"input from '{self.step_id}' trimmed to ~{self.kept_tokens:,} of ~{self.tokens:,} "
            f"tokens to fit {self.model} ({self.context_window:,}-token context)"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "input": self.step_id,
            "tokens": self.tokens,
            "kept_tokens": self.kept_tokens,
            "model": self.model,
            "context_window": self.context_window,
        }


@dataclass(frozen=True, slots=True)
class StepPrompt:
    """The messages of one call, their estimated size, the output cap and what was trimmed."""

    messages: tuple[Message, ...]
    input_tokens: int
    max_tokens: int
    trims: tuple[Trim, ...] = ()


def acceptance_words(spec: AcceptanceSpec | str | None) -> str | None:
    """The step's acceptance check said in words for the model (``None``: nothing to add)."""
    parsed = spec if isinstance(spec, AcceptanceSpec) else parse_acceptance(spec)
    kind, arg = parsed.kind, parsed.argument
    if kind == "json":
        return "Answer with valid JSON only: no prose before or after it, no code fences."
    if kind == "python":
        return "Give the code in a ```python fenced block that parses."
    if kind == "code":
        return "Put the code in a fenced code block (```)."
    if kind == "contains":
        return f'The answer must contain "{arg}".'
    if kind == "regex":
        return f"The answer must match the regular expression /{arg}/."
    if kind == "max_words":
        return f"Use at most {parsed.words} words."
    if kind == "min_words":
        return f"Use at least {parsed.words} words."
    if parsed.source and parsed.source.strip():
        return f"What a good answer looks like: {parsed.source.strip()}"
    return None


def build_step_prompt(
    step: Step,
    goal: str,
    inputs: Sequence[StepInput],
    *,
    model_id: str,
    context_window: int,
    max_tokens: int,
) -> StepPrompt:
    """The step's messages for ``model_id``, with room for ``max_tokens`` of output.

    When the prompt does not fit, the inputs are trimmed, longest first; ``max_tokens`` is
    lowered only when the rest of the prompt (system, goal, instructions) leaves less room.
    """
    requirement = acceptance_words(step.acceptance)
    system = SYSTEM_PROMPT + (f"\n\nRequirement: {requirement}" if requirement else "")
    head = f"<overall_goal>\n{goal}\n</overall_goal>\n\n"
    tail = (
        f'<your_step id="{step.id}" title="{_attr(step.title)}">\n{step.instructions}\n'
        "</your_step>" + (f"\n\nRequirement: {requirement}" if requirement else "")
    )
    wrappers = [_wrap(i, "") for i in inputs]
    fixed = estimate_messages_tokens([system, head + "".join(wrappers) + tail])
    sizes = [estimate_tokens(i.text) for i in inputs]
    window = max(1, context_window)
    max_tokens = max(1, min(max_tokens, window))
    room = window - max_tokens - fixed - SAFETY_TOKENS
    if room < 0:
        # The fixed part alone crowds out the output: inputs go first (below), then the
        # output allowance shrinks to what the window has left.
        max_tokens = max(1, min(max_tokens, window - fixed - SAFETY_TOKENS))
        room = max(0, window - max_tokens - fixed - SAFETY_TOKENS)
    texts = [i.text for i in inputs]
    trims: list[Trim] = []
    if sum(sizes) > room:
        cap = _water_level(sizes, room)
        for n, (item, size) in enumerate(zip(inputs, sizes, strict=True)):
            if size > cap:
                texts[n], kept = _trimmed(item, size, cap, model_id=model_id, window=window)
                trims.append(Trim(item.step_id, size, kept, model_id, window))
    body = head + "".join(_wrap(i, t) for i, t in zip(inputs, texts, strict=True)) + tail
    messages = (Message(role="system", content=system), Message(role="user", content=body))
    used = estimate_messages_tokens(m.content for m in messages)
    if used + max_tokens + SAFETY_TOKENS > window:  # cut marks can outweigh tiny inputs
        max_tokens = max(1, window - used - SAFETY_TOKENS)
    return StepPrompt(
        messages=messages, input_tokens=used, max_tokens=max_tokens, trims=tuple(trims)
    )


def _attr(text: str) -> str:
    return " ".join(text.split()).replace('"', "'")


def _wrap(item: StepInput, text: str) -> str:
    return f'<input step="{item.step_id}" title="{_attr(item.title)}">\n{text}\n</input>\n\n'


def _water_level(sizes: Sequence[int], room: int) -> int:
    """The largest cap ``L`` with ``sum(min(size, L)) <= room``: only inputs above it are cut."""
    remaining, left = room, len(sizes)
    for size in sorted(sizes):
        if size * left > remaining:
            return remaining // left
        remaining -= size
        left -= 1
    return max(sizes, default=0)


def _marker(size: int, kept: int, *, model_id: str, window: int) -> str:
    return (
        f"\n\n[... tokenplan trimmed this input to fit {model_id}'s {window:,}-token context: "
        f"about {max(0, size - kept):,} of {size:,} tokens left out here ...]\n\n"
    )


def _trimmed(
    item: StepInput, size: int, cap: int, *, model_id: str, window: int
) -> tuple[str, int]:
    """``item.text`` cut to about ``cap`` tokens (marker included), head and tail kept."""
    marker = _marker(size, cap, model_id=model_id, window=window)
    budget = cap - estimate_tokens(marker)
    if budget <= 0:
        return f"[... the output of step '{item.step_id}' was left out to fit {model_id} ...]", 0
    text = item.text
    chars = int(len(text) * budget / max(size, 1))
    head, tail = "", ""
    for _ in range(8):
        head_chars = int(chars * _HEAD_SHARE)
        head = _snap_end(text[:head_chars])
        tail = _snap_start(text[len(text) - (chars - head_chars) :]) if chars > head_chars else ""
        kept = estimate_tokens(head) + estimate_tokens(tail)
        if kept <= budget:
            return head + marker + tail, kept
        chars = int(chars * 0.85)
    return head + marker + tail, estimate_tokens(head) + estimate_tokens(tail)


def _snap_end(text: str) -> str:
    """Cut back to the last line break or space in the final fifth, if there is one."""
    for sep in ("\n", " "):
        at = text.rfind(sep)
        if at >= len(text) * 0.8:
            return text[:at]
    return text


def _snap_start(text: str) -> str:
    for sep in ("\n", " "):
        at = text.find(sep)
        if 0 <= at <= len(text) * 0.2:
            return text[at + 1 :]
    return text
