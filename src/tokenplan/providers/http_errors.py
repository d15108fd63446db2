"""How the outside world's HTTP failures become :mod:`tokenplan.errors` types.

=====================================  ==============================================
HTTP 429                               :class:`~tokenplan.errors.RateLimitError`
HTTP 401                               :class:`~tokenplan.errors.AuthenticationError`
HTTP 402, 403, 404, 400 on the model   :class:`~tokenplan.errors.ModelUnavailableError`
HTTP 5xx (Anthropic's 529 included)    :class:`~tokenplan.errors.UpstreamServerError`
other HTTP 3xx / 4xx                   :class:`~tokenplan.errors.ProviderHTTPError`
                                       (retryable for 408, 409 and 425 only)
error event inside a 200 stream        the class its status would have had
httpx timeouts / deadline passed       :class:`~tokenplan.errors.ProviderTimeoutError`
connect errors and connect timeouts,   :class:`~tokenplan.errors.ProviderConnectionError`
read / protocol errors                 (``sent`` unless it failed before writing)
bad JSON, truncated stream             :class:`~tokenplan.errors.ResponseFormatError`
=====================================  ==============================================

Decisions use status codes and the vendors' structured error fields, never message text, and
URLs are shown without credentials (:func:`~tokenplan.providers.endpoints.display_url`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from tokenplan.errors import (
    AuthenticationError,
    ModelUnavailableError,
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    ProviderTimeoutError,
    RateLimitError,
    ResponseFormatError,
    UpstreamServerError,
    redact,
)
from tokenplan.providers._h1conn import ClosedBeforeUse
from tokenplan.providers.dialects import WireDialect
from tokenplan.providers.endpoints import display_url

__all__ = ["ErrorFactory", "error_for_status"]

_RETRYABLE_4XX = frozenset({408, 409, 425})

#: httpx failures raised before any byte of the request was written.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, ClosedBeforeUse)


def error_for_status(
    status: int,
    body: bytes | str,
    headers: Mapping[str, str],
    *,
    dialect: WireDialect,
    provider: str,
    model: str,
) -> ProviderHTTPError:
    """The typed error for an HTTP error answer (see the module docstring's table)."""
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        parsed: Any = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        parsed = None
    info = dialect.error_info(status, parsed)
    hdrs = {k.lower(): redact(v, limit=1000) for k, v in headers.items()}
    if info.retry_after_s is not None and not ("retry-after" in hdrs or "retry-after-ms" in hdrs):
        # The body's structured retry hint (Gemini RetryInfo) stands in for the missing header.
        hdrs["retry-after"] = format(info.retry_after_s, "g")
    message = f"{provider} answered HTTP {status}"
    if info.kind:
        message += f" ({info.kind})"
    if info.message:
        message += f": {info.message}"
    cls: type[ProviderHTTPError]
    if status == 429:
        cls = RateLimitError
    elif status == 401:
        cls = AuthenticationError
    elif status in (402, 403, 404) or (status == 400 and info.on_model):
        cls = ModelUnavailableError
    elif status >= 500:
        cls = UpstreamServerError
    else:
        cls = ProviderHTTPError
    err = cls(message, status_code=status, body=raw, headers=hdrs, provider=provider, model=model)
    if cls is ProviderHTTPError and status in _RETRYABLE_4XX:
        err.retryable = True
    return err


class ErrorFactory:
    """The errors of one model on one endpoint, with the provider and model filled in."""

    __slots__ = ("base_url", "dialect", "model", "provider")

    def __init__(self, *, dialect: WireDialect, provider: str, model: str, base_url: str) -> None:
        self.dialect = dialect
        self.provider = provider
        self.model = model
        self.base_url = base_url

    def status(
        self, status: int, body: bytes | str, headers: Mapping[str, str]
    ) -> ProviderHTTPError:
        return error_for_status(
            status, body, headers, dialect=self.dialect, provider=self.provider, model=self.model
        )

    def timeout(self, timeout_s: float) -> ProviderTimeoutError:
        return ProviderTimeoutError(
            f"{self.provider} did not answer within {timeout_s:g}s",
            provider=self.provider,
            model=self.model,
        )

    def format(self, reason: str, raw: bytes | str) -> ResponseFormatError:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return ResponseFormatError(
            f"{self.provider}: {reason}", raw=text, provider=self.provider, model=self.model
        )

    def bad_url(self, exc: Exception) -> ProviderConnectionError:
        err = ProviderConnectionError(
            f"{self.provider}: invalid base URL {display_url(self.base_url)!r}: {exc}",
            provider=self.provider,
            model=self.model,
        )
        err.retryable = False
        return err

    def bad_header(self) -> ProviderConnectionError:
        err = ProviderConnectionError(
            f"{self.provider}: a configured header or key holds characters HTTP headers cannot "
            "carry (line breaks or non-Latin-1 text); check the key and endpoint headers",
            provider=self.provider,
            model=self.model,
        )
        err.retryable = False
        return err

    def transport(self, exc: httpx.HTTPError) -> ProviderError:
        """The error for an httpx exception raised while sending or reading."""
        where = f"{self.provider} at {display_url(self.base_url)}"
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, httpx.ConnectTimeout):
            # No connection, so nothing was sent: like a refused connection, not a timeout
            # of the call (which may have been run and billed).
            return ProviderConnectionError(
                f"{where}: connection timed out ({detail})",
                provider=self.provider,
                model=self.model,
                sent=False,
            )
        if isinstance(exc, httpx.TimeoutException):
            return ProviderTimeoutError(
                f"{where} timed out ({detail})",
                provider=self.provider,
                model=self.model,
                sent=not isinstance(exc, httpx.PoolTimeout),  # no free connection: never sent
            )
        if isinstance(exc, httpx.DecodingError):
            return ResponseFormatError(
                f"{where}: undecodable body ({detail})", provider=self.provider, model=self.model
            )
        if isinstance(exc, httpx.UnsupportedProtocol):
            return self.bad_url(exc)
        return ProviderConnectionError(
            f"{where}: connection failed ({detail})",
            provider=self.provider,
            model=self.model,
            sent=not isinstance(exc, _NOT_SENT),
        )
