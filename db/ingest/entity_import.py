"""The load stage shared by every entity importer: one snapshot, one transaction, change detection.

An importer parses its files into a `ParsedSnapshot` (pure, no database), then calls `run_entity_import`
(one snapshot) or `load_snapshot` inside its own transaction (several snapshots, e.g. OpenSanctions deltas).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.base import (
    IngestReport,
    find_snapshot,
    finish_snapshot,
    get_source,
    new_snapshot,
)
from db.ingest.changes import build_changes, record_changes, summary_line
from db.ingest.entity_links import resolve_relations
from db.ingest.entity_records import EntityRecord
from db.ingest.entity_store import chunks, classify, loaded_state, write
from db.ingest.mass_change import MassChangeHeld, MassChangePolicy, check, clear_hold, record_hold
from db.models import Entity, ListChange, Snapshot, Source
from db.queries.sources import latest_snapshot
from db.sources import SOURCES

log = logging.getLogger(__name__)


@dataclass
class ParsedSnapshot:
    """A parsed and normalised snapshot of a source, ready to load."""

    records: list[EntityRecord]
    rows_read: int
    data_date: str | None = None
    full: bool = True  # False for a delta: records absent from it are not delisted
    deleted_keys: list[str] = field(default_factory=list)  # delta deletions
    parts: list[str] | None = None  # optional files present (OFAC add/alt/comments)
    part_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)  # optional part -> fields it feeds
    skipped: Counter[str] = field(default_factory=Counter)
    meta: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)  # extra summary lines


@dataclass(frozen=True)
class SourceSpec:
    """Which `sources` row an import writes to (registry key, or a dataset-specific one)."""

    key: str
    title: str | None = None
    publisher: str | None = None
    url: str | None = None


async def ensure_source(session: AsyncSession, spec: SourceSpec) -> Source:
    """The source row, created on first use with the spec's title and publisher."""
    if spec.key in SOURCES or spec.publisher is None:
        return await get_source(session, spec.key, title=spec.title)
    source = (await session.execute(select(Source).where(Source.key == spec.key))).scalar_one_or_none()
    if source is None:
        source = Source(key=spec.key, title=spec.title or spec.key, publisher=spec.publisher, url=spec.url)
        session.add(source)
        await session.flush()
    return source


def previous_parts(previous: Snapshot | None) -> set[str]:
    """The optional files the previous snapshot of the source had (OFAC add/alt/comments)."""
    parts = (previous.meta or {}).get("parts") if previous is not None else None
    return {str(p) for p in parts} if isinstance(parts, list) else set()


def _shared_parts(previous: Snapshot | None, parsed: ParsedSnapshot) -> tuple[set[str] | None, set[str]]:
    """Optional parts both snapshots had, and the fields not to compare (their part was missing once)."""
    if parsed.parts is None or previous is None:
        return None, set()
    before = previous_parts(previous)
    now = set(parsed.parts)
    missing = (before ^ now) & set(parsed.part_fields)
    skip = {f for part in missing for f in parsed.part_fields.get(part, ())}
    return ({"main"} | (before & now)), skip


async def _removed_facts(session: AsyncSession, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Name, type, countries and programs of entries about to be delisted (what a watch filters on)."""
    out: dict[int, dict[str, Any]] = {}
    for part in chunks(ids):
        stmt = select(Entity.id, Entity.name, Entity.schema, Entity.countries, Entity.properties).where(
            Entity.id.in_(part)
        )
        for row in (await session.execute(stmt)).all():
            props = row.properties or {}
            out[row.id] = {
                "name": row.name,
                "schema": row.schema,
                "countries": row.countries or [],
                "programs": props.get("programs") or [],
            }
    return out


async def load_snapshot(
    session: AsyncSession,
    source: Source,
    parsed: ParsedSnapshot,
    *,
    sha256: str,
    file_name: str,
    now: dt.datetime,
    report: IngestReport,
    policy: MassChangePolicy | None = None,
) -> list[ListChange]:
    """Store one parsed snapshot inside the caller's transaction; returns the change rows written.

    Args:
        session: a session inside an open transaction.
        source: the source row.
        parsed: the records (all of them for a full snapshot, the changed ones for a delta).
        sha256: checksum of the snapshot's file(s).
        file_name: what the snapshot row and the summary call the file.
        now: the import time.
        report: counts are added to it.
        policy: the mass-change guard (None: the source is the team's own, e.g. curated files).
    """
    previous = await latest_snapshot(session, source.key)
    meta = {**parsed.meta, "parts": parsed.parts} if parsed.parts is not None else dict(parsed.meta)
    snapshot = await new_snapshot(
        session,
        source,
        sha256=sha256,
        file_name=file_name,
        now=now,
        data_date=parsed.data_date,
        meta=meta or None,
    )
    shared, skip_fields = _shared_parts(previous, parsed)
    parts_differ = shared is not None and previous_parts(previous) != set(parsed.parts or [])
    loaded = await loaded_state(session, source, with_parts=parts_differ)
    result = classify(
        parsed.records, loaded, full=parsed.full, shared_parts=shared, deleted_keys=parsed.deleted_keys
    )
    if policy is not None and previous is not None:
        check(
            source.key,
            policy,
            active_before=sum(1 for entry in loaded.values() if entry.active),
            removed=len(result.removed),
            amended=len(result.amended),
        )
        await clear_hold(session, source.key)
    removed = await _removed_facts(session, [entity_id for _, entity_id in result.removed])
    await write(session, result, loaded, source, snapshot, full=parsed.full)
    resolved = await resolve_relations(session, source)
    baseline = previous is None
    changes: list[ListChange] = []
    if not baseline:
        changes = build_changes(
            result,
            source=source,
            snapshot=snapshot,
            previous=previous,
            now=now,
            skip_fields=skip_fields,
            removed={key: removed.get(i, {"name": key}) for key, i in result.removed},
        )
        await record_changes(session, changes)
    _count(report, parsed, result, resolved)
    report.extra["changes"] = summary_line(changes, baseline=baseline)
    report.snapshot_id = snapshot.id
    finish_snapshot(snapshot, report)
    return changes


def _count(report: IngestReport, parsed: ParsedSnapshot, result: Any, resolved: int) -> None:
    report.rows_read += parsed.rows_read
    report.rows_loaded += (
        len(result.added) + len(result.relisted) + len(result.amended) + len(result.refreshed)
    )
    report.rows_unchanged += result.unchanged
    report.skipped.update(parsed.skipped)
    report.extra["records"] = f"{len(parsed.records):,} in file; {report.rows_loaded:,} written"
    if parsed.deleted_keys:
        report.extra["deleted"] = f"{len(result.removed):,} marked inactive"
    report.extra["data date"] = parsed.data_date or "unknown (pass --data-date; the file does not say)"
    report.extra["relations resolved"] = f"{resolved:,}"
    for key, value in parsed.notes.items():
        report.extra[key] = value


async def run_entity_import(
    sessions: async_sessionmaker[AsyncSession],
    spec: SourceSpec,
    parse: Callable[[], ParsedSnapshot],
    *,
    sha256: str,
    file_name: str,
    now: dt.datetime,
    policy: MassChangePolicy | None = None,
) -> IngestReport:
    """Import one snapshot in one transaction: same sha256 -> nothing; malformed -> ImportFailed, no change;
    too many delistings or amendments -> MassChangeHeld, nothing applied, the hold recorded."""
    report = IngestReport(source=spec.key, file=file_name)
    policy = policy or MassChangePolicy()
    try:
        await _import(
            sessions, spec, parse, sha256=sha256, file_name=file_name, now=now, report=report, policy=policy
        )
    except MassChangeHeld as held:
        await record_hold(sessions, held, sha256=sha256, file_name=file_name, now=now)
        log.warning("import_held source=%s file=%s reason=%s", held.source_key, file_name, held.reason)
        raise
    return report


async def _import(
    sessions: async_sessionmaker[AsyncSession],
    spec: SourceSpec,
    parse: Callable[[], ParsedSnapshot],
    *,
    sha256: str,
    file_name: str,
    now: dt.datetime,
    report: IngestReport,
    policy: MassChangePolicy,
) -> None:
    async with sessions() as session, session.begin():
        source = await ensure_source(session, spec)
        existing = await find_snapshot(session, source, sha256)
        if existing is not None:
            report.already_loaded = True
            report.snapshot_id = existing.id
            return
        parsed = parse()
        await load_snapshot(
            session, source, parsed, sha256=sha256, file_name=file_name, now=now, report=report, policy=policy
        )
