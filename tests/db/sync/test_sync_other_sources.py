"""Syncing the CSL, the HS table and OFAC's change file from a local stand-in, and the change file's trigger."""

from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import select

from db.models import ListChange, Snapshot, Source
from db.sources import SourceSettings, default_settings
from db.sync.runner import sync_source
from db.sync.scheduler import run_due
from db.sync.steps import SyncContext
from tests.db.sync.source_server import SourceServer

CSL = "/static/consolidated_screening_list/consolidated.csv"


def without_line(path: Path, marker: str) -> bytes:
    """The real file minus the lines holding `marker` (a delisting made for the test, said so here)."""
    lines = path.read_bytes().splitlines(keepends=True)
    kept = [line for line in lines if marker.encode() not in line]
    assert len(kept) == len(lines) - 1
    return b"".join(kept)


async def test_csl_delisting_through_the_sync(
    sync_ctx: SyncContext, source_server: SourceServer, shared_data: Path
) -> None:
    excerpt = shared_data / "bis_csl" / "csl_excerpts" / "consolidated_2025-06_excerpt.csv"
    source_server.serve_file(CSL, excerpt, last_modified="Wed, 25 Jun 2025 08:00:00 GMT")
    settings = SourceSettings(urls=(source_server.url(CSL),))
    assert (await sync_source(sync_ctx, "csl", settings)).outcome == "imported"

    source_server.serve_bytes(
        CSL, without_line(excerpt, '"Atlas Sanatgaran"'), last_modified="Thu, 26 Jun 2025 08:00:00 GMT"
    )
    result = await sync_source(sync_ctx, "csl", settings)
    assert result.outcome == "imported" and result.changes == 1
    async with sync_ctx.sessions() as session:
        change = (await session.execute(select(ListChange))).scalar_one()
    assert (change.change, change.name) == ("removed", "Atlas Sanatgaran")


async def test_hs_table_then_304(
    sync_ctx: SyncContext, source_server: SourceServer, shared_data: Path
) -> None:
    path = "/datasets/harmonized-system/main/data/harmonized-system.csv"
    source_server.serve_file(path, shared_data / "hs" / "harmonized-system.csv")
    settings = SourceSettings(urls=(source_server.url(path),))
    first = await sync_source(sync_ctx, "hs", settings)
    assert first.outcome == "imported" and first.reports[0].rows_loaded > 6000
    assert (await sync_source(sync_ctx, "hs", settings)).outcome == "unchanged"
    assert source_server.fetched(path) == [200, 304]


# Hand-made stand-in bodies for OFAC's change file (its real layout is not needed: the sync only records it).
CHANGE_A = b'<?xml version="1.0"?><delta><publication id="1001" date="2024-05-01"/></delta>\n'
CHANGE_B = b'<?xml version="1.0"?><delta><publication id="1002" date="2024-05-02"/></delta>\n'


async def test_change_file_is_recorded_and_triggers_the_lists(
    sync_ctx: SyncContext, source_server: SourceServer, shared_data: Path
) -> None:
    source_server.serve_bytes("/changes/latest", b"", mode="redirect", location="/changes/1001")
    source_server.serve_bytes(
        "/changes/1001", CHANGE_A, content_type="text/xml", last_modified="Wed, 01 May 2024 18:00:00 GMT"
    )
    sdn = "/ofac/downloads/sdn.csv"
    source_server.serve_file(sdn, shared_data / "ofac" / "sdn_snapshots" / "2024-04-26" / "sdn.csv")
    settings = {
        **{k: SourceSettings(enabled=False, urls=v.urls) for k, v in default_settings().items()},
        "ofac_changes": SourceSettings(urls=(source_server.url("/changes/latest"),), interval_minutes=30),
        "ofac_sdn": SourceSettings(urls=(source_server.url(sdn),), interval_minutes=24 * 60),
    }
    rng = random.Random(3)
    first = await run_due(sync_ctx, settings, jitter=0, rng=rng)
    assert [(r.source, r.outcome) for r in first] == [
        ("ofac_sdn", "imported"),
        ("ofac_changes", "recorded"),
        ("ofac_sdn", "unchanged"),
    ]
    assert await run_due(sync_ctx, settings, jitter=0, rng=rng) == []  # nothing is due yet

    async with sync_ctx.sessions() as session:
        recorded = (
            await session.execute(select(Snapshot).join(Source).where(Source.key == "ofac_changes"))
        ).scalar_one()
    assert recorded.data_date == "2024-05-01" and recorded.file_name == "latest"
    assert recorded.meta is not None and recorded.meta["files"]["latest"]["bytes"] == len(CHANGE_A)

    assert (await sync_source(sync_ctx, "ofac_changes", settings["ofac_changes"])).outcome == "unchanged"
    source_server.serve_bytes("/changes/latest", b"", mode="redirect", location="/changes/1002")
    source_server.serve_bytes("/changes/1002", CHANGE_B, content_type="text/xml")
    moved = await sync_source(sync_ctx, "ofac_changes", settings["ofac_changes"])
    assert moved.outcome == "recorded"
