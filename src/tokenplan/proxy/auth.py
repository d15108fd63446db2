"""Bearer-key authentication: which :class:`~tokenplan.proxy.config.ProxyKey` a request is.

A presented key is hashed (SHA-256) and looked up by digest, then compared in constant time,
so the proxy never holds or compares plain keys. With no keys configured every request is the
config's anonymous identity.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from tokenplan.proxy.config import ProxyConfig, ProxyKey, key_digest
from tokenplan.proxy.errors import ApiError

__all__ = ["KeyRing"]

_BEARER = b"bearer "


class KeyRing:
    """Resolves the ``authorization`` header of a request to a key (or raises a 401)."""

    __slots__ = ("_anonymous", "_by_digest")

    def __init__(self, config: ProxyConfig) -> None:
        self._by_digest = {k.digest: k for k in config.keys}
        self._anonymous = None if config.keys else config.anonymous

    @property
    def required(self) -> bool:
        """Whether requests must present a key."""
        return self._anonymous is None

    def authenticate(self, headers: Iterable[tuple[bytes, bytes]]) -> ProxyKey:
        """The key of a request with these (lower-cased) ASGI headers."""
        if self._anonymous is not None:
            return self._anonymous
        for name, value in headers:
            if name == b"authorization":
                if value[:7].lower() != _BEARER:
                    break
                token = value[7:].strip()
                digest = key_digest(token)
                found = self._by_digest.get(digest)
                if found is not None and hmac.compare_digest(found.digest, digest):
                    return found
                raise ApiError(
                    401,
                    "Incorrect API key provided. Use a key configured for this tokenplan proxy.",
                    type="invalid_request_error",
                    code="invalid_api_key",
                )
        raise ApiError(
            401,
            "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
            type="invalid_request_error",
            code="missing_api_key",
        )
