"""The one exception tree of tokenplan.

Callers decide from types and fields, never from message text::

    TokenplanError
    ├── ConfigError                      bad settings, flags or config file (exit code 2)
    │   ├── MissingKeyError(provider, env_var)
    │   └── UsageError                   bad user input on the CLI / API surface
    │       └── UnknownRunError(run_id, suggestions, candidates)
    ├── UnknownModelError(model_id, suggestions)
    ├── PlanError
    │   ├── PlanParseError(raw)
    │   └── InvalidPlanError(problems)   cycle | missing deps | duplicate ids | too many steps
    ├── BudgetError(budget_usd, spent_usd, requested_usd, minimum_usd)
    ├── RoutingError
    │   └── NoCandidateError(reasons)
    ├── LedgerError(path)
    ├── ProviderError(provider, model)   .retryable
    │   ├── ProviderHTTPError(status_code, body, headers)
    │   │   ├── RateLimitError           429 (retryable; .retry_after_s)
    │   │   ├── AuthenticationError      401
    │   │   ├── ModelUnavailableError    400 on the model, 402, 403, 404
    │   │   └── UpstreamServerError      5xx (retryable)
    │   ├── ProviderTimeoutError         (retryable)
    │   ├── ProviderConnectionError      (retryable; .sent: the request may have arrived)
    │   ├── ResponseFormatError(raw)     malformed body or stream (retryable)
    │   ├── ReplayMissError(prompt_key)  the replay provider has no record (benchmarks)
    │   └── CooledDownError(cause, until) skipped: the model or its endpoint is cooling down
    ├── AllCandidatesFailed              also an ExceptionGroup of the per-candidate errors
    ├── AcceptanceError(reason)          an answer failed its step's acceptance check
    └── StepFailedError(step_id)
        └── StepTimeoutError(timeout_s)  a step ran past the executor's step timeout

httpx exceptions are translated at the provider boundary (``raise X(...) from exc``) and never
leak. Messages never contain API keys: :func:`redact` is applied to every text that came from
the outside world before it is stored on an error.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

if sys.version_info < (3, 11):  # pragma: no cover - exercised on 3.10 only
    from exceptiongroup import ExceptionGroup

__all__ = [
    "AcceptanceError",
    "AllCandidatesFailed",
    "AuthenticationError",
    "BudgetError",
    "ConfigError",
    "CooledDownError",
    "InvalidPlanError",
    "LedgerError",
    "MissingKeyError",
    "ModelUnavailableError",
    "NoCandidateError",
    "PlanError",
    "PlanParseError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderHTTPError",
    "ProviderTimeoutError",
    "RateLimitError",
    "ReplayMissError",
    "ResponseFormatError",
    "RoutingError",
    "StepFailedError",
    "StepTimeoutError",
    "TokenplanError",
    "UnknownModelError",
    "UnknownRunError",
    "UpstreamServerError",
    "UsageError",
    "redact",
]

# Key shapes of the providers we speak to, plus bearer tokens in echoed headers. Anything that
# looks like a credential is replaced before it can reach a message, a log line or the ledger.
_SECRET_PATTERN = (
    r"(sk-[A-Za-z0-9_\-]{8,}|sk-ant-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,}"
    r"|xai-[A-Za-z0-9]{16,}|gsk_[A-Za-z0-9]{16,}|(?i:bearer)\s+[A-Za-z0-9._\-]{8,})"
)
_registered_secrets: set[str] = set()


@functools.cache
def _secret_re() -> re.Pattern[str]:
    # Compiled on first use: importing this module is on every command's start-up path.
    return re.compile(_SECRET_PATTERN)


def register_secret(value: str) -> None:
    """Remember a secret (for example a key read from the keys file) so :func:`redact` hides it."""
    if len(value) >= 6:
        _registered_secrets.add(value)


def redact(text: str, *, limit: int = 500) -> str:
    """Return ``text`` with anything that looks like a credential masked, cut to ``limit`` chars."""
    for secret in _registered_secrets:
        if secret in text:
            text = text.replace(secret, "***")
    text = _secret_re().sub("***", text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


class TokenplanError(Exception):
    """Base class of every error tokenplan raises on purpose."""

    #: CLI exit code for this class of error.
    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(TokenplanError):
    """Settings, flags or the config file are invalid."""

    exit_code = 2


class UsageError(ConfigError):
    """Invalid user input at the CLI or API surface (empty prompt, negative budget, ...)."""


class UnknownRunError(UsageError):
    """No run folder has this id (``suggestions`` holds close matches), or ``candidates`` > 1
    runs start with it (``suggestions`` holds the first few of them)."""

    def __init__(
        self, run_id: str, suggestions: Sequence[str] = (), *, candidates: int = 0
    ) -> None:
        self.run_id = run_id
        self.suggestions = tuple(suggestions)
        self.candidates = candidates
        if candidates > 1:
            more = ", ..." if candidates > len(self.suggestions) else ""
            super().__init__(
                f"run id prefix {run_id!r} matches {candidates} runs "
                f"({', '.join(self.suggestions)}{more}); give more of the id"
            )
            return
        hint = f" (did you mean {', '.join(self.suggestions)}?)" if self.suggestions else ""
        super().__init__(f"unknown run {run_id!r}{hint}; 'tokenplan runs' lists them")


class MissingKeyError(ConfigError):
    """A provider needs an API key that is not configured."""

    def __init__(self, provider: str, env_var: str) -> None:
        self.provider = provider
        self.env_var = env_var
        super().__init__(
            f"No key found for {provider} - set {env_var} or run 'tokenplan keys set {provider}'"
        )


class UnknownModelError(TokenplanError):
    """A model id is not in the catalog."""

    exit_code = 2

    def __init__(self, model_id: str, suggestions: Sequence[str] = ()) -> None:
        self.model_id = model_id
        self.suggestions = tuple(suggestions)
        hint = f" (did you mean {', '.join(self.suggestions)}?)" if self.suggestions else ""
        super().__init__(f"unknown model {model_id!r}{hint}; 'tokenplan models' lists them")


class PlanError(TokenplanError):
    """A plan could not be produced or is not valid."""


class PlanParseError(PlanError):
    """The planner's answer is not a parseable plan."""

    def __init__(self, message: str, *, raw: str = "") -> None:
        self.raw = raw
        super().__init__(message)


class InvalidPlanError(PlanError):
    """A parsed plan breaks the DAG rules; ``problems`` lists each one.

    ``message`` replaces the default ``"Invalid plan: <problems>"`` text (for context such as
    how many planner calls were made); ``problems`` is always the full list.
    """

    def __init__(self, problems: Sequence[str], *, message: str | None = None) -> None:
        self.problems = tuple(problems)
        super().__init__(message or "Invalid plan: " + "; ".join(self.problems))


class BudgetError(TokenplanError):
    """The budget cannot cover what was asked.

    ``minimum_usd`` names the smallest budget that would fit, when it is known.
    """

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        budget_usd: float,
        spent_usd: float = 0.0,
        requested_usd: float = 0.0,
        minimum_usd: float | None = None,
    ) -> None:
        self.budget_usd = budget_usd
        self.spent_usd = spent_usd
        self.requested_usd = requested_usd
        self.minimum_usd = minimum_usd
        super().__init__(message)


class RoutingError(TokenplanError):
    """The router could not make a choice."""


class NoCandidateError(RoutingError):
    """No model passes the constraints; ``reasons`` maps model id to why it was dropped."""

    exit_code = 2

    def __init__(self, message: str, *, reasons: Mapping[str, str] | None = None) -> None:
        self.reasons = dict(reasons or {})
        super().__init__(message)


class LedgerError(TokenplanError):
    """The ledger cannot be read or written."""

    exit_code = 2

    def __init__(self, message: str, *, path: str = "") -> None:
        self.path = path
        super().__init__(message)


class ProviderError(TokenplanError):
    """A model call failed. ``retryable`` says whether trying the same model again may help."""

    retryable: bool = False

    def __init__(self, message: str, *, provider: str = "", model: str = "") -> None:
        self.provider = provider
        self.model = model
        super().__init__(redact(message))


class ProviderHTTPError(ProviderError):
    """The provider answered with an HTTP error status.

    ``headers`` keys are lower-cased, so ``err.headers.get("retry-after")`` is a lookup.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: str = "",
        headers: Mapping[str, str] | None = None,
        provider: str = "",
        model: str = "",
    ) -> None:
        self.status_code = status_code
        self.body = redact(body, limit=2000)
        self.headers = {
            k.lower(): v for k, v in (headers or {}).items() if k.lower() != "authorization"
        }
        super().__init__(message, provider=provider, model=model)

    @property
    def retry_after_s(self) -> float | None:
        """Seconds the provider asked us to wait (``retry-after`` / ``retry-after-ms``), if any."""
        ms = self.headers.get("retry-after-ms")
        if ms is not None:
            try:
                return max(0.0, float(ms) / 1000.0)
            except ValueError:
                pass
        value = self.headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            return _http_date_delay(value)


def _http_date_delay(value: str) -> float | None:
    from datetime import datetime, timezone
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class RateLimitError(ProviderHTTPError):
    """HTTP 429."""

    retryable = True


class AuthenticationError(ProviderHTTPError):
    """HTTP 401: the key is missing, wrong or revoked."""


class ModelUnavailableError(ProviderHTTPError):
    """HTTP 400 on the model, 402, 403 or 404: drop this model for the run."""


class UpstreamServerError(ProviderHTTPError):
    """HTTP 5xx."""

    retryable = True


class ProviderTimeoutError(ProviderError):
    """The call did not finish in time.

    ``sent`` is false when the time ran out before the request was written (waiting for a free
    connection): then nothing can have been billed.
    """

    retryable = True

    def __init__(
        self, message: str, *, provider: str = "", model: str = "", sent: bool = True
    ) -> None:
        self.sent = sent
        super().__init__(message, provider=provider, model=model)


class ProviderConnectionError(ProviderError):
    """The connection could not be made or was dropped.

    ``sent`` is true when the failure came after the request was written: the provider may
    have received it, run it and billed it (the outcome is unknown); false when it never left
    (connection refused, DNS, TLS).
    """

    retryable = True

    def __init__(
        self, message: str, *, provider: str = "", model: str = "", sent: bool = False
    ) -> None:
        self.sent = sent
        super().__init__(message, provider=provider, model=model)


class ResponseFormatError(ProviderError):
    """The provider's body or stream could not be parsed."""

    retryable = True

    def __init__(self, message: str, *, raw: str = "", provider: str = "", model: str = "") -> None:
        self.raw = redact(raw, limit=2000)
        super().__init__(message, provider=provider, model=model)


class ReplayMissError(ProviderError):
    """The replay provider has no recorded response for this prompt and model.

    Not retryable: a recording does not appear by asking again. ``prompt_key`` is a short,
    stable digest of the prompt text (the text itself may be long or private); ``model`` is
    the model id that was asked for. An unknown *model* raises
    :class:`ModelUnavailableError` (404) instead, so fallback layers drop it like any other.
    """

    def __init__(
        self, message: str, *, prompt_key: str, provider: str = "", model: str = ""
    ) -> None:
        self.prompt_key = prompt_key
        super().__init__(message, provider=provider, model=model)


class CooledDownError(ProviderError):
    """A candidate skipped without a call: it, or its whole endpoint, is out for now.

    ``model`` is the skipped candidate and ``provider`` its endpoint; ``cause`` is the error
    that took it out (a 404 on the model, a 401 or a refused connection on the endpoint);
    ``until`` is when it may be tried again (seconds since the epoch), ``None`` when not in
    this process. ``whole_endpoint`` says the endpoint is out, not just the model;
    ``this_call`` that it is out for the rest of one call only (it could not be reached).
    Not retryable.
    """

    def __init__(
        self,
        *,
        model: str,
        endpoint: str,
        cause: ProviderError,
        until: float | None,
        whole_endpoint: bool = False,
        this_call: bool = False,
    ) -> None:
        self.cause = cause
        self.until = until
        self.whole_endpoint = whole_endpoint
        self.this_call = this_call
        what = f"endpoint {endpoint}" if whole_endpoint else "the model"
        if this_call:
            text = f"skipped: {what} failed earlier in this call: {cause}"
        else:
            if until is None:
                when = "for the rest of this process"
            else:
                import time

                when = "until " + time.strftime("%H:%M:%S UTC", time.gmtime(until))
            text = f"skipped: {what} is cooling down {when} after: {cause}"
        super().__init__(text, provider=endpoint, model=model)

    @property
    def retry_after_s(self) -> float | None:
        """Seconds until the candidate may be tried again (``None``: not known)."""
        if self.until is None:
            return None
        import time

        return max(0.0, self.until - time.time())


class AllCandidatesFailed(TokenplanError, ExceptionGroup):
    """Every model on the ladder failed; ``exceptions`` holds each candidate's error."""

    def __new__(cls, message: str, errors: Sequence[Exception]) -> AllCandidatesFailed:
        return super().__new__(cls, message, list(errors))

    def __init__(self, message: str, errors: Sequence[Exception]) -> None:
        # BaseExceptionGroup stores the message itself (read-only ``.message``).
        ExceptionGroup.__init__(self, message, list(errors))

    def __str__(self) -> str:
        """The summary, then each endpoint's errors; candidates skipped for an error already
        shown (an endpoint that refused or rejected the key) or failing with the same text are
        named, not repeated."""
        groups: dict[str, list[Exception]] = {}
        for e in self.exceptions:
            groups.setdefault(getattr(e, "provider", "") or "", []).append(e)
        parts = []
        for endpoint, errors in groups.items():
            shown: list[str] = []
            seen: list[BaseException] = []
            texts: set[str] = set()
            named: list[str] = []
            unnamed = 0
            for e in errors:
                cause = e.cause if isinstance(e, CooledDownError) else e
                model = getattr(e, "model", "") or ""
                if any(cause is c for c in seen) or str(e) in texts:
                    if model:
                        named.append(model)
                    else:
                        unnamed += 1
                    continue
                seen.append(cause)
                texts.add(str(e))
                shown.append(f"{model}: {e}" if model else str(e))
            if named:
                shown.append(f"also skipped: {', '.join(named)}")
            if unnamed:
                shown.append(f"{unnamed} more with the same error")
            text = "; ".join(shown)
            parts.append(f"[{endpoint}] {text}" if endpoint and len(groups) > 1 else text)
        detail = " | ".join(parts)
        return f"{self.message} ({detail})" if detail else self.message

    def derive(self, excs: Sequence[Exception]) -> AllCandidatesFailed:  # type: ignore[override]
        return AllCandidatesFailed(self.message, excs)


class AcceptanceError(TokenplanError):
    """A model's answer failed the acceptance check of the step that asked for it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class StepFailedError(TokenplanError):
    """A plan step could not be completed."""

    def __init__(self, message: str, *, step_id: str) -> None:
        self.step_id = step_id
        super().__init__(message)


class StepTimeoutError(StepFailedError):
    """A step ran longer than the executor's per-step timeout and was cancelled."""

    def __init__(self, message: str, *, step_id: str, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().__init__(message, step_id=step_id)


def error_summary(exc: BaseException) -> dict[str, Any]:
    """A short, secret-free ``{"type", "message"}`` description for ledgers and JSON output."""
    return {"type": type(exc).__name__, "message": redact(str(exc), limit=300)}
