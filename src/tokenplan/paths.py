"""Where tokenplan keeps its files.

``TOKENPLAN_HOME`` puts everything (config, keys, ledger, runs) under one folder; otherwise the
config lives in ``$XDG_CONFIG_HOME/tokenplan`` and data in ``$XDG_DATA_HOME/tokenplan``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["Paths", "private_file"]


class Paths:
    """The config folder (config, keys, user models) and the data folder (ledger, runs).

    Immutable. A plain class rather than a dataclass: it is built on every command's path.
    """

    __slots__ = ("config_dir", "data_dir")
    config_dir: Path
    data_dir: Path

    def __init__(self, config_dir: Path, data_dir: Path) -> None:
        object.__setattr__(self, "config_dir", config_dir)
        object.__setattr__(self, "data_dir", data_dir)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Paths is immutable; cannot set {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Paths):
            return NotImplemented
        return (self.config_dir, self.data_dir) == (other.config_dir, other.data_dir)

    def __hash__(self) -> int:
        return hash((self.config_dir, self.data_dir))

    def __repr__(self) -> str:
        return f"Paths(config_dir={self.config_dir!r}, data_dir={self.data_dir!r})"

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
