"""API keys stored by ``tokenplan keys set``: a JSON file at mode 0600.

Environment variables win over the file
(see :func:`tokenplan.providers.endpoints.resolve_endpoint`).
Every key read here is registered with :func:`tokenplan.errors.register_secret`, so
:func:`tokenplan.errors.redact` hides it from messages, logs and the ledger.
"""

from __future__ import annotations

import os
from pathlib import Path

from tokenplan.errors import ConfigError, register_secret

__all__ = ["KeyStore", "mask_key"]


def mask_key(key: str) -> str:
    """A display form that identifies a key without revealing it: ``sk-...abcd``."""
    key = key.strip()
    if len(key) < 12:
        return "***"
    prefix = key.split("-", 1)[0] + "-" if "-" in key[:8] else key[:3]
    return f"{prefix}...{key[-4:]}"


class KeyStore:
    """The keys file: ``{"openai": "sk-...", ...}``, created 0600, written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, str]:
        """Stored keys by endpoint name (empty when the file does not exist)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigError(f"cannot read keys file {self.path}: {exc.strerror}") from None
        if not raw.strip():
            return {}
        import json

        try:
            data = json.loads(raw)
        except ValueError:
            raise ConfigError(
                f"keys file {self.path} is not valid JSON; fix or delete it and run "
                "'tokenplan keys set PROVIDER' again"
            ) from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise ConfigError(f"keys file {self.path} must map provider names to key strings")
        for value in data.values():
            register_secret(value)
        return dict(data)

    def set(self, name: str, key: str) -> None:
        """Store ``key`` for endpoint ``name`` (replacing any previous one)."""
        key = key.strip()
        if not key:
            raise ConfigError("empty key; nothing stored")
        register_secret(key)
        keys = self.load()
        keys[name] = key
        self._write(keys)

    def remove(self, name: str) -> bool:
        """Forget the key for ``name``; False when none was stored."""
        keys = self.load()
        if name not in keys:
            return False
        del keys[name]
        self._write(keys)
        return True

    def _write(self, keys: dict[str, str]) -> None:
        import json

        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(keys, fh, indent=2, sort_keys=True)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)  # an existing umask or file must not widen it
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
