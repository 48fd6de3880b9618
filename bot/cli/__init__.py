"""The `tradewatch` command line: one entry point for asking, importing, syncing and serving."""

from __future__ import annotations

import logging
import sys

import click

from bot.cli.ask import ask
from bot.cli.database import db_group
from bot.cli.demo import demo
from bot.cli.import_entities import changes as entity_changes
from bot.cli.import_entities import curate_group
from bot.cli.imports import import_group
from bot.cli.sync import sync
from bot.config import ConfigError, load_config
from bot.serve import serve, sync_commands


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML config file (default: ./config.toml if present). Secrets come from the environment.",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """Tradewatch: trade flows and sanctions lists for reporters, in Discord and here."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr
    )
    try:
        ctx.obj = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None


cli.add_command(ask)
cli.add_command(db_group)
cli.add_command(import_group)
cli.add_command(demo)
cli.add_command(serve)
cli.add_command(sync_commands)
cli.add_command(sync)
cli.add_command(curate_group)
cli.add_command(entity_changes)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="tradewatch")
