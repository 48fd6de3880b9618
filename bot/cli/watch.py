"""`tradewatch watch list|schedule`: the watch channels and their scheduled briefs, from the host.

The same answers as /watch list and /watch schedule in Discord (commands.watch, commands.watch_schedule). Run
by the operator, they are not tied to one server: `list` shows every server's watches unless --guild is
given, and `schedule` finds the channel's server from its watches. Channels are Discord ids (right-click a
channel, Copy Channel ID).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from bot.cli.output import echo_reply
from bot.config import Config
from bot.runtime import open_app
from commands.context import Context
from commands.replies import Reply
from commands.watch import WatchListParams, run_watch_list
from commands.watch_schedule import WatchScheduleParams, run_watch_schedule
from db.schedule import EVERY, WEEKDAYS

P = TypeVar("P")


async def _committed(config: Config, run: Callable[[Context, P], Awaitable[Reply]], params: P) -> Reply:
    """Run a watch command in one committed transaction, as the Discord cog does."""
    async with open_app(config) as app, app.sessions() as session, session.begin():
        ctx = Context(
            session=session, lookups=app.lookups, sync_settings=config.sync.sources(), focus=config.focus
        )
        return await run(ctx, params)


@click.group("watch")
def watch_group() -> None:
    """Watch channels (added in Discord with /watch add) and their scheduled briefs."""


@watch_group.command("list")
@click.option("--guild", type=int, help="Only this server's watches (Discord id; default: every server).")
@click.option("--channel", type=int, help="Only this channel's watches (Discord id).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def watch_list(config: Config, guild: int | None, channel: int | None, as_json: bool) -> None:
    """The watches with their filters, state and alert counts, and each channel's scheduled brief."""
    echo_reply(lambda: _committed(config, run_watch_list, WatchListParams(guild, channel)), as_json=as_json)


@watch_group.command("schedule")
@click.argument("channel", type=int)
@click.option(
    "--every", type=click.Choice([*EVERY, "off"]), required=True, help="daily, weekly, or off to stop."
)
@click.option(
    "--day", type=click.Choice(WEEKDAYS, case_sensitive=False), help="Weekly: the day (default monday)."
)
@click.option("--time", "at", help="Local time, HH:MM on a 24-hour clock (default 08:00).")
@click.option("--tz", help="IANA time zone, e.g. Europe/Berlin (default: config [brief] time_zone).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def watch_schedule(
    config: Config, channel: int, every: str, day: str | None, at: str | None, tz: str | None, as_json: bool
) -> None:
    """Post the editorial brief in watch channel CHANNEL (a Discord id) daily or weekly, or stop it.

    `tradewatch serve` posts it; e.g. tradewatch watch schedule 123456789 --every weekly --day monday --time 08:00
    """
    params = WatchScheduleParams(None, channel, every, config.brief.time_zone, day, at, tz)
    echo_reply(lambda: _committed(config, run_watch_schedule, params), as_json=as_json)
