"""Publication-to-alert latency, end to end: a local publisher stand-in publishes new OFAC SDN files at random
moments; `tradewatch serve`, with the default schedule, fetches them (conditional requests), imports them and
posts the alerts into a watch channel of the Discord stand-in. Every publication must arrive exactly once.

Each publication relists one entry left out of the real 2022-09-30 SDN file, so it makes exactly one alert.
The time from the publication to the alert's message is printed (p50, p95).

In `make test`: 2 publications with the schedule's intervals and jitter scaled down 30x (the import and the
alert delivery run at their real speed). The figures in docs/reliability.md come from the real schedule:
`TW_LATENCY_SCALE=1 TW_LATENCY_SAMPLES=15 pytest tests/e2e/test_alert_latency.py -s` (about 40 minutes a
backend).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import os
import random
import statistics
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AlertsConfig, SyncConfig
from db.sources import default_settings
from tests.db.sync.source_server import SourceServer
from tests.discord_standin import Driver
from tests.e2e.test_sync_serve import wait_for_snapshots
from tests.e2e.test_watch_alerts import add_watch
from tests.e2e.watch_harness import ServeProcess, alert_messages, clean_env, entries_of, write_config

SCALE = float(os.environ.get("TW_LATENCY_SCALE", "30"))
SAMPLES = int(os.environ.get("TW_LATENCY_SAMPLES", "2"))
INTERVAL = default_settings()["ofac_sdn"].interval_minutes * 60 / SCALE  # seconds between checks
# A publication waits up to an interval (plus jitter) to be fetched; 60 s more covers import and delivery.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180 + SAMPLES * (2 * INTERVAL + 60))]
SDN = "/ofac/downloads/sdn.csv"
OTHERS = ("ofac_cons", "ofac_changes", "csl", "opensanctions", "hs")


def sdn_lines(shared_data: Path) -> list[bytes]:
    data = (shared_data / "ofac/sdn_snapshots/2022-09-30/sdn.csv").read_bytes()
    return [line for line in data.rstrip(b"\x1a").split(b"\r\n") if line]


def version(lines: list[bytes], left_out: set[bytes]) -> bytes:
    """The SDN file without the `left_out` entries, in OFAC's format (CRLF rows, final 0x1A)."""
    return b"\r\n".join(line for line in lines if line.split(b",", 1)[0] not in left_out) + b"\r\n\x1a"


def sync_toml(sdn_url: str) -> str:
    """The default schedule of ofac_sdn (interval and jitter divided by SCALE), every other source off."""
    interval = default_settings()["ofac_sdn"].interval_minutes / SCALE
    jitter = SyncConfig().jitter_seconds / SCALE
    lines = [
        "[sync]",
        "enabled = true",
        f"jitter_seconds = {jitter}",
        "[sync.ofac_sdn]",
        f'urls = ["{sdn_url}"]',
        f"interval_minutes = {interval}",
        *(line for key in OTHERS for line in (f"[sync.{key}]", "enabled = false")),
    ]
    return "\n".join(lines)


async def wait_for_entry(discord: Driver, key: str, timeout: float) -> dt.datetime:
    """When the alert naming `key` was posted (the stand-in's message timestamp)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in alert_messages(discord, "alerts"):
            if ("added", key) in entries_of(message):
                return dt.datetime.fromisoformat(message.timestamp)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no alert for entry {key} within {timeout:.0f} s")


async def test_publication_to_alert_latency(
    tmp_path: Path,
    db_url: str,
    sessions: async_sessionmaker[AsyncSession],
    shared_data: Path,
    source_server: SourceServer,
) -> None:
    rng = random.Random(int(os.environ.get("TW_E2E_SEED", "7")))
    lines = sdn_lines(shared_data)
    keys = [line.split(b",", 1)[0] for line in lines]
    left_out = set(rng.sample(keys, SAMPLES))
    published: list[bytes] = []
    stamp = dt.datetime(2022, 9, 30, 19, tzinfo=dt.UTC)
    source_server.serve_bytes(
        SDN, version(lines, left_out), last_modified=email.utils.format_datetime(stamp, usegmt=True)
    )
    interval = INTERVAL
    latencies: list[float] = []

    async with Driver() as discord:
        config = write_config(
            tmp_path / "config.toml",
            db_url,
            discord.guild.id,
            sync=sync_toml(source_server.url(SDN)),
            poll_seconds=AlertsConfig().poll_seconds,
        )
        serve = ServeProcess(config, clean_env(discord.env()), tmp_path)
        await serve.start()
        try:
            await discord.wait_ready(commands={"watch"}, timeout=60)
            await wait_for_snapshots(sessions, serve, 1)  # the baseline, synced at start
            await add_watch(discord, channel=discord.channel("alerts"), sources="ofac_sdn")
            for i, key in enumerate(sorted(left_out)):
                await asyncio.sleep(rng.uniform(0, interval))  # a random moment of the publisher's choosing
                left_out.discard(key)
                published.append(key)
                stamp += dt.timedelta(minutes=1)
                published_at = dt.datetime.now(dt.UTC)
                source_server.serve_bytes(
                    SDN,
                    version(lines, left_out),
                    last_modified=email.utils.format_datetime(stamp, usegmt=True),
                )
                posted = await wait_for_entry(discord, key.decode(), timeout=interval * 3 + 120)
                latencies.append((posted - published_at).total_seconds())
                print(f"publication {i + 1}: alert after {latencies[-1]:.1f} s")
        finally:
            await serve.stop()

    # Exactly once: one alert per publication, no other alert.
    posted = Counter(entry for m in alert_messages(discord, "alerts") for entry in entries_of(m))
    assert posted == Counter(("added", k.decode()) for k in published)
    quantiles = statistics.quantiles(latencies, n=20, method="inclusive")
    print(
        f"publication-to-alert latency over {len(latencies)} publications (schedule scaled 1:{SCALE:g}): "
        f"p50 {statistics.median(latencies):.1f} s, p95 {quantiles[18]:.1f} s, max {max(latencies):.1f} s"
    )
