"""``tokenplan models refresh``: fetch OpenRouter's model list and cache it as catalog rows.

``GET {base}/api/v1/models`` (no key needed; ``Authorization: Bearer $OPENROUTER_API_KEY`` is
sent when set) answers ``{"data": [...]}``, one object per model with ``id``
(``vendor/model``), ``name``, ``context_length``, ``architecture`` (input/output modalities),
``pricing`` (**strings of USD per token**: ``prompt``, ``completion``, ``input_cache_read``,
``input_cache_write``, ``internal_reasoning``, ``request``, ``overrides``...),
``top_provider.max_completion_tokens`` and ``supported_parameters``.

How entries become catalog rows: :mod:`tokenplan.catalog.openrouter_models`.

The cache is written atomically (temporary file + rename) only after a complete, successful
conversion: a network, HTTP or parse failure leaves the previous cache untouched.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tokenplan.catalog.loading import bundled_snapshot
from tokenplan.catalog.openrouter_models import DEFAULT_PRIORS, ConversionResult, convert_models
from tokenplan.errors import (
    AuthenticationError,
    ConfigError,
    ProviderConnectionError,
    ProviderHTTPError,
    ProviderTimeoutError,
    ResponseFormatError,
    register_secret,
)

if TYPE_CHECKING:
    import httpx

    from tokenplan.settings import Settings

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_PRIORS",
    "ConversionResult",
    "RefreshResult",
    "convert_models",
    "openrouter_base_url",
    "refresh_catalog",
]

DEFAULT_BASE_URL = "https://openrouter.ai"
BASE_URL_ENV = "TOKENPLAN_OPENROUTER_BASE_URL"
KEY_ENV = "OPENROUTER_API_KEY"


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What ``tokenplan models refresh`` did."""

    base_url: str
    cache_file: Path
    fetched_at: str
    listed: int
    conversion: ConversionResult

    def to_dict(self) -> dict[str, Any]:
        c = self.conversion
        return {
            "base_url": self.base_url,
            "cache_file": str(self.cache_file),
            "fetched_at": self.fetched_at,
            "listed": self.listed,
            "updated": len(c.updated),
            "added": len(c.added),
            "skipped": sum(c.skipped.values()),
            "skipped_by_reason": dict(sorted(c.skipped.items())),
            "updated_ids": list(c.updated),
            "missing_ids": list(c.missing),
        }


# -- settings -----------------------------------------------------------------------------------


def openrouter_base_url(settings: Settings) -> str:
    """Where to fetch from: ``TOKENPLAN_OPENROUTER_BASE_URL`` > ``[endpoints.openrouter]
    base_url`` > ``https://openrouter.ai``. A trailing ``/api/v1`` (the chat API base) is
    accepted and dropped, so one endpoint setting serves both."""
    raw = settings.env.get(BASE_URL_ENV) or ""
    source = BASE_URL_ENV
    if not raw:
        endpoint = settings.endpoints.get("openrouter")
        if isinstance(endpoint, Mapping) and endpoint.get("base_url"):
            raw, source = endpoint["base_url"], "endpoints.openrouter.base_url"
    if not raw:
        return DEFAULT_BASE_URL
    parts = urlsplit(raw) if isinstance(raw, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{source}: expected an http(s) URL, got {raw!r}")
    base = str(raw).rstrip("/")
    return base[: -len("/api/v1")] if base.endswith("/api/v1") else base


# -- fetch --------------------------------------------------------------------------------------


async def refresh_catalog(
    settings: Settings,
    *,
    client: httpx.AsyncClient | None = None,
    timeout_s: float | None = None,
) -> RefreshResult:
    """Fetch OpenRouter's model list, convert it and write the refresh cache atomically.

    ``client`` is used as given (inject a transport for tests, or pass the runtime's shared
    client); otherwise a short-lived one is opened. ``timeout_s`` defaults to the settings'
    ``request_timeout_s`` (``TOKENPLAN_TIMEOUT``). Raises :class:`ProviderError` subclasses
    for network, HTTP and format failures (the cache is then left as it was) and
    :class:`ConfigError` for a bad base URL or an unwritable data folder.
    """
    base = openrouter_base_url(settings)
    url = f"{base}/api/v1/models"
    timeout_s = settings.request_timeout_s if timeout_s is None else timeout_s
    headers = {"Accept": "application/json", "User-Agent": _user_agent()}
    key = settings.env.get(KEY_ENV)
    if key:
        register_secret(key)
        headers["Authorization"] = f"Bearer {key}"
    if client is None:
        import httpx

        async with httpx.AsyncClient() as own:
            doc = await _get_json(own, url, headers, timeout_s)
    else:
        doc = await _get_json(client, url, headers, timeout_s)
    snapshot = bundled_snapshot()
    listed = (
        len(doc["data"]) if isinstance(doc, Mapping) and isinstance(doc.get("data"), list) else 0
    )
    result = convert_models(doc, bundled=snapshot.models, rule=snapshot.tier_rule)
    fetched_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    cache = settings.paths.refreshed_catalog_file
    _write_cache(
        cache,
        {
            "version": 1,
            "source": "openrouter",
            "base_url": base,
            "fetched_at": fetched_at,
            "models": [m.to_dict() for m in result.models],
        },
    )
    return RefreshResult(
        base_url=base, cache_file=cache, fetched_at=fetched_at, listed=listed, conversion=result
    )


async def _get_json(
    client: httpx.AsyncClient, url: str, headers: Mapping[str, str], timeout_s: float
) -> Any:
    import httpx
    import orjson

    from tokenplan.providers.endpoints import display_url

    try:
        resp = await client.get(url, headers=headers, timeout=timeout_s, follow_redirects=True)
    except httpx.TimeoutException as exc:
        raise ProviderTimeoutError(
            f"OpenRouter did not answer within {timeout_s:g}s ({display_url(url)})",
            provider="openrouter",
        ) from exc
    except httpx.HTTPError as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ProviderConnectionError(
            f"cannot reach OpenRouter at {display_url(url)}: {reason}", provider="openrouter"
        ) from exc
    if resp.status_code >= 400:
        raise _http_error(resp, url)
    try:
        return orjson.loads(resp.content)
    except orjson.JSONDecodeError as exc:
        raise ResponseFormatError(
            f"OpenRouter's model list is not valid JSON ({exc})",
            raw=resp.text[:2000],
            provider="openrouter",
        ) from exc


def _http_error(resp: httpx.Response, url: str) -> ProviderHTTPError:
    """The error any provider call would raise for this answer (one mapping, redacted headers),
    saying which request it was."""
    from tokenplan.providers.dialects import get_dialect
    from tokenplan.providers.endpoints import display_url
    from tokenplan.providers.http_errors import error_for_status

    err = error_for_status(
        resp.status_code,
        resp.content,
        resp.headers,
        dialect=get_dialect("openai"),  # OpenRouter's error bodies are OpenAI's
        provider="openrouter",
        model="",
    )
    hint = (
        f" (check {KEY_ENV}; the list needs no key)" if isinstance(err, AuthenticationError) else ""
    )
    err.message = f"{err.message} for GET {display_url(url)}{hint}"
    err.args = (err.message,)
    return err


def _user_agent() -> str:
    from tokenplan import __version__

    return f"tokenplan/{__version__}"


# -- cache file ---------------------------------------------------------------------------------


def _write_cache(path: Path, doc: Mapping[str, Any]) -> None:
    """Write ``doc`` as JSON to ``path`` atomically: readers see the old file or the new one."""
    import orjson

    data = orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the refresh cache in {path.parent}: {exc.strerror}"
        ) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise ConfigError(f"cannot write the refresh cache {path}: {exc.strerror}") from None
        raise
