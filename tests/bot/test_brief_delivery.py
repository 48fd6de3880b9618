"""Scheduled briefs through the alert loop against the Discord stand-in: posted once with nonce, chart and CSV
as /brief; retried after server errors; failed (and the channel's watches paused) when the channel is gone;
not posted twice after a crash between posting and marking."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.alerts import MARKER_PREFIX, AlertDelivery
from db.models import BriefOutbox, Watch
from db.queries.brief_schedule import claim_briefs, set_schedule
from db.schedule import Slots
from tests.bot.test_alert_delivery import FAST, running_bot
from tests.db.watch_seed import add_watch
from tests.discord_standin import Driver

DAILY_MIDNIGHT_UTC = Slots("daily", None, dt.time(0, 0), "UTC")


async def _scheduled(sessions: async_sessionmaker[AsyncSession], channel_id: int, guild_id: int) -> None:
    """A watch channel whose daily brief (00:00 UTC) was set two days ago: today's slot is due."""
    async with sessions() as session, session.begin():
        watch = await add_watch(session, channel_id)
        watch.guild_id = guild_id
        await set_schedule(
            session,
            guild_id=guild_id,
            channel_id=channel_id,
            slots=DAILY_MIDNIGHT_UTC,
            created_by=None,
            now=dt.datetime.now(dt.UTC) - dt.timedelta(days=2),
        )


async def _briefs(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, int | None, str | None]]:
    async with sessions() as session:
        rows = await session.execute(
            select(BriefOutbox.status, BriefOutbox.message_id, BriefOutbox.error).order_by(BriefOutbox.id)
        )
        return list(rows.tuples())


async def _until(sessions: async_sessionmaker[AsyncSession], status: str) -> None:
    for _ in range(400):
        rows = await _briefs(sessions)
        if rows and all(s == status for s, _, _ in rows):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"briefs not {status}: {await _briefs(sessions)}")


async def test_a_due_brief_is_posted_once_with_its_csv(
    db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with Driver() as discord:
        channel = discord.channel("newsroom")
        await _scheduled(sessions, channel.id, discord.guild.id)
        async with running_bot(discord, db_url):
            await _until(sessions, "sent")
            await asyncio.sleep(0.3)  # several more polls: the slot is not enqueued or posted again
            [message] = discord.messages("newsroom")
        today = dt.datetime.now(dt.UTC).date()
        assert message.nonce == "twb1"
        embed = message.embeds[0]
        assert embed["title"].startswith(f"Daily brief, {today:%a %Y-%m-%d} 00:00 UTC: since ")
        assert embed["title"].endswith((today - dt.timedelta(days=1)).isoformat())
        assert embed["footer"]["text"].endswith(MARKER_PREFIX + "twb1")
        assert message.attachment("brief.csv").data.decode("utf-8-sig").startswith("section,")
        assert await _briefs(sessions) == [("sent", message.id, None)]
        discord.assert_all_implemented()


async def test_server_errors_are_retried(db_url: str, sessions: async_sessionmaker[AsyncSession]) -> None:
    async with Driver() as discord:
        channel = discord.channel("newsroom")
        discord.fail_next("POST /channels/{channel_id}/messages", 503, count=2)
        await _scheduled(sessions, channel.id, discord.guild.id)
        async with running_bot(discord, db_url):
            await _until(sessions, "sent")
        assert len(discord.messages("newsroom")) == 1
        statuses = [r.status for r in discord.requests("POST /channels/{channel_id}/messages")]
        assert statuses == [503, 503, 200]


async def test_a_gone_channel_fails_the_brief_and_pauses_its_watches(
    db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with Driver() as discord:
        channel = discord.channel("newsroom")
        discord.guild.channels.remove(channel)
        await _scheduled(sessions, channel.id, discord.guild.id)
        async with running_bot(discord, db_url):
            await _until(sessions, "failed")
            await asyncio.sleep(0.3)
        [(_, message_id, error)] = await _briefs(sessions)
        assert message_id is None and "no longer exists" in (error or "")
        async with sessions() as session:
            watch = (await session.execute(select(Watch))).scalar_one()
        assert watch.paused and "10003" in (watch.paused_reason or "")
        assert len(discord.requests("POST /channels/{channel_id}/messages")) == 1


@pytest.mark.parametrize("retry_after", ["within the nonce memory", "after it"])
async def test_a_crash_between_posting_and_marking_posts_nothing_new(
    retry_after: str, db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with Driver() as discord:
        channel = discord.channel("newsroom")
        await _scheduled(sessions, channel.id, discord.guild.id)
        async with running_bot(discord, db_url, replace(FAST, enabled=False)) as bot:
            delivery = AlertDelivery(bot, FAST)
            assert await delivery.enqueue_briefs() == 1
            now = dt.datetime.now(dt.UTC)
            [due] = await claim_briefs(sessions, worker="dead", now=now, lease=dt.timedelta(seconds=20))
            await delivery.deliver(due)  # posted; then "dies" before marking:
            [posted] = discord.messages("newsroom")
            late = retry_after == "after it"
            async with sessions() as session, session.begin():
                await session.execute(
                    update(BriefOutbox).values(
                        status="sending",
                        message_id=None,
                        lease_until=now,
                        first_attempt_at=now - dt.timedelta(hours=1 if late else 0),
                    )
                )
            if late:
                discord.advance(400)  # past the stand-in's 300 s nonce memory: found in the history
            assert await delivery.deliver_once() == 1
            pages = len(discord.requests("GET /channels/{channel_id}/messages"))
        assert [m.id for m in discord.messages("newsroom")] == [posted.id]
        assert await _briefs(sessions) == [("sent", posted.id, None)]
        assert pages == (1 if late else 0)
