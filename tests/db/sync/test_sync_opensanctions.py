"""OpenSanctions sync from a local stand-in: index -> baseline export, then delta versions in version order."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import select

from db.models import Entity, ListChange, Snapshot
from db.sources import SourceSettings
from db.sync.opensanctions import pending_versions
from db.sync.runner import sync_source
from db.sync.steps import SyncContext
from tests.db.sync.source_server import SourceServer

INDEX = "/datasets/latest/sanctions/index.json"
EXPORT = "/datasets/20240527/sanctions/entities.ftm.json"
FIRST, LAST = "20240527134702-zbn", "20240528134729-3iv"


def serve_index(server: SourceServer, version: str, checksum: str | None = None) -> None:
    """A dataset index in OpenSanctions' format (built here: the shared t1 index.json is the catalogue one)."""
    export = {"name": "entities.ftm.json", "url": server.url(EXPORT), "mime_type": "application/json+ftm"}
    index = {
        "name": "sanctions",
        "title": "Consolidated Sanctions",
        "version": version,
        "updated_at": "2024-05-27T13:47:02",
        "last_export": "2024-05-27T13:47:02",
        "delta_url": server.url(f"/artifacts/sanctions/{version}/delta.json"),
        "resources": [{**export, "checksum": checksum} if checksum else export],
    }
    server.serve_bytes(INDEX, json.dumps(index).encode(), content_type="application/json")


def serve_deltas(server: SourceServer, t2: Path, version: str) -> None:
    """The real t2 delta.json with its URLs pointed at the stand-in, listed newest first (order must not matter)."""
    listed = json.loads((t2 / "delta.json").read_text())["versions"]
    local = {
        v: server.url(f"/artifacts/sanctions/{v}/entities.delta.json") for v in sorted(listed, reverse=True)
    }
    server.serve_bytes(f"/artifacts/sanctions/{version}/delta.json", json.dumps({"versions": local}).encode())
    for v in listed:
        server.serve_file(f"/artifacts/sanctions/{v}/entities.delta.json", t2 / v / "entities.delta.json")


async def test_baseline_then_deltas_in_version_order(
    sync_ctx: SyncContext, source_server: SourceServer, shared_data: Path
) -> None:
    fixtures = shared_data / "opensanctions" / "yente_fixtures"
    settings = SourceSettings(urls=(source_server.url(INDEX),), resource="entities.ftm.json")
    source_server.serve_file(EXPORT, fixtures / "t1" / "entities.ftm.json")
    serve_index(source_server, FIRST)

    baseline = await sync_source(sync_ctx, "opensanctions", settings)
    assert (baseline.outcome, baseline.changes, baseline.cursor) == ("imported", 0, FIRST)
    assert (await sync_source(sync_ctx, "opensanctions", settings)).outcome == "unchanged"
    assert source_server.fetched(INDEX) == [200, 304]

    serve_index(source_server, LAST)
    serve_deltas(source_server, fixtures / "t2", LAST)
    result = await sync_source(sync_ctx, "opensanctions", settings)
    assert result.outcome == "imported", result.message
    assert result.cursor == LAST and len(result.snapshot_ids) == 4  # every version after the baseline's
    assert source_server.fetched(f"/artifacts/sanctions/{FIRST}/entities.delta.json") == []  # not newer

    async with sync_ctx.sessions() as session:
        rows = (
            await session.execute(
                select(Snapshot.meta, ListChange.change, ListChange.entity_key)
                .join(ListChange, ListChange.snapshot_id == Snapshot.id)
                .order_by(Snapshot.id, ListChange.id)
            )
        ).all()
        poltergeist = (
            await session.execute(select(Entity.active).where(Entity.source_key == "NK-500Poltergeist"))
        ).scalar_one()
    by_version: dict[str, set[tuple[str, str]]] = {}
    for meta, change, key in rows:  # rows come in snapshot (= application) order
        by_version.setdefault(meta["version"], set()).add((change, key))
    assert list(by_version) == sorted(
        by_version
    )  # applied oldest first, though delta.json lists newest first
    assert by_version == {
        "20240527194702-wnk": {
            ("added", "NK-2T3S8Hu29ktYnKSTgQp2wL"),
            ("added", "NK-2sJaJRaPJcWUfMbHjTtWcL"),
        },
        "20240528014702-pfh": {("added", "NK-500Poltergeist"), ("amended", "NK-2T3S8Hu29ktYnKSTgQp2wL")},
        "20240528074703-npf": {("removed", "NK-500Poltergeist")},
        LAST: {("added", "Q4365364")},
    }
    assert poltergeist is False  # added by pfh, deleted by npf: applied in that order

    again = await sync_source(sync_ctx, "opensanctions", settings)
    assert again.outcome == "unchanged" and again.cursor == LAST


def test_pending_versions() -> None:
    versions = {"20240101-a": "u", "20240102-b": "u", "20240103-c": "u"}
    assert pending_versions(versions, "20240101-a") == ["20240102-b", "20240103-c"]
    assert pending_versions(versions, "20240103-c") == []
    assert pending_versions(versions, "20231231-z") is None  # the history no longer reaches back: reload


async def test_an_export_that_is_not_the_one_the_index_describes_is_refused(
    sync_ctx: SyncContext, source_server: SourceServer, shared_data: Path
) -> None:
    """The index publishes each export's SHA-1: a cut download (or a stale copy) is refused, then fetched again."""
    export = (shared_data / "opensanctions" / "yente_fixtures" / "t1" / "entities.ftm.json").read_bytes()
    settings = SourceSettings(urls=(source_server.url(INDEX),), resource="entities.ftm.json")
    source_server.serve_bytes(EXPORT, export[: len(export) // 2])
    serve_index(source_server, FIRST, checksum=hashlib.sha1(export, usedforsecurity=False).hexdigest())
    refused = await sync_source(sync_ctx, "opensanctions", settings)
    assert refused.outcome == "failed" and "SHA-1" in refused.message
    async with sync_ctx.sessions() as session:
        assert (await session.execute(select(Snapshot.id))).first() is None

    source_server.serve_bytes(EXPORT, export)  # the publisher's whole file: fetched in full, not as a 304
    assert (await sync_source(sync_ctx, "opensanctions", settings)).outcome == "imported"
    assert source_server.fetched(EXPORT) == [200, 200]
