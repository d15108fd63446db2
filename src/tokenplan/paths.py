"""Where tokenplan keeps its files.

``TOKENPLAN_HOME`` puts everything (config, keys, ledger, runs) under one folder; otherwise the
config lives in ``$XDG_CONFIG_HOME/tokenplan`` and data in ``$XDG_DATA_HOME/tokenplan``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Paths", "private_file"]


@dataclass(frozen=True, slots=True)
class Paths:
    config_dir: Path
    data_dir: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Paths:
        env = os.environ if env is None else env
        home = env.get("TOKENPLAN_HOME")
        if home:
            root = Path(home).expanduser()
            return cls(config_dir=root, data_dir=root)
        user_home = Path(env.get("HOME") or Path.home())
        config = Path(env.get("XDG_CONFIG_HOME") or user_home / ".config") / "tokenplan"
        data = Path(env.get("XDG_DATA_HOME") or user_home / ".local" / "share") / "tokenplan"
        return cls(config_dir=config, data_dir=data)

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def keys_file(self) -> Path:
        return self.config_dir / "keys.json"

    @property
    def models_file(self) -> Path:
        """User models (local / self-hosted), TOML."""
        return self.config_dir / "models.toml"

    @property
    def ledger_file(self) -> Path:
        return self.data_dir / "ledger.jsonl"

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    @property
    def refreshed_catalog_file(self) -> Path:
        """Cache written by ``tokenplan models refresh``."""
        return self.data_dir / "openrouter-models.json"


def private_file(path: Path) -> Path:
    """Create ``path`` (and its folder) if missing, with mode 0600; return it.

    Used for every file that may hold keys or prompts.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    return path
