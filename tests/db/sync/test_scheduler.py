"""The schedule: intervals and backoff, one sync per source at a time, a loop that survives errors, the thread."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

import db.sync.scheduler as scheduler
from db.models import Snapshot, SyncState
from db.sources import SourceSettings, default_settings
from db.sync.locks import source_lock
from db.sync.runner import sync_source
from db.sync.scheduler import SyncThread, next_delay, run_scheduler
from db.sync.steps import SyncContext, SyncResult
from tests.db.sync.source_server import SourceServer

SDN = "/ofac/downloads/sdn.csv"


@pytest.mark.parametrize(
    ("outcome", "failures", "low", "high"),
    [
        ("imported", 0, 3600, 3600 + 60),
        ("unchanged", 0, 3600, 3600 + 60),
        ("failed", 1, 300, 300 + 60),
        ("failed", 2, 600, 600 + 60),
        ("failed", 9, 3600, 3600 + 60),  # backoff never waits longer than the interval
    ],
)
def test_next_delay(outcome: str, failures: int, low: float, high: float) -> None:
    settings = SourceSettings(interval_minutes=60)
    delay = next_delay(settings, SyncResult("ofac_sdn", outcome, ""), failures, 60, random.Random(7))
    assert low <= delay <= high


@pytest.mark.parametrize(
    ("outcome", "failures", "low", "high"),
    [
        ("unchanged", 0, 120, 120 + 60),
        ("failed", 1, 120, 120 + 60),
        ("failed", 3, 480, 480 + 60),  # a failing publisher is not asked every two minutes
        ("failed", 9, 3600, 3600 + 60),  # nor less than once an hour
    ],
)
def test_a_frequent_source_backs_off_on_failures(
    outcome: str, failures: int, low: float, high: float
) -> None:
    settings = SourceSettings(interval_minutes=2)
    delay = next_delay(settings, SyncResult("ofac_sdn", outcome, ""), failures, 60, random.Random(7))
    assert low <= delay <= high


@pytest.fixture
def sdn_settings(source_server: SourceServer, shared_data: Path) -> dict[str, SourceSettings]:
    source_server.serve_file(SDN, shared_data / "ofac" / "sdn_snapshots" / "2022-09-29" / "sdn.csv")
    off = {k: SourceSettings(enabled=False, urls=v.urls) for k, v in default_settings().items()}
    return {**off, "ofac_sdn": SourceSettings(urls=(source_server.url(SDN),), interval_minutes=60)}


async def test_a_source_held_by_another_process_is_left_alone(
    sync_ctx: SyncContext, source_server: SourceServer, sdn_settings: dict[str, SourceSettings]
) -> None:
    async with source_lock(sync_ctx.engine, "ofac_sdn"):  # as if another serve process were syncing it
        result = await sync_source(sync_ctx, "ofac_sdn", sdn_settings["ofac_sdn"])
    assert result.outcome == "busy"
    assert source_server.fetched(SDN) == []
    async with sync_ctx.sessions() as session:
        assert (await session.execute(select(SyncState))).scalars().all() == []


async def test_two_concurrent_syncs_of_one_source_import_once(
    sync_ctx: SyncContext, source_server: SourceServer, sdn_settings: dict[str, SourceSettings]
) -> None:
    source_server.routes[SDN].delay = 0.5  # the first sync is still downloading when the second starts
    results = await asyncio.gather(
        *(sync_source(sync_ctx, "ofac_sdn", sdn_settings["ofac_sdn"]) for _ in range(2))
    )
    assert sorted(r.outcome for r in results) == ["busy", "imported"]
    async with sync_ctx.sessions() as session:
        assert len((await session.execute(select(Snapshot))).scalars().all()) == 1


async def test_the_loop_survives_an_error_and_stops_when_asked(
    sync_ctx: SyncContext, monkeypatch: pytest.MonkeyPatch, sdn_settings: dict[str, SourceSettings]
) -> None:
    stop = asyncio.Event()
    calls: list[int] = []

    async def flaky_run_due(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        stop.set()
        return []

    monkeypatch.setattr(scheduler, "run_due", flaky_run_due)
    await asyncio.wait_for(
        run_scheduler(sync_ctx, sdn_settings, jitter=0, stop=stop, max_wait=0.01), timeout=30
    )
    assert len(calls) == 2


async def test_sync_thread_runs_the_schedule_beside_the_event_loop(
    db_url: str, engine, source_server: SourceServer, sdn_settings: dict[str, SourceSettings], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    thread = SyncThread(db_url, tmp_path / "cache", sdn_settings, timeout=10, jitter=0)
    thread.start()
    try:
        async with asyncio.timeout(120):
            while True:  # the server answers from this loop, so wait here without blocking it
                async with engine.connect() as conn:
                    row = (await conn.execute(select(SyncState.last_outcome, SyncState.next_sync_at))).first()
                if row is not None and row.next_sync_at is not None:
                    break
                await asyncio.sleep(0.05)
    finally:
        await asyncio.to_thread(thread.stop)
    assert row.last_outcome == "imported"
    next_sync = row.next_sync_at if row.next_sync_at.tzinfo else row.next_sync_at.replace(tzinfo=dt.UTC)
    assert next_sync > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=55)


async def test_stopping_the_thread_cancels_a_stuck_sync(
    db_url: str,
    engine: AsyncEngine,  # empties the PostgreSQL tables: a schedule left by another test must not apply
    source_server: SourceServer,
    sdn_settings: dict[str, SourceSettings],
    tmp_path: Path,
) -> None:
    source_server.set_mode(SDN, "hang")  # the publisher never answers; the download timeout is long
    thread = SyncThread(db_url, tmp_path / "cache", sdn_settings, timeout=600, jitter=0)
    thread.start()
    async with asyncio.timeout(60):
        while not source_server.fetched(SDN):
            await asyncio.sleep(0.05)
    await asyncio.to_thread(thread.stop, 0.2)
    await asyncio.to_thread(thread._thread.join, 60)  # cleanup may take a moment on a busy machine
    assert not thread._thread.is_alive()  # without the cancel it would wait for the 600 s download timeout
