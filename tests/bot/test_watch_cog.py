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
