"""CLI for the list sources beyond importing them: `curate check` and `changes`.

Each command is a thin call into db/: `curate check` only validates, `changes` reads db.queries.changes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from pathlib import Path

import click

from bot.cli.import_run import iso_date
from bot.config import Config
from bot.runtime import open_app
from db.ingest.curated import check
from db.queries.changes import ChangeRow, list_changes


@click.group("curate")
def curate_group() -> None:
    """Work with the team's curated files."""


@curate_group.command("check")
@click.argument("folder", type=click.Path(exists=True), required=False)
@click.pass_obj
def curate_check(config: Config, folder: str | None) -> None:
    """Validate the curated YAML files: every fact cited, ids and links known. Exits 1 on errors."""
    target = Path(folder) if folder else config.curated_dir
    try:
        parsed, errors = check(target)
    except FileNotFoundError:
        raise click.ClickException(f"no such folder: {target}") from None
    for error in errors:
        click.echo(error, err=True)
    if errors:
        raise click.ClickException(f"{len(errors)} error(s) in {target}")
    facts = sum(len(m.entities) + len(m.relations) + len(m.shipments) + len(m.figures) for _, m in parsed)
    click.echo(f"{target}: {len(parsed)} file(s), {facts} facts, all cited. OK")


def _row_text(row: ChangeRow) -> str:
    fields = ", ".join(row.fields) if row.fields else ""
    extra = f" ({fields})" if fields else ""
    return (
        f"{row.detected_at:%Y-%m-%d %H:%M}  {row.source:<28} {row.change:<8} {row.entity_key:<12} "
        f"{row.name}{extra}  [data date {row.data_date or 'unknown'}]"
    )


@click.command("changes")
@click.argument("source", required=False)
@click.option("--since", help="Only changes detected on or after this date (YYYY-MM-DD).")
@click.option("--limit", default=200, show_default=True, help="At most this many changes (newest first).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def changes(config: Config, source: str | None, since: str | None, limit: int, as_json: bool) -> None:
    """List detected list changes (added, removed, amended), newest first, optionally for one SOURCE."""
    since_date = dt.date.fromisoformat(iso_date(since)) if since else None

    async def run() -> list[ChangeRow]:
        async with open_app(config) as app, app.sessions() as session:
            return await list_changes(session, source=source, since=since_date, limit=limit)

    rows = asyncio.run(run())
    if as_json:
        json.dump([row.as_dict() for row in rows], sys.stdout, ensure_ascii=False, indent=2, default=str)
        click.echo("")
        return
    if not rows:
        click.echo(
            "No changes recorded"
            + (f" for {source}" if source else "")
            + ". (The first snapshot of a source is its baseline and records none.)"
        )
        return
    for row in rows:
        click.echo(_row_text(row))
