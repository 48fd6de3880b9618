"""End to end: real `tradewatch serve` and real imports of OFAC files, alerts read back from the stand-in.

- The 296-addition day (SDN 2022-09-29 -> 2022-09-30): a watch for Hong Kong and China entities receives
  exactly the matching entries; an unfiltered SDN watch receives one digest whose CSV lists every change.
- A delisting (non-SDN 2025-04 -> 2025-12): KAYAKIRAN, Evren arrives as a "Delisted" alert, and the
  unfiltered non-SDN watch gets the removal and the amendments in one digest.
The expected sets are computed here from the files, independently of the importer.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AlertOutbox
from tests.discord_standin import Driver
from tests.e2e.watch_harness import (
    ServeProcess,
    alert_messages,
    as_counter,
    clean_env,
    diff_rows,
    ofac_multi,
    ofac_rows,
    posted_entries,
    run_import,
    write_config,
)

pytestmark = pytest.mark.e2e

HK_OR_CHINA = re.compile(r"\b(Hong Kong|China)\b")


async def outbox_settled(
    sessions: async_sessionmaker[AsyncSession], serve: ServeProcess, timeout: float = 90
) -> None:
    """Wait until every outbox row is sent (fails with the serve log if it does not happen)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        async with sessions() as session:
            rows = dict(
                (await session.execute(select(AlertOutbox.status, func.count()).group_by(AlertOutbox.status)))
                .tuples()
                .all()
            )
        if rows and set(rows) == {"sent"}:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"outbox not delivered: {rows}\n--- serve log ---\n{serve.tail()}")


async def add_watch(discord: Driver, **options: object) -> None:
    reply = await (await discord.invoke("watch add", options, user="carol")).reply(timeout=20)
    assert reply.embeds[0]["title"].startswith("Watch #"), reply.embeds


async def test_296_day_and_a_delisting(
    tmp_path: Path, db_url: str, sessions: async_sessionmaker[AsyncSession], shared_data: Path
) -> None:
    sdn = shared_data / "ofac" / "sdn_snapshots"
    cons_before = shared_data / "ofac" / "nonsdn_consolidated_2025-04"
    cons_after = shared_data / "ofac" / "nonsdn_consolidated_2025-12"
    day = diff_rows(ofac_rows(sdn / "2022-09-29" / "sdn.csv"), ofac_rows(sdn / "2022-09-30" / "sdn.csv"))
    after_rows = ofac_rows(sdn / "2022-09-30" / "sdn.csv")
    hk_cn = {k for kind in ("added", "amended") for k in day[kind] if HK_OR_CHINA.search(after_rows[k][11])}
    assert len(day["added"]) == 296
    cons = diff_rows(ofac_rows(cons_before / "cons_prim.csv"), ofac_rows(cons_after / "cons_prim.csv"))
    addresses = diff_rows(ofac_multi(cons_before / "cons_add.csv"), ofac_multi(cons_after / "cons_add.csv"))
    cons["amended"] |= addresses["amended"] - cons["removed"]

    async with Driver() as discord:
        config = write_config(tmp_path / "config.toml", db_url, discord.guild.id)
        env = clean_env(discord.env())
        await run_import(config, env, "ofac", sdn / "2022-09-29", "2022-09-29")  # baselines: no alerts
        await run_import(config, env, "ofac", cons_before, "2025-04-21")
        serve = ServeProcess(config, env, tmp_path)
        await serve.start()
        try:
            await discord.wait_ready(commands={"watch"}, timeout=60)
            await add_watch(
                discord, channel=discord.channel("alerts"), sources="ofac_sdn", countries="Hong Kong, China"
            )
            await add_watch(discord, channel=discord.channel("newsroom"), sources="ofac_sdn")
            await add_watch(discord, channel=discord.channel("general"), keywords="kayakiran")
            await add_watch(discord, channel=discord.channel("newsroom"), sources="ofac_cons")

            await run_import(config, env, "ofac", sdn / "2022-09-30", "2022-09-30")
            await run_import(config, env, "ofac", cons_after, "2025-12-19")
            await outbox_settled(sessions, serve)
        finally:
            await serve.stop()

        # Hong Kong and China: exactly the matching entries, one alert each (fewer than the digest size).
        assert posted_entries(discord, "alerts") == as_counter(
            {"added": day["added"] & hk_cn, "amended": day["amended"] & hk_cn}
        )
        assert ("added", "38641") in posted_entries(discord, "alerts")  # SINNO ELECTRONICS CO., LIMITED
        [sinno] = alert_messages(discord, "alerts")
        assert sinno.embeds[0]["title"] == "Newly listed: SINNO ELECTRONICS CO., LIMITED"
        assert "RUSSIA-EO14024" in str(sinno.embeds[0]) and "Hong Kong (HK)" in str(sinno.embeds[0])

        # The unfiltered watches: one digest per burst, with every change in its CSV.
        news = alert_messages(discord, "newsroom")
        assert len(news) == 2 and all(len(m.attachments) == 1 for m in news)
        assert posted_entries(discord, "newsroom") == as_counter(day) + as_counter(cons)
        assert news[0].embeds[0]["title"].endswith("296 added, 20 amended")

        # The delisting, as its own alert.
        [delisted] = alert_messages(discord, "general")
        assert delisted.embeds[0]["title"] == "Delisted: KAYAKIRAN, Evren"
        assert posted_entries(discord, "general") == as_counter({"removed": {"26182"}})
        discord.assert_all_implemented()
