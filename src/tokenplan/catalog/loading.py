"""Loading the catalog: bundled snapshot < OpenRouter refresh cache < user models file.

This runs on every command's path, so it stays light (orjson and the standard library; no
pydantic, no httpx) and caches: the bundled snapshot is parsed once per process, and the two
user-side files are re-read only when their size or modification time changes.

Layering rules:

* The **refresh cache** (``tokenplan models refresh``) updates the prices, limits and flags of
  bundled OpenRouter models in place - their tier, priors and aliases stay curated - and adds
  every other OpenRouter model it lists. An added model that is the same as a curated one
  (``extra["priors_from"]``, e.g. ``openrouter/openai/gpt-5`` and ``openai/gpt-5``) takes the
  curated model's current priors.
* The **user models file** comes last: it adds local or self-hosted models and may override
  any field of an existing model by id (see :mod:`tokenplan.catalog.user_models`).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenplan.catalog.catalog import BUNDLED_PATH, Catalog
from tokenplan.catalog.model import Model
from tokenplan.errors import ConfigError

if TYPE_CHECKING:
    from tokenplan.catalog.tiers import TierRule
    from tokenplan.catalog.user_models import UserModel
    from tokenplan.settings import Settings

__all__ = [
    "REFRESHABLE_FIELDS",
    "BundledSnapshot",
    "bundled_catalog",
    "bundled_snapshot",
    "load_catalog",
    "merge_refreshed",
    "read_refresh_cache",
]

#: Fields a refresh may change on a curated model; tier, priors, aliases and notes stay curated.
REFRESHABLE_FIELDS: tuple[str, ...] = (
    "input_per_mtok",
    "output_per_mtok",
    "cached_input_per_mtok",
    "cache_write_per_mtok",
    "reasoning_output_per_mtok",
    "context_window",
    "max_output_tokens",
    "json_schema",
    "tools",
    "reasoning",
)
REFRESH_SOURCE = "openrouter-refresh"

# (path, mtime_ns, size) of a file, or None when it does not exist.
_Signature = tuple[str, int, int] | None


class BundledSnapshot:
    """The parsed ``models.json`` shipped with the package.

    A plain class, not a dataclass, and the tier rule parsed on first use: this is built on
    every command's path, where class creation and imports are start-up time.
    """

    __slots__ = ("_rule", "_rule_doc", "models", "snapshot_date")

    def __init__(
        self,
        models: tuple[Model, ...],
        *,
        snapshot_date: str,
        tier_rule_doc: Mapping[str, Any] | None = None,
    ) -> None:
        self.models = models
        self.snapshot_date = snapshot_date
        self._rule_doc = tier_rule_doc
        self._rule: TierRule | None = None

    @property
    def tier_rule(self) -> TierRule:
        """The price rule the snapshot's tiers were assigned by (also used for new models)."""
        if self._rule is None:
            from tokenplan.catalog.tiers import DEFAULT_TIER_RULE, TierRule

            doc = self._rule_doc
            self._rule = DEFAULT_TIER_RULE if doc is None else TierRule.from_dict(doc)
        return self._rule


@functools.cache
def bundled_snapshot() -> BundledSnapshot:
    """The bundled snapshot, parsed once per process."""
    import orjson  # also what the CLI writes JSON with: one parser on the start-up path

    doc = orjson.loads(BUNDLED_PATH.read_bytes())
    return BundledSnapshot(
        tuple(Model.from_dict(r) for r in doc["models"]),
        snapshot_date=str(doc.get("snapshot_date", "")),
        tier_rule_doc=doc.get("tier_rule"),
    )


@functools.cache
def bundled_catalog() -> Catalog:
    """A :class:`Catalog` of the bundled snapshot only (shared, immutable)."""
    return Catalog(bundled_snapshot().models, sources=("bundled",))


def load_catalog(settings: Settings | None = None) -> Catalog:
    """The catalog for ``settings``: bundled snapshot, refresh cache, then the user models file.

    ``settings`` defaults to :meth:`Settings.load() <tokenplan.settings.Settings.load>`. Raises
    :class:`~tokenplan.errors.ConfigError` when the user models file or the refresh cache is
    invalid (the message names the file, the entry and the field).
    """
    if settings is None:
        from tokenplan.settings import Settings

        settings = Settings.load()
    refresh_path = settings.paths.refreshed_catalog_file
    user_path = settings.paths.models_file
    key = (_signature(refresh_path), _signature(user_path))
    cached = _loaded.get(key)
    if cached is not None:
        return cached
    catalog = _build(*key)
    if len(_loaded) >= 8:
        _loaded.clear()
    _loaded[key] = catalog
    return catalog


# Merged catalogs by input signatures: a cache, so a process that loads repeatedly pays once.
_loaded: dict[tuple[_Signature, _Signature], Catalog] = {}


def _build(refresh: _Signature, user: _Signature) -> Catalog:
    base = bundled_catalog()
    if refresh is None and user is None:
        return base
    by_id = {m.id: m for m in base.models}
    sources = ["bundled"]
    if refresh is not None:
        merge_refreshed(by_id, _read_refresh_cache(refresh))
        sources.append(refresh[0])
    if user is not None:
        from tokenplan.catalog.user_models import apply_user_models

        rule = bundled_snapshot().tier_rule
        apply_user_models(by_id, _parse_user_file(user), path=Path(user[0]), rule=rule)
        sources.append(user[0])
    return Catalog(by_id.values(), sources=sources)


def merge_refreshed(by_id: dict[str, Model], refreshed: Sequence[Model]) -> None:
    """Apply refresh-cache rows to ``by_id`` (modified in place), by the rules above."""
    curated = dict(by_id)
    for row in refreshed:
        current = curated.get(row.id)
        if current is not None:
            changes = {f: getattr(row, f) for f in REFRESHABLE_FIELDS}
            # OpenRouter's own long-context price step replaces the curated one (or its absence).
            extra = {k: v for k, v in current.extra.items() if k != "long_context"}
            if "long_context" in row.extra:
                extra["long_context"] = row.extra["long_context"]
            by_id[row.id] = dataclasses.replace(
                current, source=REFRESH_SOURCE, extra=extra, **changes
            )
            continue
        twin = curated.get(str(row.extra.get("priors_from", "")))
        if twin is not None:
            row = dataclasses.replace(row, quality=dict(twin.quality))
        # Aliases belong to curated models; a row cached by an older package may still carry
        # some, and they must not compete with today's.
        by_id[row.id] = dataclasses.replace(row, aliases=()) if row.aliases else row


def read_refresh_cache(path: Path) -> tuple[Model, ...]:
    """The model rows of a refresh cache file (cached by size and modification time)."""
    sig = _signature(path)
    if sig is None:
        return ()
    return _read_refresh_cache(sig)


@functools.lru_cache(maxsize=4)
def _read_refresh_cache(sig: tuple[str, int, int]) -> tuple[Model, ...]:
    path = Path(sig[0])
    hint = "run 'tokenplan models refresh' again or delete it"
    data = _read_bytes(path, "refresh cache")
    import orjson

    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"refresh cache {path} is not valid JSON ({exc}); {hint}") from None
    rows = doc.get("models") if isinstance(doc, Mapping) else None
    if not isinstance(rows, list):
        raise ConfigError(f"refresh cache {path} has no 'models' list; {hint}")
    try:
        return tuple(Model.from_dict(r) for r in rows)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"refresh cache {path} has a malformed row ({exc}); {hint}") from None


@functools.lru_cache(maxsize=4)
def _parse_user_file(sig: tuple[str, int, int]) -> tuple[UserModel, ...]:
    from tokenplan.catalog.user_models import parse_user_models

    path = Path(sig[0])
    try:
        text = _read_bytes(path, "models file").decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"models file {path} is not UTF-8 text") from None
    return parse_user_models(text, path=path)


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}") from None


def _signature(path: Path) -> _Signature:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    return (str(path), st.st_mtime_ns, st.st_size)
