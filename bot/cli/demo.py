"""`tradewatch demo`: load the real source files into the database and answer the story's questions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from bot.config import Config
from bot.runtime import open_app
from commands.context import Context, utcnow
from commands.errors import CommandError
from commands.registry import run_text
from db.ingest.registry import importer

# (source, path under the sources folder, importer options). Real files only; see ../shared/data/PROVENANCE.md.
DEMO_IMPORTS: list[tuple[str, str, dict[str, str]]] = [
    ("hs", "hs/harmonized-system.csv", {}),
]

DEMO_QUESTIONS = [
    "/hs chips",
]


async def run_demo(config: Config, out_dir: Path) -> None:
    sources_dir = config.sources_dir
    if sources_dir is None:
        raise click.ClickException(
            "no local source folder: set TRADEWATCH_SOURCES_DIR to a folder of the source files"
        )
    async with open_app(config) as app:
        click.echo(f"Loading real source files from {sources_dir} into {app.engine.url.render_as_string()}")
        for source, relative, options in DEMO_IMPORTS:
            path = sources_dir / relative
            report = await importer(source)(app.sessions, path, now=utcnow(), **options)
            click.echo(report.summary())
        out_dir.mkdir(parents=True, exist_ok=True)
        for question in DEMO_QUESTIONS:
            click.echo("")
            click.echo(f">>> {question}")
            async with app.sessions() as session:
                try:
                    reply = await run_text(Context(session=session, lookups=app.lookups), question)
                except CommandError as exc:
                    click.echo(f"(answered with an error) {exc.user_text()}")
                    continue
            click.echo(reply.to_text())
            for attachment in reply.attachments:
                (out_dir / attachment.filename).write_bytes(attachment.data)
        click.echo(f"\nCharts and CSV tables are in {out_dir}/")


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="out/demo", show_default=True,
              help="Folder for the charts and CSV tables of the answers.")
@click.pass_obj
def demo(config: Config, out_dir: str) -> None:
    """Load the real source files into the configured database (SQLite by default) and answer sample questions."""
    asyncio.run(run_demo(config, Path(out_dir)))
