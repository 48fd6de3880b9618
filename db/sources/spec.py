"""The shapes of the source registry: a source, how it is synced, and the importer that loads it.

Plain frozen dataclasses with no behaviour beyond validation, so the registry (db/sources/declared.py) reads as
a table and every layer (importers, sync, CLI, config, commands) can import it without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any, Literal
from urllib.parse import urlsplit

SourceKind = Literal["trade", "list", "reference"]
SyncMode = Literal["files", "opensanctions", "record"]


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
class SyncSpec:
    """How `tradewatch sync` fetches a source from its publisher.

    Attributes:
        title: what `/sources` shows before anything is loaded.
        mode: ``files`` (every URL fetched together, imported as one snapshot; all are required: importing
            `sdn.csv` without `add.csv` would look like every address had been removed), ``opensanctions``
            (a dataset's `index.json`: a full export first, then its delta files in version order) or
            ``record`` (fetched and recorded as a snapshot, not imported: it only signals a publication).
        defaults: the official URLs and schedule; `[sync.<key>]` in the config overrides them.
        import_folder: pass the importer the folder of fetched files (multi-file sets), not the one file.
        triggers: sources to sync at once when this one changes (instead of waiting for their interval).
    """

    title: str
    mode: SyncMode
    defaults: SourceSettings
    import_folder: bool = False
    triggers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cadence:
    """How often a publisher releases new data, to judge a source's data date (commands/freshness.py).

    Attributes:
        every_days: the length of one release period (31 monthly, 366 annual ...).
        lag_days: how long after the end of a period its data comes out.
        words: how `/sources` says it ("monthly, about 3 months after the month").
    """

    every_days: int
    lag_days: int
    words: str


@dataclass(frozen=True)
class Source:
    """One data source, declared once: how it is cited, what it holds, how it is loaded and synced.

    Attributes:
        key: the `sources.key` its snapshots are filed under, the `[sync.<key>]` table and `/sources` name.
        kind: ``trade`` (trade flows), ``list`` (sanctions and screening lists: entities and their changes)
            or ``reference`` (nomenclatures such as HS).
        title, publisher, url, notes: what answers cite.
        importer: the name of the `Importer` that loads it (`tradewatch import NAME`); None when it is only
            recorded (OFAC's change file).
        sync: how `tradewatch sync` fetches it; None for sources loaded only by `tradewatch import`.
        family: a name a watch may give for several list sources at once (`ofac`).
        preference: trade sources only: which one answers when several cover a year equally well (lower
            first: the publisher's own data, then tables derived from it, then generic tables).
        cadence: how often the publisher releases; `/sources` flags data older than that. None when it cannot
            be judged (data fetched per question, curated files, tables loaded under their own key).
    """

    key: str
    kind: SourceKind
    title: str
    publisher: str
    url: str | None = None
    notes: str | None = None
    importer: str | None = None
    sync: SyncSpec | None = None
    family: str | None = None
    preference: int | None = None
    cadence: Cadence | None = None


OptionKind = Literal["flag", "text", "number", "date", "choice", "switch"]


@dataclass(frozen=True)
class ImportOption:
    """A `tradewatch import NAME` option, passed to the importer's `run_import` as a keyword argument.

    Attributes:
        name: the keyword argument (`data_date` becomes `--data-date`).
        help: the option's help text.
        kind: ``flag`` (on/off), ``switch`` (`--x/--no-x`, unset unless given), ``text``, ``number``,
            ``date`` (YYYY-MM-DD, checked) or ``choice`` (one of `choices`).
    """

    name: str
    help: str
    kind: OptionKind = "text"
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportPath:
    """The path argument of `tradewatch import NAME`.

    Attributes:
        metavar: FILE or PATH (a file or a folder), as `--help` shows it.
        exists: the CLI checks the path exists before the import starts.
        dir_okay: a folder is accepted.
        config_default: a `Config` attribute used when no path is given (the path is then optional).
    """

    metavar: str = "FILE"
    exists: bool = False
    dir_okay: bool = False
    config_default: str | None = None


@dataclass(frozen=True)
class Importer:
    """A module that loads source files: `async def run_import(sessions, path, *, now, **options)`.

    Attributes:
        name: the `tradewatch import NAME` command.
        module: the module holding `run_import` (imported only when the import runs).
        help: the command's help text (first line: the summary `tradewatch import --help` lists).
        path: its path argument.
        options: its command-line options.
        config_paths: `Config` attributes passed as keyword arguments of the same name (`lookups_dir`).
        requires_options: when set, the command refuses to run without one of its options (this message).
    """

    name: str
    module: str
    help: str
    path: ImportPath = ImportPath()
    options: tuple[ImportOption, ...] = ()
    config_paths: tuple[str, ...] = ()
    requires_options: str | None = None


SETTINGS_KEYS = "enabled, urls, interval_minutes, stale_hours, resource"


def settings_from_table(base: SourceSettings, key: str, table: Mapping[str, Any]) -> SourceSettings:
    """Overlay a `[sync.<key>]` config table on a source's default settings.

    Raises:
        ValueError: an unknown key or a value of the wrong type, naming the key.
    """
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
            raise ValueError(f"unknown config key {where} {name}; known: {SETTINGS_KEYS}")
    return replace(base, **values)


def opensanctions_dataset(index_url: str) -> str:
    """The dataset an OpenSanctions index URL names: `.../datasets/latest/sanctions/index.json` -> `sanctions`."""
    parts = PurePosixPath(urlsplit(index_url).path).parts
    return parts[-2] if len(parts) >= 3 else ""
