"""OpenSanctions delta files: apply ADD/MOD/DEL operations version by version, each version a snapshot.

`delta.json` maps version ids (sortable timestamps) to their `entities.delta.json`; the local folder holds
one sub-folder per version. All versions load in one transaction; a version already loaded (same sha256 of
version id and file) is skipped, so re-running after new versions arrive applies only those. The first
version of a source with nothing loaded is its baseline (no change rows). A relation or sanction arriving
without its target in the same version is counted as skipped: the next full export carries it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.base import ImportFailed, IngestReport, find_snapshot, sha256_file
from db.ingest.entity_import import ParsedSnapshot, ensure_source, load_snapshot
from db.ingest.mass_change import MassChangeHeld, MassChangePolicy, record_hold
from db.ingest.opensanctions_files import read_json_lines, spec_for
from db.ingest.opensanctions_ftm import to_records

OPS = ("ADD", "MOD", "DEL")


def versions(folder: Path) -> tuple[list[tuple[str, Path]], str | None]:
    """(version, delta file) in version order, and the dataset named in the index URLs (if any)."""
    index_path = folder / "delta.json"
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ImportFailed(f"{folder} has no delta.json (is this an OpenSanctions delta folder?)") from None
    except (ValueError, UnicodeDecodeError):
        raise ImportFailed(f"{index_path}: not valid JSON") from None
    listed = index.get("versions") if isinstance(index, dict) else None
    if not isinstance(listed, dict) or not listed:
        raise ImportFailed(f"{index_path}: no `versions` map")
    out = []
    dataset = None
    for version in sorted(listed):
        path = folder / version / "entities.delta.json"
        if not path.is_file():
            raise ImportFailed(f"{index_path} lists version {version} but {path} is missing")
        out.append((version, path))
        parts = str(listed[version]).split("/")
        if "artifacts" in parts and parts.index("artifacts") + 1 < len(parts):
            dataset = parts[parts.index("artifacts") + 1]
    return out, dataset


def parse_version(path: Path, version: str, dataset: str, ops: Counter[str]) -> ParsedSnapshot:
    """One version's operations as a delta snapshot: changed records, and keys to delist."""
    entities: dict[str, dict[str, Any]] = {}
    deleted: list[str] = []
    for line, item in read_json_lines(path):
        op, entity = item.get("op"), item.get("entity")
        if op not in OPS or not isinstance(entity, dict) or not entity.get("id"):
            raise ImportFailed(
                f"{path.parent.name}/{path.name} line {line}: expected op ADD/MOD/DEL with an entity"
            )
        ops[op] += 1
        if op == "DEL":
            deleted.append(str(entity["id"]))
            entities.pop(str(entity["id"]), None)
        else:
            if not entity.get("schema"):
                raise ImportFailed(
                    f"{path.parent.name}/{path.name} line {line}: {op} of an entity without schema"
                )
            entities[str(entity["id"])] = entity
    skipped: Counter[str] = Counter()
    records = to_records(entities, dataset, f"opensanctions:{dataset}", skipped)
    return ParsedSnapshot(
        records=records,
        rows_read=len(entities) + len(deleted),
        data_date=_version_date(version),
        full=False,
        deleted_keys=deleted,
        skipped=skipped,
        meta={"dataset": dataset, "version": version, "delta": True},
    )


def _version_date(version: str) -> str | None:
    digits = version[:8]
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}" if digits.isdigit() else None


async def run_delta_import(
    sessions: async_sessionmaker[AsyncSession],
    folder: Path,
    *,
    now: dt.datetime,
    dataset: str | None = None,
    policy: MassChangePolicy | None = None,
) -> IngestReport:
    """Apply every version of a delta folder not yet loaded, in version order, in one transaction.

    A version that deletes or amends too much of the dataset is held (db.ingest.mass_change): the whole
    transaction rolls back, so no version of the folder is applied."""
    policy = policy or MassChangePolicy()
    try:
        return await _apply_versions(sessions, folder, now=now, dataset=dataset, policy=policy)
    except MassChangeHeld as held:
        await record_hold(sessions, held, sha256=held.sha256, file_name=held.file_name, now=now)
        raise


async def _apply_versions(
    sessions: async_sessionmaker[AsyncSession],
    folder: Path,
    *,
    now: dt.datetime,
    dataset: str | None,
    policy: MassChangePolicy,
) -> IngestReport:
    listed, named = versions(Path(folder))
    name = dataset or named or "unknown"
    spec = spec_for(name)
    report = IngestReport(source=spec.key, file=f"{Path(folder).name} ({len(listed)} versions)")
    ops: Counter[str] = Counter()
    applied = skipped_versions = 0
    async with sessions() as session, session.begin():
        source = await ensure_source(session, spec)
        for version, path in listed:
            sha = hashlib.sha256(f"{version}:{sha256_file(path)}".encode()).hexdigest()
            if await find_snapshot(session, source, sha) is not None:
                skipped_versions += 1
                continue
            parsed = parse_version(path, version, name, ops)
            try:
                await load_snapshot(
                    session,
                    source,
                    parsed,
                    sha256=sha,
                    file_name=f"{version}/{path.name}",
                    now=now,
                    report=report,
                    policy=policy,
                )
            except MassChangeHeld as held:
                held.sha256, held.file_name = sha, f"{version}/{path.name}"
                raise
            applied += 1
    if applied == 0:
        report.already_loaded = True
    report.extra["versions"] = f"{applied} applied, {skipped_versions} already loaded"
    report.extra["operations"] = ", ".join(f"{op} {ops[op]}" for op in OPS)
    report.extra.pop("changes", None)
    return report
