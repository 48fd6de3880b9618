"""CLI for the list sources beyond importing them: `curate check` and `changes`.

Each command is a thin call into db/: `curate check` only validates, `changes` runs commands.changes (the /changes answer).
"""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.output import echo_reply, write_attachments
from bot.config import Config
from bot.runtime import open_app
from commands.changes import CHANGE_KINDS, ChangesParams, run_changes
from commands.context import Context
from commands.replies import Reply
from db.ingest.curated import check


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


@click.command("changes")
@click.argument("source", required=False)
@click.option("--since", help="Only changes of lists published since: 7d (days back) or YYYY-MM-DD.")
@click.option("--country", help="Only entries tied to this country (ISO2 or name, e.g. CN).")
@click.option(
    "--program", help="Only entries listed under a program containing this text (e.g. RUSSIA-EO14024)."
)
@click.option("--change", type=click.Choice(CHANGE_KINDS), help="Only this kind of change.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False), help="Write changes.csv (every entry) here."
)
@click.pass_obj
def changes(
    config: Config,
    source: str | None,
    since: str | None,
    country: str | None,
    program: str | None,
    change: str | None,
    as_json: bool,
    out_dir: str | None,
) -> None:
    """List changes (added, removed, amended): counts by list and kind, then the entries, focus entries first.

    The same answer as /changes in Discord; the focus is config.toml's [focus] table.
    """
    params = ChangesParams(source.lower() if source else None, since, country, program, change)

    async def run() -> Reply:
        async with open_app(config) as app, app.sessions() as session:
            ctx = Context(session=session, lookups=app.lookups, focus=config.focus)
            return await run_changes(ctx, params)

    reply = echo_reply(run, as_json=as_json)
    if out_dir:
        write_attachments(reply, out_dir)
