"""/watch add|list|schedule|remove|resume|test: watch channels, for members with Manage Channels. Also runs the alert loop.

Discord hides the group from members without Manage Channels (default permissions), and every command checks
the permission again at run time (a server admin can override the default in the integration settings).
Confirmations are private to the asker; `/watch test` posts its labelled sample in the watch's channel.

The commands' logic and the delivery loop (bot/alerts.py) are imported when first needed, not with the cog
(rigour's name handling costs a noticeable part of a cold start): the commands on first use or when
bot/client.py preloads PRELOAD after connecting, the loop once the bot is ready, which it waits for anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zoneinfo
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import TradewatchBot
from bot.cogs import outage_is_temporary
from bot.logs import event
from bot.render import render
from commands.context import Context
from commands.errors import TemporarilyUnavailable
from commands.replies import Reply
from db.queries.watch import MAX_FILTER_TEXT
from db.schedule import EVERY, WEEKDAYS

if TYPE_CHECKING:
    from bot.alerts import AlertDelivery

log = logging.getLogger(__name__)
PRELOAD = ("commands.watch", "commands.watch_schedule", "bot.alerts")
# Watch numbers are 32-bit ids in the database; Discord allows integers up to 2^53, so the option says where
# they end and the tree checks it before any query (bot/options.py).
WatchNumber = app_commands.Range[int, 1, 2**31 - 1]
FilterText = app_commands.Range[str, 1, MAX_FILTER_TEXT]
P = TypeVar("P")
R = TypeVar("R")


async def _in_transaction(
    interaction: discord.Interaction[TradewatchBot], run: Callable[[Context, P], Awaitable[R]], params: P
) -> R:
    """Run a watch command in one committed transaction (defer first: Discord allows 3 s)."""
    await interaction.response.defer(thinking=True, ephemeral=True)
    bot = interaction.client
    async with outage_is_temporary(), bot.app.sessions() as session, session.begin():
        return await run(bot.command_context(session), params)


async def _send(interaction: discord.Interaction[TradewatchBot], reply: Reply) -> None:
    await interaction.followup.send(**render(reply, attachment_size_limit=interaction.filesize_limit))


async def time_zone_choices(
    interaction: discord.Interaction[TradewatchBot], current: str
) -> list[app_commands.Choice[str]]:
    """Up to 25 IANA zones containing what was typed (`berlin` -> Europe/Berlin)."""
    typed = current.strip().lower().replace(" ", "_")
    names = sorted(zone for zone in zoneinfo.available_timezones() if typed in zone.lower())
    return [app_commands.Choice(name=zone, value=zone) for zone in names[:25]]


def _guild(interaction: discord.Interaction[Any]) -> int:
    assert interaction.guild_id is not None  # the group is guild_only
    return interaction.guild_id


@app_commands.guild_only()
@app_commands.default_permissions(manage_channels=True)
class WatchCog(
    commands.GroupCog, group_name="watch", group_description="Post sanctions-list changes in a channel."
):
    """Watch channels and the delivery of their alerts."""

    def __init__(self, bot: TradewatchBot) -> None:
        self.bot = bot
        self.delivery: AlertDelivery | None = None
        self._starting: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        if self.bot.open_database and self.bot.config.alerts.enabled:
            self._starting = asyncio.create_task(self._start_delivery(), name="tradewatch-alerts-start")

    async def _start_delivery(self) -> None:
        await self.bot.wait_until_ready()
        from bot.alerts import AlertDelivery

        self.delivery = AlertDelivery(self.bot, self.bot.config.alerts)
        self.delivery.start()

    async def cog_unload(self) -> None:
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starting
        if self.delivery is not None:
            await self.delivery.stop()

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        if not interaction.permissions.manage_channels:
            raise app_commands.MissingPermissions(["manage_channels"])
        return True

    @app_commands.command(name="add")
    @app_commands.describe(
        channel="Where alerts go (default: this channel).",
        sources="Lists to watch, comma-separated: ofac (SDN and non-SDN), ofac_sdn, ofac_cons, csl, opensanctions.",
        countries="Only entities tied to these countries, e.g. `HK, CN` or `Hong Kong, China`.",
        keywords="Only entities whose name or alias has one of these words, comma-separated.",
        types="Only these kinds: person, organization, vessel, aircraft.",
    )
    async def add(
        self,
        interaction: discord.Interaction[TradewatchBot],
        channel: discord.TextChannel | None = None,
        sources: FilterText | None = None,
        countries: FilterText | None = None,
        keywords: FilterText | None = None,
        types: FilterText | None = None,
    ) -> None:
        """Post new listings, delistings and amendments that match these filters (empty filter: everything)."""
        from commands.watch import WatchAddParams, run_watch_add

        target = channel.id if channel is not None else interaction.channel_id
        assert target is not None
        params = WatchAddParams(
            _guild(interaction), target, interaction.user.id, sources, countries, keywords, types
        )
        reply = await _in_transaction(interaction, run_watch_add, params)
        event(log, "watch_added", guild=params.guild_id, channel=target, watch=reply.numbers["watch_id"])
        await _send(interaction, reply)

    @app_commands.command(name="list")
    @app_commands.describe(channel="Only the watches of this channel (default: every channel of the server).")
    async def list_(
        self, interaction: discord.Interaction[TradewatchBot], channel: discord.TextChannel | None = None
    ) -> None:
        """The server's watches: filters, paused or active, alerts posted and waiting, scheduled briefs."""
        from commands.watch import WatchListParams, run_watch_list

        params = WatchListParams(_guild(interaction), channel.id if channel else None)
        await _send(interaction, await _in_transaction(interaction, run_watch_list, params))

    @app_commands.command(name="schedule")
    @app_commands.describe(
        channel="The watch channel that receives the brief (default: this channel).",
        every="daily, weekly, or off to stop it.",
        day="Weekly: the day (default Monday).",
        time="Local time, HH:MM on a 24-hour clock (default 08:00).",
        tz="IANA time zone, e.g. Europe/Berlin (default: the bot's [brief] time_zone).",
    )
    @app_commands.choices(
        every=[app_commands.Choice(name=value, value=value) for value in (*EVERY, "off")],
        day=[app_commands.Choice(name=name.capitalize(), value=name) for name in WEEKDAYS],
    )
    @app_commands.autocomplete(tz=time_zone_choices)
    async def schedule(
        self,
        interaction: discord.Interaction[TradewatchBot],
        every: app_commands.Choice[str],
        channel: discord.TextChannel | None = None,
        day: app_commands.Choice[str] | None = None,
        time: app_commands.Range[str, 1, 10] | None = None,
        tz: app_commands.Range[str, 1, 60] | None = None,
    ) -> None:
        """Post the editorial brief (/brief) in a watch channel daily or weekly, or stop it."""
        from commands.watch_schedule import WatchScheduleParams, run_watch_schedule

        target = channel.id if channel is not None else interaction.channel_id
        assert target is not None
        params = WatchScheduleParams(
            _guild(interaction),
            target,
            every.value,
            self.bot.config.brief.time_zone,
            day.value if day else None,
            time,
            tz,
            interaction.user.id,
        )
        reply = await _in_transaction(interaction, run_watch_schedule, params)
        event(log, "brief_scheduled", guild=params.guild_id, channel=target, every=every.value)
        await _send(interaction, reply)

    @app_commands.command(name="remove")
    @app_commands.describe(watch="The watch number (see /watch list).")
    async def remove(self, interaction: discord.Interaction[TradewatchBot], watch: WatchNumber) -> None:
        """Stop a watch; alerts not yet posted for it are dropped."""
        from commands.watch import WatchRefParams, run_watch_remove

        params = WatchRefParams(_guild(interaction), watch)
        await _send(interaction, await _in_transaction(interaction, run_watch_remove, params))

    @app_commands.command(name="resume")
    @app_commands.describe(watch="The paused watch's number (see /watch list).")
    async def resume(self, interaction: discord.Interaction[TradewatchBot], watch: WatchNumber) -> None:
        """Resume a watch paused because its channel was gone or closed to the bot; held alerts follow."""
        from commands.watch import WatchRefParams, run_watch_resume

        params = WatchRefParams(_guild(interaction), watch)
        await _send(interaction, await _in_transaction(interaction, run_watch_resume, params))

    @app_commands.command(name="test")
    @app_commands.describe(watch="The watch number (see /watch list).")
    async def test(self, interaction: discord.Interaction[TradewatchBot], watch: WatchNumber) -> None:
        """Post a sample alert, marked TEST, built from the last real change of the watch's sources."""
        from commands.watch import WatchRefParams, run_watch_test

        params = WatchRefParams(_guild(interaction), watch)
        result = await _in_transaction(interaction, run_watch_test, params)
        message = render(result.sample)
        message.pop("ephemeral", None)
        target = self.bot.get_partial_messageable(result.channel_id, guild_id=params.guild_id)
        try:
            await target.send(**message)
        except discord.HTTPException as exc:
            raise TemporarilyUnavailable(
                f"Discord refused the test alert in <#{result.channel_id}> ({exc.status} {exc.text}).",
                "Check that the bot may view the channel, send messages, embed links and attach files there.",
            ) from None
        await _send(interaction, result.confirmation)


async def setup(bot: TradewatchBot) -> None:
    await bot.add_cog(WatchCog(bot))
