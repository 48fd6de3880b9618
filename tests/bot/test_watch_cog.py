"""/watch through the Discord stand-in: Manage Channels required, private confirmations, the test post."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Watch
from tests.bot.test_alert_delivery import running_bot
from tests.db.watch_seed import add_change, add_entity, seed_source
from tests.discord_standin import Driver, UsageError


async def test_watch_commands_end_to_end(db_url: str, sessions: async_sessionmaker[AsyncSession]) -> None:
    async with Driver() as discord:
        async with running_bot(discord, db_url):
            alerts = discord.channel("alerts")
            handle = await discord.invoke(
                "watch add",
                {"channel": alerts, "sources": "ofac", "countries": "Hong Kong, CN"},
                user="carol",
            )
            reply = await handle.reply()
            assert reply.ephemeral and reply.embeds[0]["title"] == "Watch #1 added"
            async with sessions() as session:
                watch = (await session.execute(select(Watch))).scalar_one()
            assert (watch.channel_id, watch.guild_id, watch.sources, watch.countries) == (
                alerts.id,
                discord.guild.id,
                ["ofac"],
                ["HK", "CN"],
            )

            bad = await (await discord.invoke("watch add", {"countries": "Atlantis"}, user="carol")).reply()
            assert bad.ephemeral and "Unknown country 'Atlantis'" in (bad.content + str(bad.embeds))

            listed = await (await discord.invoke("watch list", user="carol")).reply()
            assert listed.ephemeral and listed.embeds[0]["fields"][0]["name"].startswith("Watch #1 in <#")

            missing = await (await discord.invoke("watch test", {"watch": 1}, user="carol")).reply()
            assert "No change has been detected yet" in (missing.content + str(missing.embeds))

            async with sessions() as session, session.begin():
                seed = await seed_source(session)
                entity = await add_entity(session, seed, "38641", "TEST HK LTD", countries=["hk"])
                await add_change(session, seed, entity)
            done = await (await discord.invoke("watch test", {"watch": 1}, user="carol")).reply()
            assert done.ephemeral and done.embeds[0]["title"] == "Test alert posted for watch #1"
            [sample] = discord.messages("alerts")
            assert sample.embeds[0]["title"] == "[TEST] Newly listed: TEST HK LTD"

            removed = await (await discord.invoke("watch remove", {"watch": 1}, user="carol")).reply()
            assert removed.embeds[0]["title"] == "Watch #1 removed"
            discord.assert_all_implemented()


async def test_watch_needs_manage_channels(db_url: str) -> None:
    async with Driver() as discord:
        async with running_bot(discord, db_url):
            with pytest.raises(
                UsageError, match="hidden"
            ):  # Discord hides it from members without the permission
                await discord.invoke("watch list", user="alice")
            # An admin may override the default in the server settings: the command checks again at run time.
            definition = discord.commands()["watch"]
            definition["default_member_permissions"] = None
            refused = await (await discord.invoke("watch list", user="alice")).reply()
            assert refused.ephemeral and "Manage Channels" in (refused.content + str(refused.embeds))


async def test_watch_schedule_and_list(db_url: str, sessions: async_sessionmaker[AsyncSession]) -> None:
    """/watch schedule sets, shows (in /watch list, next time in the channel's zone) and stops the brief."""
    async with Driver() as discord:
        async with running_bot(discord, db_url):
            alerts = discord.channel("alerts")
            general = discord.channel("general")
            no_watch = await (
                await discord.invoke("watch schedule", {"channel": alerts, "every": "weekly"}, user="carol")
            ).reply()
            assert no_watch.ephemeral and "has no watch" in (
                no_watch.content + (no_watch.content + str(no_watch.embeds))
            )
            await (await discord.invoke("watch add", {"channel": alerts}, user="carol")).reply()

            bad_tz = await (
                await discord.invoke(
                    "watch schedule", {"channel": alerts, "every": "weekly", "tz": "Berlin"}, user="carol"
                )
            ).reply()
            assert "tz='Berlin' is not a time zone" in (
                bad_tz.content + (bad_tz.content + str(bad_tz.embeds))
            )
            bad_time = await (
                await discord.invoke(
                    "watch schedule", {"channel": alerts, "every": "daily", "time": "25:00"}, user="carol"
                )
            ).reply()
            assert "time='25:00' is not a time of day" in (
                bad_time.content + (bad_time.content + str(bad_time.embeds))
            )

            options = {"channel": alerts, "every": "weekly", "day": "monday", "time": "08:00"}
            done = await (
                await discord.invoke("watch schedule", {**options, "tz": "Europe/Berlin"}, user="carol")
            ).reply()
            assert done.ephemeral and done.embeds[0]["title"] == f"Brief scheduled in <#{alerts.id}>"
            assert "weekly, Monday 08:00 Europe/Berlin; the first at Mon " in (
                done.content + str(done.embeds)
            )

            listed = await (await discord.invoke("watch list", user="carol")).reply()
            [brief] = [f for f in listed.embeds[0]["fields"] if f["name"] == f"Brief in <#{alerts.id}>"]
            assert brief["value"].startswith("weekly, Monday 08:00 Europe/Berlin; next Mon ")
            assert brief["value"].endswith(("08:00 CET", "08:00 CEST"))
            daily_with_day = await (
                await discord.invoke("watch schedule", {**options, "every": "daily"}, user="carol")
            ).reply()
            assert "A daily brief takes no day" in (daily_with_day.content + str(daily_with_day.embeds))
            # Without tz: the configured zone (UTC by default).
            daily = {"channel": alerts, "every": "daily", "time": "08:00"}
            await (await discord.invoke("watch schedule", daily, user="carol")).reply()
            listed = await (await discord.invoke("watch list", user="carol")).reply()
            assert "daily 08:00 UTC; next " in (listed.content + str(listed.embeds))

            off = {"channel": general, "every": "off"}
            elsewhere = await (await discord.invoke("watch schedule", off, user="carol")).reply()
            assert "has no watch" in elsewhere.content + str(elsewhere.embeds)
            stopped = await (
                await discord.invoke("watch schedule", {"channel": alerts, "every": "off"}, user="carol")
            ).reply()
            assert stopped.embeds[0]["title"] == "Scheduled brief stopped"
            listed = await (await discord.invoke("watch list", user="carol")).reply()
            assert "Brief in" not in (listed.content + str(listed.embeds))
            discord.assert_all_implemented()

    with pytest.raises(UsageError, match="hidden"):  # like every /watch subcommand: Manage Channels
        async with Driver() as discord, running_bot(discord, db_url):
            await discord.invoke("watch schedule", {"every": "daily"}, user="alice")
