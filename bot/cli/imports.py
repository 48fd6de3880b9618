"""`tradewatch import SOURCE PATH [options]`: load a source file into the database, transactionally."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click

from bot.config import Config
from bot.runtime import open_app
from commands.context import utcnow
from db.ingest.base import ImportFailed, IngestReport
from db.ingest.registry import importer


async def run_importer(config: Config, source: str, path: Path, **options: Any) -> IngestReport:
    """Open the database and run one importer; the importer owns its transaction."""
    fn: Callable[..., Awaitable[IngestReport]] = importer(source)
    async with open_app(config) as app:
        return await fn(app.sessions, path, now=utcnow(), **options)


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
