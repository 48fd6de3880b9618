"""The catalogue of sources that `tradewatch sync` fetches from their publishers, with their official URLs.

Every URL, interval and staleness threshold here is only a default: `[sync.<source>]` tables in the config
override them (tests point them at a local server). A source is one of three kinds:

- ``files``: one or more files fetched together and imported as one snapshot (OFAC's four CSVs, the CSL JSON,
  the HS table). Every configured URL is required: importing `sdn.csv` without `add.csv` would look like every
  address had been removed.
- ``opensanctions``: a dataset's `index.json`; the first sync imports a full export (baseline), later syncs apply
  the dataset's delta files in version order.
- ``record``: fetched and recorded as a snapshot, not imported (OFAC's Sanctions List Service change file). When it
  moves, the sources it ``triggers`` are synced at once instead of waiting for their own interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

OFAC_DOWNLOADS = "https://www.treasury.gov/ofac/downloads/"


@dataclass(frozen=True)
class SourceSettings:
    """The configurable part of a synced source (a `[sync.<source>]` table in the config).

    Attributes:
        enabled: whether the schedule inside `tradewatch serve` syncs it (`tradewatch sync SOURCE` always may).
        urls: the files to fetch; for OpenSanctions the dataset's `index.json`.
        interval_minutes: how often the schedule checks it (a conditional request: cheap when unchanged).
        stale_hours: `/sources` flags the source when it has not been confirmed current for this long.
        resource: OpenSanctions only: which export of the dataset index to import as the baseline.
    """

    enabled: bool = True
    urls: tuple[str, ...] = ()
    interval_minutes: float = 60.0
    stale_hours: float = 48.0
    resource: str = ""


@dataclass(frozen=True)
class SyncSource:
    """A source the sync knows how to fetch and load.

    Attributes:
        key: the name used by `tradewatch sync KEY`, the config table and the sync_state row.
        title: what `/sources` shows.
        catalogue_key: the `db.ingest.base.CATALOGUE` key its snapshots are filed under (for citations).
        kind: ``files``, ``opensanctions`` or ``record`` (see the module docstring).
        importer: the `db.ingest.registry.IMPORTERS` name that loads it (None for ``record``).
        import_folder: pass the importer the folder of fetched files (multi-file sets) instead of the one file.
        triggers: sources to sync right away when this one changes.
        defaults: the official URLs and schedule.
    """

    key: str
    title: str
    catalogue_key: str
    kind: str
    importer: str | None
    defaults: SourceSettings
    import_folder: bool = False
    triggers: tuple[str, ...] = field(default=())


def _ofac(names: list[str]) -> tuple[str, ...]:
    return tuple(OFAC_DOWNLOADS + name for name in names)


SYNC_SOURCES: dict[str, SyncSource] = {
    s.key: s
    for s in [
        SyncSource(
            "ofac_sdn",
            "OFAC SDN list (legacy CSV set)",
            "ofac_sdn",
            "files",
            "ofac",
            SourceSettings(
                urls=_ofac(["sdn.csv", "add.csv", "alt.csv", "sdn_comments.csv"]),
                interval_minutes=60,
                stale_hours=48,
            ),
            import_folder=True,
        ),
        SyncSource(
            "ofac_cons",
            "OFAC Consolidated (non-SDN) list (CSV set)",
            "ofac_cons",
            "files",
            "ofac",
            SourceSettings(
                urls=_ofac(["cons_prim.csv", "cons_add.csv", "cons_alt.csv", "cons_comments.csv"]),
                interval_minutes=180,
                stale_hours=72,
            ),
            import_folder=True,
        ),
        SyncSource(
            "ofac_changes",
            "OFAC Sanctions List Service change file",
            "ofac_changes",
            "record",
            None,
            SourceSettings(
                urls=("https://sanctionslistservice.ofac.treas.gov/changes/latest",),
                interval_minutes=30,
                stale_hours=24,
            ),
            triggers=("ofac_sdn", "ofac_cons"),
        ),
        SyncSource(
            "csl",
            "trade.gov Consolidated Screening List (JSON)",
            "csl",
            "files",
            "csl",
            SourceSettings(
                urls=("https://api.trade.gov/static/consolidated_screening_list/consolidated.json",),
                interval_minutes=360,
                stale_hours=72,
            ),
        ),
        SyncSource(
            "opensanctions",
            "OpenSanctions dataset (index, exports and deltas)",
            "opensanctions",
            "opensanctions",
            "opensanctions",
            SourceSettings(
                urls=("https://data.opensanctions.org/datasets/latest/sanctions/index.json",),
                interval_minutes=360,
                stale_hours=48,
                resource="entities.ftm.json",
            ),
        ),
        SyncSource(
            "hs",
            "Harmonized System nomenclature",
            "hs",
            "files",
            "hs",
            SourceSettings(
                urls=(
                    "https://raw.githubusercontent.com/datasets/harmonized-system/main/data/harmonized-system.csv",
                ),
                interval_minutes=7 * 24 * 60,
                stale_hours=120 * 24,
            ),
        ),
    ]
}

DEFAULT_SETTINGS: dict[str, SourceSettings] = {key: s.defaults for key, s in SYNC_SOURCES.items()}


class UnknownSource(KeyError):
    """`tradewatch sync` was given a name that is not in the catalogue."""

    def __str__(self) -> str:
        return f"unknown source {self.args[0]!r}; known: {', '.join(SYNC_SOURCES)}"


def get_sync_source(key: str) -> SyncSource:
    """The catalogue entry for `key`.

    Raises:
        UnknownSource: no such source.
    """
    try:
        return SYNC_SOURCES[key]
    except KeyError:
        raise UnknownSource(key) from None


def settings_from_table(key: str, table: Mapping[str, Any]) -> SourceSettings:
    """Overlay a `[sync.<key>]` config table on the source's defaults.

    Args:
        key: the source key (for error messages and defaults).
        table: the TOML table; unknown keys and wrong types raise ValueError naming the key.
    Returns:
        The merged settings.
    """
    base = DEFAULT_SETTINGS.get(key, SourceSettings())
    where = f"[sync.{key}]"
    values: dict[str, Any] = {}
    for name, value in table.items():
        if name == "urls":
            urls = [value] if isinstance(value, str) else value
            if (
                not isinstance(urls, list | tuple)
                or not urls
                or not all(isinstance(u, str) and u for u in urls)
            ):
                raise ValueError(f"{where} urls must be a non-empty list of URLs")
            values[name] = tuple(urls)
        elif name == "enabled":
            if not isinstance(value, bool):
                raise ValueError(f"{where} enabled must be true or false, got {value!r}")
            values[name] = value
        elif name in {"interval_minutes", "stale_hours"}:
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{where} {name} must be a positive number, got {value!r}")
            values[name] = float(value)
        elif name == "resource":
            if not isinstance(value, str):
                raise ValueError(f"{where} resource must be a string")
            values[name] = value
        else:
            raise ValueError(
                f"unknown config key {where} {name}; known: enabled, urls, interval_minutes, "
                "stale_hours, resource"
            )
    return replace(base, **values)


def opensanctions_dataset(index_url: str) -> str:
    """The dataset an OpenSanctions index URL names: `.../datasets/latest/sanctions/index.json` -> `sanctions`."""
    parts = PurePosixPath(urlsplit(index_url).path).parts
    return parts[-2] if len(parts) >= 3 else ""


def loaded_source_key(key: str, settings: SourceSettings) -> str:
    """The `sources.key` a synced source's snapshots are filed under (OpenSanctions: one per dataset)."""
    spec = get_sync_source(key)
    if spec.kind == "opensanctions" and settings.urls:
        return f"opensanctions:{opensanctions_dataset(settings.urls[0])}"
    return spec.catalogue_key
