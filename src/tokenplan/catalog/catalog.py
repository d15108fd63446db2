"""The model catalog: the bundled snapshot, plus refreshed and user-defined models.

Layers, later ones winning on the same id (see :func:`tokenplan.catalog.load_catalog`):

1. the bundled snapshot ``tokenplan/catalog/models.json`` (built by ``scripts/build_catalog.py``),
2. the OpenRouter refresh cache written by ``tokenplan models refresh`` (``openrouter-models.json``
   in the data folder),
3. the user's models file (``models.toml`` in the config folder) for local or self-hosted models.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tokenplan.catalog.model import Model
from tokenplan.errors import UnknownModelError

__all__ = ["BUNDLED_PATH", "Catalog"]

BUNDLED_PATH = Path(__file__).with_name("models.json")


class Catalog:
    """An immutable, indexed collection of :class:`Model` rows."""

    __slots__ = ("_by_id", "_by_name", "models", "sources")

    def __init__(self, models: Iterable[Model], *, sources: Sequence[str] = ()) -> None:
        by_id: dict[str, Model] = {}
        for m in models:
            by_id[m.id] = m  # later rows override earlier ones with the same id
        self.models: tuple[Model, ...] = tuple(by_id.values())
        self._by_id = by_id
        by_name: dict[str, Model] = {}
        # Aliases and bare API names resolve too, but never shadow a real id.
        for m in self.models:
            for name in (*m.aliases, m.api_name):
                if name not in by_id:
                    by_name.setdefault(name, m)
        self._by_name = by_name
        self.sources = tuple(sources)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def bundled(cls) -> Catalog:
        """The snapshot shipped with the package (parsed once per process).

        Use :func:`~tokenplan.catalog.load_catalog` to include refreshed and user models.
        """
        from tokenplan.catalog.loading import bundled_catalog

        return bundled_catalog()

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, Any]], *, source: str = "memory") -> Catalog:
        return cls((Model.from_dict(r) for r in rows), sources=(source,))

    def merged(self, models: Iterable[Model], *, source: str) -> Catalog:
        """A new catalog with ``models`` added (replacing rows with the same id)."""
        return Catalog((*self.models, *models), sources=(*self.sources, source))

    # -- lookup -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.models)

    def __iter__(self) -> Iterator[Model]:
        return iter(self.models)

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._by_id or model_id in self._by_name

    def find(self, model_id: str) -> Model | None:
        """The model for an id, alias or bare API name, or ``None``."""
        return self._by_id.get(model_id) or self._by_name.get(model_id)

    def get(self, model_id: str) -> Model:
        """The model for an id, alias or bare API name; :class:`UnknownModelError` otherwise."""
        m = self.find(model_id)
        if m is None:
            raise UnknownModelError(model_id, self.suggest(model_id))
        return m

    def suggest(self, model_id: str, *, n: int = 3) -> list[str]:
        """Close matches for a mistyped id."""
        import difflib

        return difflib.get_close_matches(model_id, list(self._by_id), n=n, cutoff=0.5)

    def filter(
        self,
        *,
        capability: str | None = None,
        tier: str | None = None,
        provider: str | None = None,
    ) -> list[Model]:
        """Models matching every given criterion, in catalog order."""
        return [
            m
            for m in self.models
            if (capability is None or m.can(capability))
            and (tier is None or m.tier == tier)
            and (provider is None or m.provider == provider)
        ]

    @property
    def providers(self) -> list[str]:
        return sorted({m.provider for m in self.models})
