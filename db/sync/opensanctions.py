"""OpenSanctions sync: a dataset's `index.json`, a full export as the baseline, then delta files in version order.

The first sync (or one after a gap in the delta history) imports the export named by `resource` in full. Later
syncs read the dataset's `delta.json` (version -> `entities.delta.json` URL), and apply every version newer than
the last one applied, oldest first. Each delta is applied to the kept copy of the export, and the patched export
is imported as the next snapshot, so the importer's change detection records exactly what that version changed.
Re-applying a version after a crash produces the same file, which the importer recognises by its sha256.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from db.ingest.base import sha256_file
from db.sync.runner import (
    SyncContext,
    SyncFailed,
    SyncResult,
    count_changes,
    describe,
    fetch_one,
    files_dir,
    fill_data_date,
    link_or_copy,
    run_importer,
    staging_dir,
)
from db.sync.sources import SourceSettings, SyncSource
from db.sync.state import StateView, clip, save_state

log = logging.getLogger(__name__)

DELTA_OPS = {"ADD", "MOD", "DEL"}
_ID_PREFIX = re.compile(rb'^\{"id":\s*"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class DatasetIndex:
    """The parts of a dataset's index.json the sync uses."""

    name: str
    version: str | None
    delta_url: str | None
    resources: dict[str, str]
    updated_at: str | None


@dataclass
class DeltaCounts:
    """What applying one delta file did to the kept export."""

    added: int = 0
    modified: int = 0
    deleted: int = 0
    unknown_deletes: int = 0
    ops: list[str] = field(default_factory=list)


def read_index(path: Path, index_url: str) -> DatasetIndex:
    """Parse a dataset index (or a catalogue index holding the dataset named in the URL).

    Raises:
        SyncFailed: not JSON, or no dataset entry in it.
    """
    try:
        data = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SyncFailed(f"{index_url}: the dataset index is not valid JSON ({exc})") from None
    wanted = _dataset_name(index_url)
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
    return DatasetIndex(str(data.get("name") or wanted), _str(data.get("version")),
                        urljoin(index_url, delta) if isinstance(delta, str) and delta else None,
                        resources, _str(data.get("updated_at") or data.get("last_export")))


def _str(value: Any) -> str | None:
    return str(value) if value else None


def _dataset_name(index_url: str) -> str:
    parts = [p for p in urlsplit(index_url).path.split("/") if p]
    return parts[-2] if len(parts) >= 2 else ""


def version_date(version: str | None) -> str | None:
    """`20240528134729-3iv` -> `2024-05-28` (OpenSanctions versions start with a UTC timestamp)."""
    if version and re.match(r"^\d{8}", version):
        return f"{version[:4]}-{version[4:6]}-{version[6:8]}"
    return None


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


def read_delta(path: Path, version: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """The operations of one entities.delta.json by entity id (a later line for the same id wins).

    Raises:
        SyncFailed: a line that is not `{"op": ADD|MOD|DEL, "entity": {"id": ...}}`; names version and line.
    """
    ops: dict[str, tuple[str, dict[str, Any]]] = {}
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
                op, entity = item["op"], item["entity"]
                entity_id = entity["id"]
            except (ValueError, KeyError, TypeError):
                raise SyncFailed(f"delta {version} line {number}: not an OpenSanctions delta operation") from None
            if op not in DELTA_OPS or not isinstance(entity_id, str) or not entity_id:
                raise SyncFailed(f"delta {version} line {number}: unknown op {op!r} or missing entity id")
            ops[entity_id] = (op, entity)
    return ops


def _line_id(line: bytes) -> str | None:
    match = _ID_PREFIX.match(line)
    if match:
        return json.loads(b'"' + match.group(1) + b'"')  # type: ignore[no-any-return]
    try:
        value = json.loads(line).get("id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def apply_delta(export: Path, ops: dict[str, tuple[str, dict[str, Any]]], out: Path) -> DeltaCounts:
    """Write `export` with `ops` applied to `out`, streaming (the export may be hundreds of MB).

    ADD and MOD replace the entity's line (or append it), DEL drops it. The delta's `caption` is kept off the
    written entity, so the result looks like an export line.
    """
    pending = dict(ops)
    counts = DeltaCounts()
    with export.open("rb") as src, out.open("wb") as dst:
        for line in src:
            entity_id = _line_id(line) if line.strip() else None
            if entity_id is None or entity_id not in pending:
                dst.write(line if line.endswith(b"\n") else line + b"\n")
                continue
            op, entity = pending.pop(entity_id)
            if op == "DEL":
                counts.deleted += 1
            else:
                counts.modified += 1
                dst.write(_entity_line(entity))
        for op, entity in pending.values():
            if op == "DEL":
                counts.unknown_deletes += 1
            else:
                counts.added += 1
                dst.write(_entity_line(entity))
    return counts


def _entity_line(entity: dict[str, Any]) -> bytes:
    clean = {k: v for k, v in entity.items() if k != "caption"}
    return json.dumps(clean, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


async def sync_opensanctions(
    ctx: SyncContext, source: SyncSource, settings: SourceSettings, state: StateView, force: bool
) -> SyncResult:
    """Sync an OpenSanctions dataset: baseline export first, then delta versions in order."""
    index_url = settings.urls[0]
    fetched = await fetch_one(ctx, index_url, files_dir(ctx, source.key), "index.json", force=force)
    index = read_index(fetched.path, index_url)
    files = {"index.json": describe(fetched)}
    have_baseline = state.cursor is not None and _kept_export(ctx, source, settings).is_file()
    if force or not have_baseline or index.delta_url is None:
        return await _baseline(ctx, source, settings, index, files, force)
    assert state.cursor is not None
    if index.version is None or index.version <= state.cursor:
        await save_state(ctx.sessions, source.key, files=files)
        how = "not modified (304)" if fetched.not_modified else "no newer version"
        return SyncResult(source.key, "unchanged", f"dataset index {how}; version {state.cursor} is current",
                          cursor=state.cursor)
    return await _deltas(ctx, source, settings, index, files, state.cursor)


def _resource_name(settings: SourceSettings) -> str:
    return settings.resource or "entities.ftm.json"


def _kept_export(ctx: SyncContext, source: SyncSource, settings: SourceSettings) -> Path:
    """The export as of the last applied version: the baseline with every applied delta patched in."""
    return ctx.cache_dir / "sync" / source.key / "current" / _resource_name(settings)


async def _baseline(
    ctx: SyncContext, source: SyncSource, settings: SourceSettings, index: DatasetIndex, files: dict[str, Any],
    force: bool,
) -> SyncResult:
    assert source.importer is not None
    name = _resource_name(settings)
    url = index.resources.get(name) or urljoin(settings.urls[0], name)
    export = await fetch_one(ctx, url, files_dir(ctx, source.key), name, force=force)
    report = await run_importer(ctx, source.importer, export.path)
    date = version_date(index.version) or (index.updated_at or "")[:10] or None
    await fill_data_date(ctx, report.snapshot_id, date)
    kept = _kept_export(ctx, source, settings)
    kept.parent.mkdir(parents=True, exist_ok=True)
    link_or_copy(export.path, kept)
    cursor = index.version or ""
    await save_state(ctx.sessions, source.key, files={**files, name: describe(export)},
                     last_sha256=export.sha256, cursor=clip(cursor, 300) or None)
    ids = [report.snapshot_id] if report.snapshot_id and not report.already_loaded else []
    return SyncResult(source.key, "imported" if ids else "unchanged",
                      f"full export {name} of {index.name} version {cursor or '?'}: {report.rows_loaded:,} rows "
                      "loaded", await count_changes(ctx, ids), ids, [report], cursor)


async def _deltas(
    ctx: SyncContext, source: SyncSource, settings: SourceSettings, index: DatasetIndex, files: dict[str, Any],
    cursor: str,
) -> SyncResult:
    assert index.delta_url is not None
    listing = await fetch_one(ctx, index.delta_url, files_dir(ctx, source.key), "delta.json", force=True)
    versions = read_versions(listing.path, index.delta_url)
    if versions and cursor not in versions and cursor < min(versions):
        log.warning("opensanctions: version %s is older than the delta history; reloading in full", cursor)
        return await _baseline(ctx, source, settings, index, files, True)
    pending = sorted(v for v in versions if v > cursor)
    result = SyncResult(source.key, "unchanged", f"version {cursor} is current", cursor=cursor)
    for version in pending:
        await _apply_version(ctx, source, settings, version, versions[version], result)
    await save_state(ctx.sessions, source.key, files={**files, "delta.json": describe(listing)})
    result.changes = await count_changes(ctx, result.snapshot_ids)
    if pending:
        result.outcome = "imported" if result.snapshot_ids else "unchanged"
        result.message = f"applied {len(pending)} delta version(s), {pending[0]} to {pending[-1]}"
    return result


async def _apply_version(
    ctx: SyncContext, source: SyncSource, settings: SourceSettings, version: str, url: str, result: SyncResult
) -> None:
    """Fetch one delta, patch the kept export, import the patched export, then move the cursor to `version`."""
    assert source.importer is not None
    folder = ctx.cache_dir / "sync" / source.key / "deltas"
    delta = await fetch_one(ctx, url, folder, f"{version}.entities.delta.json", allow_empty=True)
    ops = read_delta(delta.path, version)
    kept = _kept_export(ctx, source, settings)
    staging = staging_dir(ctx, source.key)
    try:
        patched = staging / kept.name
        counts = apply_delta(kept, ops, patched)
        log.info("opensanctions %s: %d added, %d modified, %d deleted, %d deletes of unknown ids", version,
                 counts.added, counts.modified, counts.deleted, counts.unknown_deletes)
        report = await run_importer(ctx, source.importer, patched)
        await fill_data_date(ctx, report.snapshot_id, version_date(version))
        digest = sha256_file(patched)
        os.replace(patched, kept)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    await save_state(ctx.sessions, source.key, cursor=clip(version, 300), last_sha256=digest)
    result.cursor = version
    result.reports.append(report)
    if report.snapshot_id and not report.already_loaded:
        result.snapshot_ids.append(report.snapshot_id)
