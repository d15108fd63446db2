"""OpenAI-shaped error answers, and how tokenplan's errors map onto them.

Every error the proxy returns is ``{"error": {"message", "type", "param", "code"}}`` with the
status below; bad input is always a 4xx, and a 500 means a bug in the proxy.

====================================================  ======  ==============================
what happened                                         status  ``type`` / ``code``
====================================================  ======  ==============================
body is not JSON / not a valid chat request           400     invalid_request_error
a feature the proxy cannot serve (n>1, tools, ...)    400     invalid_request_error /
                                                              unsupported_parameter
a prompt longer than the model's context window       400     invalid_request_error /
                                                              context_length_exceeded
max_tokens above what the model writes                400     invalid_request_error /
                                                              invalid_value
no model auto* may route to can take the request      400     invalid_request_error /
                                                              no_candidate_model
every upstream rejected the request itself (400/422)  400     invalid_request_error /
                                                              upstream_rejected
missing or wrong bearer key                           401     invalid_request_error /
                                                              missing_api_key, invalid_api_key
the key's budget cannot cover the call                402     insufficient_quota
unknown model / model whose provider has no key       404     invalid_request_error /
                                                              model_not_found
unknown path / wrong method                           404/405 invalid_request_error
body larger than ``max_body_bytes``                   413     invalid_request_error
every upstream answered 429                           429     rate_limit_error /
                                                              rate_limit_exceeded (+ retry-after)
every candidate is cooling down (after a 401, 404...)  503     upstream_error /
                                                              model_cooling_down (+ retry-after)
every upstream failed otherwise                       502     upstream_error
every upstream timed out                              504     upstream_error / upstream_timeout
a bug                                                 500     server_error
====================================================  ======  ==============================
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import orjson

from tokenplan.errors import (
    AllCandidatesFailed,
    BudgetError,
    ConfigError,
    CooledDownError,
    ModelUnavailableError,
    NoCandidateError,
    ProviderError,
    ProviderHTTPError,
    ProviderTimeoutError,
    RateLimitError,
    TokenplanError,
    UnknownModelError,
    redact,
)
from tokenplan.money import format_usd

__all__ = ["ApiError", "api_error_for", "no_candidate_error"]

_REASONS_SHOWN = 3


class ApiError(TokenplanError):
    """An HTTP error answer of the proxy. Raised and caught inside the ASGI app only."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: Sequence[tuple[bytes, bytes]] = (),
    ) -> None:
        super().__init__(redact(message, limit=2000))
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.headers = tuple(headers)

    def body(self) -> bytes:
        return orjson.dumps(
            {
                "error": {
                    "message": self.message,
                    "type": self.type,
                    "param": self.param,
                    "code": self.code,
                }
            }
        )


def api_error_for(exc: BaseException) -> ApiError | None:
    """The answer for an error a model call or the router raised (``None``: not ours to map,
    a bug)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, BudgetError):  # the app answers with the key's own 402 (budgets.py)
        return ApiError(
            402,
            f"The budget ({format_usd(exc.budget_usd)}) cannot cover this request: it needs "
            f"at least {format_usd(exc.requested_usd)}, {format_usd(exc.spent_usd)} is spent.",
            type="insufficient_quota",
            code="insufficient_quota",
        )
    if isinstance(exc, UnknownModelError):
        message = exc.message[:1].upper() + exc.message[1:]  # OpenAI's messages are sentences
        return ApiError(404, message, code="model_not_found", param="model")
    if isinstance(exc, NoCandidateError):
        return no_candidate_error(exc)
    if isinstance(exc, ConfigError):  # the router's UsageError: an empty prompt, ...
        return ApiError(400, exc.message)
    if isinstance(exc, AllCandidatesFailed):
        return _upstream(list(exc.exceptions), exc.message)
    if isinstance(exc, ProviderError):
        return _upstream([exc], "the upstream call failed")
    return None


def no_candidate_error(exc: NoCandidateError) -> ApiError:
    """A 400 for a request no model may take: how many were ruled out, and the first reasons."""
    reasons = list(dict.fromkeys(exc.reasons.values()))
    if not reasons:
        message = f"No model can take this request: {exc.message}"
    else:
        shown = "; ".join(reasons[:_REASONS_SHOWN])
        more = (
            f"; and {len(reasons) - _REASONS_SHOWN} more" if len(reasons) > _REASONS_SHOWN else ""
        )
        message = f"No model can take this request ({len(exc.reasons)} ruled out): {shown}{more}."
    return ApiError(400, message, code="no_candidate_model", param="model")


def _upstream(errors: list[BaseException], summary: str) -> ApiError:
    calls = [e for e in errors if isinstance(e, ProviderError)]
    detail = "; ".join(f"{getattr(e, 'model', '') or '?'}: {e}" for e in errors)
    message = f"{summary}: {detail}" if detail else summary
    if calls and all(isinstance(e, CooledDownError) for e in calls):
        waits = [e.retry_after_s for e in calls if isinstance(e, CooledDownError)]
        known = [w for w in waits if w is not None]
        headers = [(b"retry-after", b"%d" % math.ceil(min(known)))] if known else []
        return ApiError(
            503, message, type="upstream_error", code="model_cooling_down", headers=headers
        )
    if calls and all(isinstance(e, RateLimitError) for e in calls):
        waits = [e.retry_after_s for e in calls if isinstance(e, RateLimitError)]
        known = [w for w in waits if w is not None]
        headers = [(b"retry-after", b"%d" % math.ceil(min(known)))] if known else []
        return ApiError(
            429,
            message,
            type="rate_limit_error",
            code="rate_limit_exceeded",
            headers=headers,
        )
    if calls and all(isinstance(e, ProviderTimeoutError) for e in calls):
        return ApiError(504, message, type="upstream_error", code="upstream_timeout")
    if calls and all(_rejected_request(e) for e in calls):
        first = calls[0]
        body = first.body if isinstance(first, ProviderHTTPError) else ""
        return ApiError(
            400,
            f"the upstream rejected the request: {first} {body}".strip(),
            code="upstream_rejected",
        )
    return ApiError(502, message, type="upstream_error", code="upstream_error")


def _rejected_request(e: ProviderError) -> bool:
    """A 400 / 422 about the request itself (not the model): the same request fails anywhere."""
    return (
        isinstance(e, ProviderHTTPError)
        and not isinstance(e, ModelUnavailableError)
        and e.status_code in (400, 413, 422)
    )
