"""Checks of user input at the API and CLI surface: each raises :class:`UsageError` (exit 2)."""

from __future__ import annotations

from typing import Any

from tokenplan.errors import ConfigError, UsageError
from tokenplan.inputs import check_budget_usd
from tokenplan.settings import normalize_strategy

__all__ = [
    "MAX_STEPS_LIMIT",
    "check_budget_usd",
    "check_goal",
    "check_max_steps",
    "check_strategy",
]

#: Upper bound of ``max_steps``: a plan is a handful of model calls, not a workflow engine.
MAX_STEPS_LIMIT = 100


def check_goal(goal: Any) -> str:
    """The goal without surrounding whitespace; an empty or non-text goal is refused."""
    if not isinstance(goal, str) or not goal.strip():
        raise UsageError("the goal is empty; say what the plan should achieve")
    if "\x00" in goal:
        raise UsageError("the goal contains a NUL character")
    return goal.strip()


def check_max_steps(max_steps: Any) -> int:
    """A step limit between 1 and :data:`MAX_STEPS_LIMIT`."""
    if isinstance(max_steps, bool) or not isinstance(max_steps, int):
        raise UsageError(f"max steps must be a whole number, got {max_steps!r}")
    if not 1 <= max_steps <= MAX_STEPS_LIMIT:
        raise UsageError(f"max steps must be between 1 and {MAX_STEPS_LIMIT}, got {max_steps}")
    return max_steps


def check_strategy(strategy: str) -> str:
    """The canonical strategy (``cheapest``, ``balanced``, ``best_quality``) for a name or alias."""
    try:
        return normalize_strategy(strategy)[0]
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
