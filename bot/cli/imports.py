"""`tradewatch import SOURCE PATH [options]`: load a source file into the database, transactionally."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Config
from bot.runtime import open_app
from commands.context import utcnow
from db.ingest.base import ImportFailed, IngestReport
from db.ingest.registry import importer
from db.search.cache import warm_index_cached

LIST_IMPORTERS = frozenset({"ofac", "csl", "opensanctions", "curated"})  # those that change entity names


async def run_importer(config: Config, source: str, path: Path, **options: Any) -> IngestReport:
    """Open the database and run one importer; the importer owns its transaction.

    After a list import, the name index is built and saved for the bot (db/search/cache.py): with a million
    names that moves seconds of work from the bot's next start to the import.
    """
    fn: Callable[..., Awaitable[IngestReport]] = importer(source)
    async with open_app(config) as app:
        report = await fn(app.sessions, path, now=utcnow(), **options)
        if source in LIST_IMPORTERS and not report.already_loaded and not options.get("dry_run"):
            report.extra["name index"] = await save_name_index(config, app.sessions)
        return report


async def save_name_index(config: Config, sessions: async_sessionmaker[AsyncSession]) -> str:
    """Build (or find) the name index of the database and save it where `tradewatch serve` reads it back."""
    started = time.perf_counter()
    names, _ = await warm_index_cached(sessions, config.cache_dir / "name-index")
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


@click.group("import")
def import_group() -> None:
    """Load a source file (or folder) into the database. Re-importing the same file changes nothing."""


from bot.cli import import_trade as _import_trade  # noqa: E402,F401  (registers hs, comtrade, trade-csv, imf)

# Entity sources (bot/cli/import_entities.py); imported last because that module uses import_and_report.
from bot.cli.import_entities import import_csl, import_curated, import_ofac, import_opensanctions  # noqa: E402

import_group.add_command(import_ofac)
import_group.add_command(import_csl)
import_group.add_command(import_opensanctions)
import_group.add_command(import_curated)
