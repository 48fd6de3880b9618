"""The `tradewatch` command line: one entry point for asking, importing, syncing and serving.

Each subcommand's module is imported only when that subcommand runs (click's "lazily loading subcommands"
pattern): `tradewatch serve` would otherwise import every importer (followthemoney's model, the name
index, alembic) before it could log in, about a second of a cold start.
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import make_url

from bot.config import ConfigError, load_config

# Subcommand name -> "module:attribute" of its click command.
SUBCOMMANDS = {
    "ask": "bot.cli.ask:ask",
    "brief": "bot.cli.brief:brief",
    "changes": "bot.cli.lists:changes",
    "curate": "bot.cli.lists:curate_group",
    "db": "bot.cli.database:db_group",
    "demo": "bot.cli.demo:demo",
    "import": "bot.cli.imports:import_group",
    "screen": "bot.cli.screen:screen",
    "serve": "bot.serve:serve",
    "sync": "bot.cli.sync:sync",
    "sync-commands": "bot.serve:sync_commands",
    "watch": "bot.cli.watch:watch_group",
}


# Subcommands that work on a loaded database: for them a SQLite file that does not exist is a wrong path, not a
# first run (they would create an empty database there and answer "nothing loaded yet", or "no watch").
READ_ONLY = {"ask", "brief", "changes", "screen", "watch"}


def missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite database URL whose file does not exist (None for PostgreSQL or an existing file)."""
    try:
        parsed = make_url(url)
    except Exception:  # a malformed URL fails later with its own message
        return None
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return None
    return None if Path(path).expanduser().exists() else path


def database_unreachable(error: BaseException, url: str) -> click.ClickException | None:
    """One line for a database that cannot be reached (down, partitioned, wrong host), instead of a traceback."""
    from bot.errors import database_outage  # imports discord.py: only when something failed

    if not (database_outage(error) or isinstance(error, OSError)):
        return None
    try:
        where = make_url(url).render_as_string(hide_password=True)
    except Exception:
        where = "(unparsable URL)"
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200] or type(error).__name__
    return click.ClickException(
        f"cannot reach the database {where}: {reason}. Is it running, and is TRADEWATCH_DATABASE_URL right?"
    )


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (`--help` imports them all to list them)."""

    def __init__(self, *args: Any, lazy_subcommands: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = lazy_subcommands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands:
            module, attribute = self.lazy_subcommands[cmd_name].split(":")
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy_subcommands[cmd_name]} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            config = ctx.obj
            refusal = database_unreachable(exc, config.database_url) if config is not None else None
            if refusal is None:
                raise
            raise refusal from None


@click.group(
    cls=LazyGroup,
    lazy_subcommands=SUBCOMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
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
    if ctx.invoked_subcommand in READ_ONLY and (path := missing_sqlite_file(ctx.obj.database_url)):
        raise click.ClickException(
            f"no database at {path} (nothing created): load one with `tradewatch demo` or `tradewatch import`, "
            "or point TRADEWATCH_DATABASE_URL at yours."
        )


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="tradewatch")
