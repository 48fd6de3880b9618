"""Run one importer from the command line: open the database, import, refresh the name index, report."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Config
from bot.runtime import open_app
from commands.context import utcnow
from db.ingest.base import ImportFailed, IngestReport
from db.search.cache import INDEX_FOLDER, warm_index_cached
from db.sources import ImportOption, list_importers, load_importer


async def run_importer(config: Config, source: str, path: Path, **options: Any) -> IngestReport:
    """Open the database and run one importer; the importer owns its transaction.

    After a list import, the name index is built and saved for the bot (db/search/cache.py): with a million
    names that moves seconds of work from the bot's next start to the import.
    """
    fn = load_importer(source)
    if source in list_importers():
        options["mass_change"] = config.imports.policy(bool(options.pop("accept_mass_change", False)))
    async with open_app(config) as app:
        report: IngestReport = await fn(app.sessions, path, now=utcnow(), **options)
        if source in list_importers() and not report.already_loaded and not options.get("dry_run"):
            report.extra["name index"] = await save_name_index(config, app.sessions)
        return report


async def save_name_index(config: Config, sessions: async_sessionmaker[AsyncSession]) -> str:
    """Build (or find) the name index of the database and save it where `tradewatch serve` reads it back."""
    started = time.perf_counter()
    names, _ = await warm_index_cached(sessions, config.cache_dir / INDEX_FOLDER)
    return f"{names:,} names, saved for the next bot start ({time.perf_counter() - started:.1f} s)"


def import_and_report(config: Config, source: str, path: str, **options: Any) -> None:
    """Run an import from the CLI: print the summary, or a one-line reason and exit 1."""
    try:
        report = asyncio.run(run_importer(config, source, Path(path), **options))
    except ImportFailed as exc:
        raise click.ClickException(f"{source}: {exc} (nothing was changed)") from None
    except FileNotFoundError as exc:
        raise click.ClickException(f"{source}: no such file: {exc.filename}") from None
    click.echo(report.summary())


def iso_date(value: str) -> str:
    """A YYYY-MM-DD date given on the command line, checked; BadParameter saying what a date looks like."""
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2022-09-30") from None


def click_option(option: ImportOption) -> click.Option:
    """The click option for a registry option (`data_date` -> `--data-date`)."""
    flag = "--" + option.name.replace("_", "-")
    if option.kind == "flag":
        return click.Option([flag, option.name], is_flag=True, help=option.help)
    if option.kind == "switch":
        no_flag = "--no-" + option.name.replace("_", "-")
        return click.Option([f"{flag}/{no_flag}", option.name], default=None, help=option.help)
    types: dict[str, Any] = {"number": float, "choice": click.Choice(list(option.choices))}
    return click.Option([flag, option.name], type=types.get(option.kind, str), help=option.help)
