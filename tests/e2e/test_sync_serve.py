"""End to end: `tradewatch serve` syncs OFAC from a local source server on its schedule, and the changes it
imports arrive in a watch channel, with no `tradewatch import` anywhere.

The source server serves the SDN list of 2022-09-29 (the baseline: no alerts), then the one of 2022-09-30; the
schedule notices on its next check (conditional request), imports it, and the watch for Hong Kong and China
entities gets exactly the matching entries. The expected set is computed here from the files.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Snapshot, SyncState
from tests.db.sync.source_server import SourceServer
from tests.discord_standin import Driver
from tests.e2e.test_watch_alerts import add_watch, outbox_settled
from tests.e2e.watch_harness import ServeProcess, as_counter, clean_env, diff_rows, ofac_rows, posted_entries

pytestmark = pytest.mark.e2e

HK_OR_CHINA = re.compile(r"\b(Hong Kong|China)\b")
SDN = "/ofac/downloads/sdn.csv"
OTHERS = ("ofac_cons", "ofac_changes", "csl", "opensanctions", "hs")


def write_sync_config(path: Path, db_url: str, guild_id: int, sdn_url: str) -> Path:
    """serve with the schedule on: ofac_sdn from the stand-in every few seconds, every other source off."""
    lines = [
        "[database]",
        f'url = "{db_url}"',
        "[data]",
        f'data_dir = "{path.parent / "var"}"',
        "[discord]",
        f"guilds = [{{ id = {guild_id} }}]",
        "[alerts]",
        "poll_seconds = 0.2",
        "lease_seconds = 4.0",
        "digest_threshold = 5",
        "[sync]",
        "enabled = true",
        "jitter_seconds = 0.0",
        "timeout_seconds = 30.0",
        "[sync.ofac_sdn]",
        f"urls = {json.dumps([sdn_url])}",
        "interval_minutes = 0.05",
        *(line for key in OTHERS for line in (f"[sync.{key}]", "enabled = false")),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def wait_for_snapshots(
    sessions: async_sessionmaker[AsyncSession], serve: ServeProcess, count: int, timeout: float = 120
) -> None:
    """Wait until the serve process has loaded `count` SDN snapshots (fails with its log otherwise)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        async with sessions() as session:
            loaded = len((await session.execute(select(Snapshot.id))).all())
            state = (await session.execute(select(SyncState.last_outcome, SyncState.last_error))).first()
        if loaded >= count:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{loaded} snapshot(s), sync state {state}\n--- serve log ---\n{serve.tail()}")


async def test_the_schedule_brings_the_296_day_to_a_watch_channel(
    tmp_path: Path,
    db_url: str,
    sessions: async_sessionmaker[AsyncSession],
    shared_data: Path,
    source_server: SourceServer,
) -> None:
    sdn = shared_data / "ofac" / "sdn_snapshots"
    day = diff_rows(ofac_rows(sdn / "2022-09-29" / "sdn.csv"), ofac_rows(sdn / "2022-09-30" / "sdn.csv"))
    after_rows = ofac_rows(sdn / "2022-09-30" / "sdn.csv")
    hk_cn = {k for kind in ("added", "amended") for k in day[kind] if HK_OR_CHINA.search(after_rows[k][11])}
    source_server.serve_file(
        SDN, sdn / "2022-09-29" / "sdn.csv", last_modified="Thu, 29 Sep 2022 18:59:00 GMT"
    )

    async with Driver() as discord:
        config = write_sync_config(tmp_path / "config.toml", db_url, discord.guild.id, source_server.url(SDN))
        serve = ServeProcess(config, clean_env(discord.env()), tmp_path)
        await serve.start()
        try:
            await discord.wait_ready(commands={"watch"}, timeout=60)
            await wait_for_snapshots(sessions, serve, 1)  # the baseline, synced at start
            await add_watch(
                discord, channel=discord.channel("alerts"), sources="ofac_sdn", countries="Hong Kong, China"
            )
            async with asyncio.timeout(60):  # the next scheduled check: a conditional request, answered 304
                while 304 not in source_server.fetched(SDN):
                    await asyncio.sleep(0.2)

            source_server.serve_file(
                SDN, sdn / "2022-09-30" / "sdn.csv", last_modified="Fri, 30 Sep 2022 18:59:00 GMT"
            )
            await wait_for_snapshots(sessions, serve, 2)
            await outbox_settled(sessions, serve)
        finally:
            await serve.stop()

    assert posted_entries(discord, "alerts") == as_counter(
        {"added": day["added"] & hk_cn, "amended": day["amended"] & hk_cn}
    )
    assert ("added", "38641") in posted_entries(discord, "alerts")  # SINNO ELECTRONICS CO., LIMITED
    assert source_server.fetched(SDN).count(200) == 2  # the two versions; every other check was a 304
