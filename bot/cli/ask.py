"""`tradewatch ask "/exports chips RU 2022"`: run a command exactly as the bot would, print the reply."""

from __future__ import annotations

import click

from bot.cli.output import echo_reply, write_attachments
from bot.config import Config
from bot.runtime import open_app
from bot.trade_fetch import trade_fetcher
from commands.context import Context
from commands.registry import run_text
from commands.replies import Reply


async def ask_once(config: Config, text: str) -> Reply:
    """Open the database, run one command, close."""
    async with open_app(config) as app, app.sessions() as session:
        ctx = Context(
            session=session,
            lookups=app.lookups,
            fetch_trade=trade_fetcher(config),
            sync_settings=config.sync.sources(),
            focus=config.focus,
        )
        return await run_text(ctx, text)


@click.command()
@click.argument("command_text", metavar='"/COMMAND ARGS"')
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the reply as JSON (title, summary, fields, numbers, citations).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Write the reply's chart PNGs and CSV tables into this folder.",
)
@click.pass_obj
def ask(config: Config, command_text: str, as_json: bool, out_dir: str | None) -> None:
    """Answer a command as typed in Discord, e.g. tradewatch ask "/exports graphite RU 2023"."""
    reply = echo_reply(lambda: ask_once(config, command_text), as_json=as_json)
    if out_dir:
        folder = write_attachments(reply, out_dir)
        if not as_json and reply.attachments:
            click.echo(f"wrote {len(reply.attachments)} file(s) to {folder}")
