"""Tier latency profiles: time to first token and generation speed.

Rough public medians for hosted APIs (budget models answer fast, flagships think longer and
stream slower); hidden reasoning tokens are generated before the first visible one, and long
prompts add prefill time. Everything is multiplied by ``latency_scale`` (0 = no waiting).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tokenplan.providers.sim.rng import Rng

__all__ = ["PROFILES", "Profile", "Timing", "timing"]


@dataclass(frozen=True, slots=True)
class Profile:
    """``first_token_s`` at an empty prompt; ``tokens_per_s`` while generating."""

    first_token_s: float
    tokens_per_s: float
    prefill_tokens_per_s: float = 20_000.0


PROFILES: Mapping[str, Profile] = {
    "budget": Profile(first_token_s=0.35, tokens_per_s=160.0),
    "mid": Profile(first_token_s=0.6, tokens_per_s=110.0),
    "flagship": Profile(first_token_s=1.1, tokens_per_s=65.0),
    "local": Profile(first_token_s=0.25, tokens_per_s=45.0, prefill_tokens_per_s=2_000.0),
}


@dataclass(frozen=True, slots=True)
class Timing:
    """Seconds to the first visible token, then seconds per visible output token (scaled)."""

    first_token_s: float
    per_token_s: float

    def total_s(self, visible_tokens: int) -> float:
        return self.first_token_s + self.per_token_s * visible_tokens


def timing(
    tier: str, *, input_tokens: int, reasoning_tokens: int, rng: Rng, scale: float
) -> Timing:
    """The latency plan of one call (deterministic per ``rng``; zero when ``scale`` is 0)."""
    if scale <= 0.0:
        return Timing(0.0, 0.0)
    profile = PROFILES.get(tier, PROFILES["mid"])
    jitter = rng.uniform(0.85, 1.2)
    per_token = jitter / profile.tokens_per_s
    first = (
        profile.first_token_s * jitter
        + input_tokens / profile.prefill_tokens_per_s
        + reasoning_tokens * per_token
    )
    return Timing(first_token_s=first * scale, per_token_s=per_token * scale)
