"""Syncing OFAC's SDN CSV from a local stand-in server: baseline, 304, the 296-addition day, broken answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import ListChange, Snapshot, SyncState
from db.sources import SourceSettings
from db.sync.runner import sync_source
from db.sync.steps import SyncContext
from tests.db.sync.source_server import SourceServer

SDN = "/ofac/downloads/sdn.csv"


def sdn_day(shared_data: Path, day: str) -> Path:
    return shared_data / "ofac" / "sdn_snapshots" / day / "sdn.csv"


async def count(sessions: async_sessionmaker[AsyncSession], model: type, *where: object) -> int:
    async with sessions() as session:
        return int(
            (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()
        )


async def state(sessions: async_sessionmaker[AsyncSession], key: str) -> SyncState:
    async with sessions() as session:
        return (await session.execute(select(SyncState).where(SyncState.source_key == key))).scalar_one()


@pytest.fixture
def sdn_settings(source_server: SourceServer, shared_data: Path) -> SourceSettings:
    """ofac_sdn pointed at the stand-in, serving the 2022-09-29 list."""
    source_server.serve_file(
        SDN, sdn_day(shared_data, "2022-09-29"), last_modified="Thu, 29 Sep 2022 18:59:00 GMT"
    )
    return SourceSettings(urls=(source_server.url(SDN),), interval_minutes=60, stale_hours=48)


async def test_baseline_then_304_then_the_296_additions(
    sync_ctx: SyncContext, source_server: SourceServer, sdn_settings: SourceSettings, shared_data: Path
) -> None:
    first = await sync_source(sync_ctx, "ofac_sdn", sdn_settings)
    assert first.outcome == "imported" and first.changes == 0  # the first snapshot is a baseline
    assert await count(sync_ctx.sessions, ListChange) == 0

    again = await sync_source(sync_ctx, "ofac_sdn", sdn_settings)
    assert again.outcome == "unchanged"
    assert source_server.fetched(SDN) == [200, 304]
    assert await count(sync_ctx.sessions, Snapshot) == 1

    source_server.serve_file(
        SDN, sdn_day(shared_data, "2022-09-30"), last_modified="Fri, 30 Sep 2022 18:59:00 GMT"
    )
    second = await sync_source(sync_ctx, "ofac_sdn", sdn_settings)
    assert second.outcome == "imported", second.message
    added = await count(sync_ctx.sessions, ListChange, ListChange.change == "added")
    removed = await count(sync_ctx.sessions, ListChange, ListChange.change == "removed")
    assert (added, removed) == (296, 0)
    assert second.changes == await count(sync_ctx.sessions, ListChange)
    async with sync_ctx.sessions() as session:
        sinno = (
            await session.execute(select(ListChange).where(ListChange.entity_key == "38641"))
        ).scalar_one()
        latest = await session.get(Snapshot, second.snapshot_ids[0])
    assert sinno.change == "added" and sinno.name.startswith("SINNO ELECTRONICS")
    assert latest is not None and latest.data_date == "2022-09-30"  # the server's Last-Modified date
    row = await state(sync_ctx.sessions, "ofac_sdn")
    assert row.last_outcome == "imported" and row.last_error is None and row.last_change_at is not None


BROKEN_ANSWERS = [
    ("html", "HTML page"),
    ("truncate", "truncated"),
    ("hang", "did not answer within"),
    ("error", "HTTP 500"),
    ("missing", "HTTP 404"),
]


async def test_broken_answers_change_nothing_and_the_next_good_sync_works(
    sync_ctx: SyncContext, source_server: SourceServer, sdn_settings: SourceSettings, shared_data: Path
) -> None:
    assert (await sync_source(sync_ctx, "ofac_sdn", sdn_settings)).outcome == "imported"
    source_server.serve_file(
        SDN, sdn_day(shared_data, "2022-09-30"), last_modified="Fri, 30 Sep 2022 18:59:00 GMT"
    )
    for failures, (mode, message) in enumerate(BROKEN_ANSWERS, start=1):
        source_server.set_mode(SDN, mode)
        broken = await sync_source(sync_ctx, "ofac_sdn", sdn_settings)
        assert broken.failed and message in broken.message and "nothing was changed" in broken.message, mode
        assert await count(sync_ctx.sessions, Snapshot) == 1
        assert await count(sync_ctx.sessions, ListChange) == 0
        row = await state(sync_ctx.sessions, "ofac_sdn")
        assert row.last_outcome == "failed" and message in (row.last_error or "") and row.failures == failures

    source_server.set_mode(SDN, "ok")
    good = await sync_source(sync_ctx, "ofac_sdn", sdn_settings)
    assert good.outcome == "imported"
    assert await count(sync_ctx.sessions, ListChange, ListChange.change == "added") == 296
    row = await state(sync_ctx.sessions, "ofac_sdn")
    assert row.last_error is None and row.failures == 0


async def test_a_file_that_fails_to_parse_changes_nothing(
    sync_ctx: SyncContext, source_server: SourceServer, sdn_settings: SourceSettings
) -> None:
    assert (await sync_source(sync_ctx, "ofac_sdn", sdn_settings)).outcome == "imported"
    source_server.serve_bytes(SDN, b'"not","an","sdn","row"\r\n\x1a')  # valid HTTP, broken CSV
    broken = await sync_source(sync_ctx, "ofac_sdn", sdn_settings)
    assert broken.failed and "could not be imported" in broken.message
    assert await count(sync_ctx.sessions, Snapshot) == 1
    assert await count(sync_ctx.sessions, ListChange) == 0
