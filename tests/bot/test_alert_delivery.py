"""The delivery loop against the Discord stand-in: nonce, marking, retries, pausing, and no double posts.

The bot runs in this process (cog `bot.cogs.watch` only) so that the tests can also drive the loop's steps
directly; tests/e2e runs the real `tradewatch serve` process.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import replace

import discord as discord_py
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.alerts import MARKER_PREFIX, AlertDelivery
from bot.client import TradewatchBot, apply_endpoints
from bot.config import AlertsConfig, Config, DatabaseConfig, DiscordConfig, GuildAccess
from db.models import AlertOutbox, Watch
from db.outbox import write_alerts
from db.queries.watch import claim_deliveries
from tests.db.watch_seed import add_change, add_entity, add_watch, seed_source
from tests.discord_standin import Driver

FAST = AlertsConfig(poll_seconds=0.05, lease_seconds=20.0, digest_threshold=3, max_backoff_seconds=0.2)


@contextlib.asynccontextmanager
async def running_bot(
    discord: Driver, db_url: str, alerts: AlertsConfig = FAST
) -> AsyncIterator[TradewatchBot]:
    env = discord.env()
    config = Config(
        database=DatabaseConfig(url=db_url),
        discord=DiscordConfig(
            token=env["DISCORD_TOKEN"],
            api_base=env["DISCORD_API_BASE"],
            gateway_url=env["DISCORD_GATEWAY_URL"],
            guilds=(GuildAccess(discord.guild.id),),
        ),
        alerts=alerts,
    )
    # apply_endpoints sets two discord.py class attributes for the whole process: put them back afterwards.
    saved = (discord_py.http.Route.BASE, discord_py.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    apply_endpoints(config.discord)
    bot = TradewatchBot(config, cog_modules=["bot.cogs.watch"], guild_ready_timeout=0.1)
    runner = asyncio.create_task(bot.start(config.discord.token))
    try:
        await discord.wait_ready(commands={"watch"})
        yield bot
    finally:
        await bot.close()
        with contextlib.suppress(Exception):
            await runner
        discord_py.http.Route.BASE, discord_py.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


async def _alerts(
    sessions: async_sessionmaker[AsyncSession], channel_id: int, guild_id: int, n: int
) -> list[int]:
    """`n` changes for one new watch on `channel_id`; returns the outbox ids."""
    async with sessions() as session, session.begin():
        seed = await seed_source(session)
        watch = await add_watch(session, channel_id)
        watch.guild_id = guild_id
        changes = [
            await add_change(
                session, seed, await add_entity(session, seed, str(38600 + i), f"TEST {i} CO LTD")
            )
            for i in range(n)
        ]
        await write_alerts(session, changes)
    async with sessions() as session:
        return list((await session.execute(select(AlertOutbox.id).order_by(AlertOutbox.id))).scalars())


async def _statuses(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, int | None]]:
    async with sessions() as session:
        rows = await session.execute(
            select(AlertOutbox.status, AlertOutbox.message_id).order_by(AlertOutbox.id)
        )
        return list(rows.tuples())


async def _settled(discord: Driver, sessions: async_sessionmaker[AsyncSession], status: str = "sent") -> None:
    async def done() -> bool:
        return all(s == status for s, _ in await _statuses(sessions))

    for _ in range(400):
        if await done():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(
        f"outbox not settled: {await _statuses(sessions)}\n{discord.standin.store.summary()}"
    )


async def test_alerts_are_posted_once_with_nonce_and_marked(
    db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with Driver() as discord:
        channel = discord.channel("alerts")
        await _alerts(sessions, channel.id, discord.guild.id, 2)
        async with running_bot(discord, db_url):
            await _settled(discord, sessions)
            messages = discord.messages("alerts")
        assert len(messages) == 2
        assert {m.nonce for m in messages} == {f"tw{i}" for i, _ in enumerate(messages, start=1)}
        assert [m.id for m in messages] == [mid for _, mid in await _statuses(sessions)]
        posts = discord.requests("POST /channels/{channel_id}/messages")
        assert all(
            r.json["enforce_nonce"] is True and r.json["allowed_mentions"]["parse"] == [] for r in posts
        )
        assert messages[0].embeds[0]["title"] == "Newly listed: TEST 0 CO LTD"
        assert messages[0].embeds[0]["footer"]["text"].endswith(MARKER_PREFIX + "tw1")
        discord.assert_all_implemented()


async def test_a_burst_is_one_digest_with_every_entry(
    db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with Driver() as discord:
        channel = discord.channel("alerts")
        await _alerts(sessions, channel.id, discord.guild.id, 8)
        async with running_bot(discord, db_url):
            await _settled(discord, sessions)
        [message] = discord.messages("alerts")
        assert message.nonce == "twd1"
        csv_text = message.attachment("changes-ofac_sdn-2022-09-30.csv").data.decode("utf-8-sig")
        assert sorted(line.split(",")[2] for line in csv_text.splitlines()[1:]) == [
            str(38600 + i) for i in range(8)
        ]
        assert {mid for _, mid in await _statuses(sessions)} == {message.id}


@pytest.mark.parametrize("status", [503, 429])
async def test_server_errors_and_rate_limits_are_retried(
    status: int, db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """503: retried by the loop with backoff; 429 (with Via): discord.py waits retry_after and repeats."""
    async with Driver() as discord:
        channel = discord.channel("alerts")
        discord.fail_next("POST /channels/{channel_id}/messages", status, count=2)
        await _alerts(sessions, channel.id, discord.guild.id, 1)
        async with running_bot(discord, db_url):
            await _settled(discord, sessions)
        assert len(discord.messages("alerts")) == 1
        statuses = [r.status for r in discord.requests("POST /channels/{channel_id}/messages")]
        assert statuses == [status, status, 200]


@pytest.mark.parametrize("problem", ["deleted", "forbidden"])
async def test_a_gone_or_closed_channel_pauses_its_watch(
    problem: str, db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with Driver() as discord:
        channel = discord.channel("alerts")
        if problem == "deleted":
            discord.guild.channels.remove(channel)
        else:
            channel.bot_can_send = False
        await _alerts(sessions, channel.id, discord.guild.id, 2)
        async with running_bot(discord, db_url):

            async def paused() -> Watch | None:
                async with sessions() as session:
                    watch = (await session.execute(select(Watch))).scalar_one()
                    return watch if watch.paused else None

            for _ in range(200):
                if watch := await paused():
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the watch was not paused")
            await asyncio.sleep(0.3)  # several polls: nothing more is attempted while paused
        code = "10003" if problem == "deleted" else "50013"
        assert code in (watch.paused_reason or "")
        assert [s for s, _ in await _statuses(sessions)] == ["pending", "pending"]  # held, not lost
        assert len(discord.requests("POST /channels/{channel_id}/messages")) == 1


async def test_retry_after_a_crash_between_posting_and_marking_posts_nothing_new(
    db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A process posted (Discord has the message) and died before marking: the next one does not duplicate.

    Within Discord's nonce window the repeated nonce returns the same message; later, the loop finds the
    message by its footer reference in the channel history before posting.
    """
    async with Driver() as discord:
        channel = discord.channel("alerts")
        await _alerts(sessions, channel.id, discord.guild.id, 2)
        paused_loop = replace(FAST, enabled=False)
        async with running_bot(discord, db_url, paused_loop) as bot:
            delivery = AlertDelivery(bot, FAST)
            claimed = await claim_deliveries(
                sessions,
                worker="dead",
                now=dt.datetime.now(dt.UTC),
                lease=dt.timedelta(seconds=20),
                digest_threshold=3,
            )
            for d in claimed:  # "post, then die before marking"
                await delivery.deliver(d)
            async with sessions() as session, session.begin():
                await session.execute(
                    update(AlertOutbox).values(
                        status="sending", message_id=None, lease_until=dt.datetime.now(dt.UTC)
                    )
                )
            posted = {m.nonce: m.id for m in discord.messages("alerts")}
            assert len(posted) == 2
            now = dt.datetime.now(dt.UTC)
            # tw1 is retried at once, inside Discord's nonce memory; tw2 stays claimed for now.
            async with sessions() as session, session.begin():
                await session.execute(
                    update(AlertOutbox)
                    .where(AlertOutbox.nonce == "tw2")
                    .values(lease_until=now + dt.timedelta(hours=1))
                )
            assert await delivery.deliver_once() == 1
            # tw2 is retried long after its attempt, when Discord no longer knows the nonce: history check.
            async with sessions() as session, session.begin():
                await session.execute(
                    update(AlertOutbox)
                    .where(AlertOutbox.nonce == "tw2")
                    .values(lease_until=now, first_attempt_at=now - dt.timedelta(hours=1))
                )
            discord.advance(400)  # past the stand-in's 300 s nonce memory
            assert await delivery.deliver_once() == 1
            assert len(discord.requests("GET /channels/{channel_id}/messages")) == 1
        assert {m.nonce: m.id for m in discord.messages("alerts")} == posted
        assert sorted(mid for _, mid in await _statuses(sessions)) == sorted(posted.values())


@pytest.mark.parametrize("before", [249, 450])
async def test_the_look_back_finds_the_alert_however_busy_the_channel(
    db_url: str, sessions: async_sessionmaker[AsyncSession], before: int
) -> None:
    """Hundreds of messages, then the alert posted by a process that died before marking it, then 150 more; the
    retry comes after Discord forgot the nonce. Reading the window's oldest 100 missed the alert (posted
    twice); newest first, page after page back to the first attempt, it is found: no second post."""
    async with Driver() as discord:
        channel = discord.channel("alerts")
        discord.add_user("reporter")
        await _alerts(sessions, channel.id, discord.guild.id, 1)
        async with running_bot(discord, db_url, replace(FAST, enabled=False)) as bot:
            delivery = AlertDelivery(bot, FAST)
            started = dt.datetime.now(dt.UTC)
            discord.post_as("reporter", "alerts", "busy newsroom", count=before)
            for d in await claim_deliveries(
                sessions, worker="dead", now=started, lease=dt.timedelta(seconds=20), digest_threshold=3
            ):
                await delivery.deliver(d)  # posted; then "dies" before marking:
            async with sessions() as session, session.begin():
                await session.execute(
                    update(AlertOutbox).values(
                        status="sending",
                        message_id=None,
                        lease_until=started,
                        first_attempt_at=started - dt.timedelta(hours=1),
                        last_attempt_at=started - dt.timedelta(minutes=1),  # a later attempt, also lost
                    )
                )
            discord.post_as("reporter", "alerts", "still busy", count=150)
            discord.advance(400)  # past the stand-in's 300 s nonce memory
            assert await delivery.deliver_once() == 1
            pages = len(discord.requests("GET /channels/{channel_id}/messages"))
        alerts = [m for m in discord.messages("alerts") if m.nonce is not None]
        assert len(alerts) == 1, f"posted {len(alerts)} times"
        assert [mid for _, mid in await _statuses(sessions)] == [alerts[0].id]
        assert pages == 2  # newest first: the 150 later messages, then the alert on the second page
