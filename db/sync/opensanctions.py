"""OpenSanctions sync: a dataset's `index.json`, a full export as the baseline, then delta files in version order.

The first sync (or one after a gap in the delta history, or with --force) imports the export named by the
`resource` setting in full. Later syncs read the dataset's `delta.json` (version -> `entities.delta.json` URL)
and hand every version newer than the last one applied to the OpenSanctions importer's delta mode, which
applies them oldest first, one snapshot per version, in one transaction (`db.ingest.opensanctions_delta`).
The cursor (`sync_state.cursor`) moves only after that transaction commits, so a failure changes nothing and
the same versions are tried again next time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from sqlalchemy import func, select

from db.models import Snapshot, Source
from db.sources import SourceSettings, SyncSource, opensanctions_dataset
from db.sync.state import StateView, clip, save_state
from db.sync.steps import (
    SyncContext,
    SyncFailed,
    SyncResult,
    count_changes,
    describe,
    fetch_one,
    files_dir,
    link_or_copy,
    run_importer,
    staging_dir,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetIndex:
    """The parts of a dataset's index.json the sync uses."""

    name: str
    version: str | None
    delta_url: str | None
    resources: dict[str, str]
    checksums: dict[str, str] = field(default_factory=dict)  # resource name -> SHA-1 the index publishes


def read_index(path: Path, index_url: str) -> DatasetIndex:
    """Parse a dataset index (or a catalogue index holding the dataset named in the URL).

    Raises:
        SyncFailed: not JSON, or no entry for the dataset in it.
    """
    try:
        data = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SyncFailed(f"{index_url}: the dataset index is not valid JSON ({exc})") from None
    wanted = opensanctions_dataset(index_url)
    if isinstance(data, dict) and isinstance(data.get("datasets"), list):
        data = next((d for d in data["datasets"] if isinstance(d, dict) and d.get("name") == wanted), None)
    if not isinstance(data, dict):
        raise SyncFailed(f"{index_url}: no dataset {wanted!r} in the index")
    resources = {
        str(r["name"]): urljoin(index_url, str(r["url"]))
        for r in data.get("resources") or []
        if isinstance(r, dict) and r.get("name") and r.get("url")
    }
    delta = data.get("delta_url")
    checksums = {
        str(r["name"]): str(r["checksum"]).lower()
        for r in data.get("resources") or []
        if isinstance(r, dict) and r.get("name") and isinstance(r.get("checksum"), str)
    }
    return DatasetIndex(
        str(data.get("name") or wanted),
        str(data["version"]) if data.get("version") else None,
        urljoin(index_url, delta) if isinstance(delta, str) and delta else None,
        resources,
        checksums,
    )


def check_checksum(path: Path, url: str, expected: str | None) -> None:
    """The export must be the file the index describes: a cut or stale download would delist what it lacks.

    Raises:
        SyncFailed: the SHA-1 differs from the index's `checksum` (nothing is imported).
    """
    if not expected:
        return
    digest = hashlib.sha1(usedforsecurity=False)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise SyncFailed(
            f"{url}: incomplete or changed download: its SHA-1 is {digest.hexdigest()[:12]}…, the dataset index "
            f"says {expected[:12]}…; nothing was imported (the next check fetches it again)"
        )


def read_versions(path: Path, delta_url: str) -> dict[str, str]:
    """The `versions` map of a delta.json, with URLs resolved against it.

    Raises:
        SyncFailed: not JSON or no versions map.
    """
    try:
        data = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SyncFailed(f"{delta_url}: the delta index is not valid JSON ({exc})") from None
    versions = data.get("versions") if isinstance(data, dict) else None
    if not isinstance(versions, dict) or not all(isinstance(u, str) for u in versions.values()):
        raise SyncFailed(f"{delta_url}: no versions map in the delta index")
    return {str(v): urljoin(delta_url, u) for v, u in versions.items()}


def pending_versions(versions: dict[str, str], cursor: str) -> list[str] | None:
    """Versions newer than `cursor`, oldest first; None when the history no longer reaches back to it."""
    if versions and cursor not in versions and cursor < min(versions):
        return None
    return sorted(v for v in versions if v > cursor)


async def sync_opensanctions(
    ctx: SyncContext, source: SyncSource, settings: SourceSettings, state: StateView, force: bool
) -> SyncResult:
    """Sync an OpenSanctions dataset: the baseline export first, then delta versions in order."""
    index_url = settings.urls[0]
    fetched = await fetch_one(ctx, index_url, files_dir(ctx, source.key), "index.json", force=force)
    index = read_index(fetched.path, index_url)
    files = {"index.json": describe(fetched)}
    if force or state.cursor is None or index.delta_url is None:
        return await _baseline(ctx, source, settings, index, fetched.path, files, force)
    if index.version is None or index.version <= state.cursor:
        await save_state(ctx.sessions, source.key, files=files)
        how = "not modified (304)" if fetched.not_modified else "no newer version"
        return SyncResult(
            source.key,
            "unchanged",
            f"dataset index {how}; version {state.cursor} is current",
            cursor=state.cursor,
        )
    return await _deltas(ctx, source, settings, index, fetched.path, files, state.cursor)


async def _baseline(
    ctx: SyncContext,
    source: SyncSource,
    settings: SourceSettings,
    index: DatasetIndex,
    index_path: Path,
    files: dict[str, Any],
    force: bool,
) -> SyncResult:
    assert source.importer is not None
    name = settings.resource or "entities.ftm.json"
    url = index.resources.get(name) or urljoin(settings.urls[0], name)
    export = await fetch_one(ctx, url, files_dir(ctx, source.key), name, force=force)
    try:
        check_checksum(export.path, url, index.checksums.get(name))
    except SyncFailed:
        (files_dir(ctx, source.key) / f"{name}.meta.json").unlink(missing_ok=True)  # next check: a full fetch
        raise
    staging = staging_dir(ctx, source.key)
    try:
        link_or_copy(export.path, staging / name)
        link_or_copy(index_path, staging / "index.json")  # the importer reads the dataset's name, title, date
        report = await run_importer(ctx, source.importer, staging, dataset=index.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    cursor = index.version or ""
    await save_state(
        ctx.sessions,
        source.key,
        files={**files, name: describe(export)},
        last_sha256=export.sha256,
        cursor=clip(cursor, 300) or None,
    )
    ids = [report.snapshot_id] if report.snapshot_id and not report.already_loaded else []
    return SyncResult(
        source.key,
        "imported" if ids else "unchanged",
        f"full export {name} of {index.name} version {cursor or '?'}: {report.rows_read:,} entities read",
        await count_changes(ctx, ids),
        ids,
        [report],
        cursor,
    )


async def _deltas(
    ctx: SyncContext,
    source: SyncSource,
    settings: SourceSettings,
    index: DatasetIndex,
    index_path: Path,
    files: dict[str, Any],
    cursor: str,
) -> SyncResult:
    assert index.delta_url is not None and source.importer is not None
    listing = await fetch_one(ctx, index.delta_url, files_dir(ctx, source.key), "delta.json", force=True)
    versions = read_versions(listing.path, index.delta_url)
    pending = pending_versions(versions, cursor)
    if pending is None:
        log.warning("opensanctions: version %s is older than the delta history; reloading in full", cursor)
        return await _baseline(ctx, source, settings, index, index_path, files, True)
    if not pending:
        await save_state(ctx.sessions, source.key, files=files)
        return SyncResult(source.key, "unchanged", f"no delta newer than {cursor}", cursor=cursor)
    staging = staging_dir(ctx, source.key)
    try:
        # Fetched straight into the import folder: a version's file never changes, so nothing is kept after.
        # A version with no operations is an empty file.
        for version in pending:
            await fetch_one(
                ctx, versions[version], staging / version, "entities.delta.json", allow_empty=True
            )
        (staging / "delta.json").write_text(json.dumps({"versions": {v: versions[v] for v in pending}}))
        before = await _last_snapshot_id(ctx, f"opensanctions:{index.name}")
        report = await run_importer(ctx, source.importer, staging, delta=True, dataset=index.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    ids = await _snapshot_ids_after(ctx, f"opensanctions:{index.name}", before)
    await save_state(
        ctx.sessions,
        source.key,
        files={**files, "delta.json": describe(listing)},
        cursor=clip(pending[-1], 300),
    )
    return SyncResult(
        source.key,
        "imported" if ids else "unchanged",
        f"applied {len(pending)} delta version(s), {pending[0]} to {pending[-1]}",
        await count_changes(ctx, ids),
        ids,
        [report],
        pending[-1],
    )


async def _last_snapshot_id(ctx: SyncContext, source_key: str) -> int:
    async with ctx.sessions() as session:
        stmt = (
            select(func.max(Snapshot.id))
            .join(Source, Source.id == Snapshot.source_id)
            .where(Source.key == source_key)
        )
        return int((await session.execute(stmt)).scalar() or 0)


async def _snapshot_ids_after(ctx: SyncContext, source_key: str, after: int) -> list[int]:
    async with ctx.sessions() as session:
        stmt = (
            select(Snapshot.id)
            .join(Source, Source.id == Snapshot.source_id)
            .where(Source.key == source_key, Snapshot.id > after)
            .order_by(Snapshot.id)
        )
        return list((await session.execute(stmt)).scalars().all())
