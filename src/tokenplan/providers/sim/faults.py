"""The errors the simulator raises, shaped like real providers' (status, body, headers)."""

from __future__ import annotations

import json
import math

from tokenplan.catalog.model import Model
from tokenplan.errors import (
    ModelUnavailableError,
    ProviderError,
    RateLimitError,
    UpstreamServerError,
)
from tokenplan.providers.sim.latency import PROFILES
from tokenplan.providers.sim.rng import Rng

__all__ = ["context_overflow", "model_not_found", "transient_fault"]

PROVIDER = "sim"
#: Share of transient faults that are 429s (the rest are 503s).
RATE_LIMIT_SHARE = 0.6


def transient_fault(
    model: Model, *, rng: Rng, rate: float, scale: float
) -> tuple[ProviderError, float] | None:
    """With probability ``rate``: a retryable error and the seconds to wait before raising it.

    429s carry ``retry-after`` (whole seconds) and ``retry-after-ms``, both scaled by the
    latency scale, so a test at scale 0 is asked to wait 0 s. 503s come after about the time a
    real overloaded server takes to say so.
    """
    if not rng.chance(rate):
        return None
    if rng.chance(RATE_LIMIT_SHARE):
        wait_s = rng.uniform(0.5, 2.0) * scale
        message = f"simulated rate limit for {model.id}; retry after {wait_s:.2f}s"
        limited = RateLimitError(
            message,
            status_code=429,
            body=_body(message, "rate_limit_exceeded"),
            headers={
                "retry-after": str(math.ceil(wait_s)),
                "retry-after-ms": str(int(wait_s * 1000)),
            },
            provider=PROVIDER,
            model=model.id,
        )
        return limited, 0.05 * scale
    message = f"simulated overload: {model.id} is temporarily unavailable"
    overloaded = UpstreamServerError(
        message,
        status_code=503,
        body=_body(message, "server_overloaded"),
        provider=PROVIDER,
        model=model.id,
    )
    return overloaded, PROFILES.get(model.tier, PROFILES["mid"]).first_token_s * scale


def model_not_found(model_id: str) -> ModelUnavailableError:
    """A 404, as a real provider answers for a model it does not serve."""
    message = f"model {model_id!r} is not in the catalog, so the simulator cannot serve it"
    return ModelUnavailableError(
        message,
        status_code=404,
        body=_body(message, "model_not_found"),
        provider=PROVIDER,
        model=model_id,
    )


def context_overflow(model: Model, input_tokens: int) -> ModelUnavailableError:
    """A 400 for a prompt longer than the model's context window."""
    message = (
        f"simulated {model.id}: prompt of about {input_tokens} tokens exceeds its context window "
        f"of {model.context_window}"
    )
    return ModelUnavailableError(
        message,
        status_code=400,
        body=_body(message, "context_length_exceeded"),
        provider=PROVIDER,
        model=model.id,
    )


def _body(message: str, code: str) -> str:
    return json.dumps({"error": {"message": message, "type": "sim_error", "code": code}})
