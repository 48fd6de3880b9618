"""The source registry: every view of the sources, derived from the one table in db/sources/declared.py.

Each function reads `SOURCES` and `IMPORTERS` when called (they are a dozen entries), so nothing caches a copy
and a test can add a source with `monkeypatch.setitem(SOURCES, ...)` and see it everywhere. This package
imports nothing else of Tradewatch's: importers, sync, CLI, config and commands all depend on it, never the
other way round.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from db.sources.declared import IMPORTERS, SOURCES
from db.sources.spec import (
    Cadence,
    Importer,
    ImportOption,
    ImportPath,
    Source,
    SourceKind,
    SourceSettings,
    SyncMode,
    SyncSpec,
    opensanctions_dataset,
    settings_from_table,
)

__all__ = [
    "IMPORTERS",
    "SOURCES",
    "Cadence",
    "ImportOption",
    "ImportPath",
    "Importer",
    "Source",
    "SourceKind",
    "SourceSettings",
    "SyncMode",
    "SyncSource",
    "SyncSpec",
    "UnknownSource",
    "cadence_of",
    "default_settings",
    "get_sync_source",
    "importer_spec",
    "list_importers",
    "load_importer",
    "loaded_source_key",
    "opensanctions_dataset",
    "settings_from_table",
    "source_families",
    "sync_sources",
    "trade_preference",
    "watchable_sources",
]


def importer_spec(name: str) -> Importer:
    """The importer called `name`; KeyError for an unknown one."""
    return IMPORTERS[name]


def load_importer(name: str) -> Callable[..., Awaitable[Any]]:
    """The `run_import` function of an importer, its module imported now; KeyError for an unknown one.

    It returns a `db.ingest.base.IngestReport`; the module is imported by name so that the registry stays
    below the importers in the dependency graph.
    """
    module = importlib.import_module(IMPORTERS[name].module)
    fn: Callable[..., Awaitable[Any]] = module.run_import
    return fn


def list_importers() -> frozenset[str]:
    """Importers of list sources: their imports change entity names (the name index is rebuilt after them)."""
    return frozenset(s.importer for s in SOURCES.values() if s.kind == "list" and s.importer)


def watchable_sources() -> tuple[str, ...]:
    """List sources whose entries can change, in registry order (what `/watch add sources:` accepts)."""
    return tuple(s.key for s in SOURCES.values() if s.kind == "list" and s.importer)


def source_families() -> dict[str, tuple[str, ...]]:
    """Family name -> its member source keys (`ofac` -> `ofac_sdn`, `ofac_cons`)."""
    families: dict[str, tuple[str, ...]] = {}
    for source in SOURCES.values():
        if source.family:
            families[source.family] = (*families.get(source.family, ()), source.key)
    return families


def trade_preference() -> tuple[str, ...]:
    """Trade source keys, preferred first (see `Source.preference`)."""
    ranked = [s for s in SOURCES.values() if s.kind == "trade"]
    return tuple(s.key for s in sorted(ranked, key=lambda s: (s.preference is None, s.preference or 0)))


@dataclass(frozen=True)
class SyncSource:
    """A source as the sync sees it (its registry entry and its `SyncSpec`, flattened).

    Attributes:
        key: `tradewatch sync KEY`, the `[sync.KEY]` table, the sync_state row and the sources row.
        title: what `/sources` shows before anything is loaded (and the title a recorded source is filed under).
        mode: ``files``, ``opensanctions`` or ``record`` (see `SyncSpec`).
        importer: the importer that loads it (None for ``record``).
        defaults: the official URLs and schedule.
        import_folder: pass the importer the folder of fetched files instead of the one file.
        triggers: sources to sync at once when this one changes.
    """

    key: str
    title: str
    mode: SyncMode
    importer: str | None
    defaults: SourceSettings
    import_folder: bool = False
    triggers: tuple[str, ...] = ()


def sync_sources() -> dict[str, SyncSource]:
    """Every source `tradewatch sync` fetches, in registry order."""
    return {
        s.key: SyncSource(
            s.key,
            s.sync.title,
            s.sync.mode,
            s.importer,
            s.sync.defaults,
            s.sync.import_folder,
            s.sync.triggers,
        )
        for s in SOURCES.values()
        if s.sync is not None
    }


def cadence_of(key: str) -> Cadence | None:
    """How often the source's publisher releases data (None: not judged, or not a registry source)."""
    source = SOURCES.get(key)
    return source.cadence if source else None


def default_settings() -> dict[str, SourceSettings]:
    """The default `[sync.<key>]` settings of every synced source, in registry order."""
    return {key: s.defaults for key, s in sync_sources().items()}


class UnknownSource(KeyError):
    """`tradewatch sync` was given a name that is not a synced source."""

    def __str__(self) -> str:
        return f"unknown source {self.args[0]!r}; known: {', '.join(sync_sources())}"


def get_sync_source(key: str) -> SyncSource:
    """The synced source called `key`.

    Raises:
        UnknownSource: no such source.
    """
    try:
        return sync_sources()[key]
    except KeyError:
        raise UnknownSource(key) from None


def loaded_source_key(key: str, settings: SourceSettings) -> str:
    """The `sources.key` a synced source's snapshots are filed under (OpenSanctions: one per dataset)."""
    spec = get_sync_source(key)
    if spec.mode == "opensanctions" and settings.urls:
        return f"opensanctions:{opensanctions_dataset(settings.urls[0])}"
    return spec.key
