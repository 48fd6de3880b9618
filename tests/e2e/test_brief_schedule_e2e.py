"""End to end: /watch schedule through real `tradewatch serve` processes (two at once on PostgreSQL, both
ticking into the same due slot), the brief read back from the stand-in: one row, one message."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import BriefOutbox, BriefSchedule
from tests.discord_standin import Driver
from tests.e2e.test_watch_alerts import add_watch
from tests.e2e.watch_harness import ServeProcess, clean_env, write_config

pytestmark = pytest.mark.e2e


async def _sent(sessions: async_sessionmaker[AsyncSession], serve: ServeProcess) -> list[BriefOutbox]:
    for _ in range(300):
        async with sessions() as session:
            rows = list((await session.execute(select(BriefOutbox))).scalars())
        if rows and all(r.status == "sent" for r in rows):
            return rows
        await asyncio.sleep(0.2)
    raise AssertionError(f"brief not sent: {[(r.status, r.error) for r in rows]}\n{serve.tail()}")


async def test_a_due_brief_is_posted_once_by_two_serve_processes(
    tmp_path: Path, db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    backend = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    async with Driver() as discord:
        config = write_config(tmp_path / "config.toml", db_url, discord.guild.id)
        env = clean_env(discord.env())
        serves = [
            ServeProcess(config, env, tmp_path, name=f"serve{i}")
            for i in range(2 if backend == "postgresql" else 1)
        ]
        for serve in serves:
            await serve.start()
        try:
            await discord.wait_ready(commands={"watch"}, timeout=90)
            newsroom = discord.channel("newsroom")
            await add_watch(discord, channel=newsroom, sources="ofac_sdn")
            options = {"channel": newsroom, "every": "daily", "time": "00:00", "tz": "UTC"}
            reply = await (await discord.invoke("watch schedule", options, user="carol")).reply(timeout=20)
            assert reply.embeds[0]["title"] == f"Brief scheduled in <#{newsroom.id}>", reply.embeds
            # Set two days ago: today's 00:00 UTC slot is due at the processes' next pass, both at once.
            async with sessions() as session, session.begin():
                await session.execute(
                    update(BriefSchedule).values(updated_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
                )
            [row] = await _sent(sessions, serves[0])
            await asyncio.sleep(2)  # ten more passes of each process: nothing more is enqueued or posted
            async with sessions() as session:
                assert len((await session.execute(select(BriefOutbox))).all()) == 1
        finally:
            for serve in serves:
                await serve.stop()
        briefs = [m for m in discord.messages("newsroom") if m.nonce is not None]
        assert [m.nonce for m in briefs] == ["twb1"] and row.message_id == briefs[0].id
        assert briefs[0].embeds[0]["title"].startswith("Daily brief, ")
        assert briefs[0].attachment("brief.csv").data
