"""Freshness of every source: snapshots, entity counts, last list change and sync state (for `/sources`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Entity, ImportHold, ListChange, Snapshot, Source, SyncState
from db.sync.state import utc


@dataclass(frozen=True)
class LatestSnapshot:
    """The most recently loaded snapshot of a source."""

    id: int
    fetched_at: dt.datetime
    data_date: str | None
    rows_read: int
    file_name: str


@dataclass(frozen=True)
class SourceRow:
    """A loaded source: how many snapshots, the latest one, its listed entries and its last change."""

    key: str
    title: str
    publisher: str
    url: str | None
    snapshots: int
    latest: LatestSnapshot | None
    active_entities: int = 0
    last_change_at: dt.datetime | None = None
    last_change_counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncRow:
    """What the sync recorded for a source."""

    source_key: str
    last_attempt_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_change_at: dt.datetime | None
    next_sync_at: dt.datetime | None
    last_outcome: str | None
    last_error: str | None
    failures: int
    cursor: str | None


async def source_rows(session: AsyncSession) -> list[SourceRow]:
    """Every source row in the database with its latest snapshot, active entity count and last change.

    Args:
        session: an open session.
    Returns:
        One `SourceRow` per source, ordered by key.
    """
    sources = (await session.execute(select(Source).order_by(Source.key))).scalars().all()
    snaps = select(
        Snapshot.source_id, func.max(Snapshot.id).label("latest"), func.count().label("n")
    ).group_by(Snapshot.source_id)
    counts = {r.source_id: (r.latest, r.n) for r in (await session.execute(snaps)).all()}
    latest_ids = [latest for latest, _ in counts.values()]
    latest = (
        {
            s.source_id: s
            for s in (await session.execute(select(Snapshot).where(Snapshot.id.in_(latest_ids))))
            .scalars()
            .all()
        }
        if latest_ids
        else {}
    )
    active: dict[int, int] = {
        source_id: int(n)
        for source_id, n in (
            await session.execute(
                select(Entity.source_id, func.count())
                .where(Entity.active.is_(True))
                .group_by(Entity.source_id)
            )
        ).all()
    }
    changes = {
        r.source_id: (utc(r.at), r.snapshot_id)
        for r in (
            await session.execute(
                select(
                    ListChange.source_id,
                    func.max(ListChange.detected_at).label("at"),
                    func.max(ListChange.snapshot_id).label("snapshot_id"),
                ).group_by(ListChange.source_id)
            )
        ).all()
    }
    rows = []
    for src in sources:
        snap = latest.get(src.id)
        change_at, change_snapshot = changes.get(src.id, (None, None))
        rows.append(
            SourceRow(
                src.key,
                src.title,
                src.publisher,
                src.url,
                counts.get(src.id, (None, 0))[1],
                LatestSnapshot(
                    snap.id,
                    utc(snap.fetched_at) or snap.fetched_at,
                    snap.data_date,
                    snap.rows_read,
                    snap.file_name,
                )
                if snap
                else None,
                int(active.get(src.id, 0)),
                change_at,
                await _change_counts(session, change_snapshot) if change_snapshot else {},
            )
        )
    return rows


async def _change_counts(session: AsyncSession, snapshot_id: int) -> dict[str, int]:
    stmt = (
        select(ListChange.change, func.count())
        .where(ListChange.snapshot_id == snapshot_id)
        .group_by(ListChange.change)
    )
    return {change: int(n) for change, n in (await session.execute(stmt)).all()}


async def sync_rows(session: AsyncSession) -> dict[str, SyncRow]:
    """The sync state of every source that was ever synced, by source key."""
    rows = (await session.execute(select(SyncState))).scalars().all()
    return {
        r.source_key: SyncRow(
            r.source_key,
            utc(r.last_attempt_at),
            utc(r.last_success_at),
            utc(r.last_change_at),
            utc(r.next_sync_at),
            r.last_outcome,
            r.last_error,
            r.failures or 0,
            r.cursor,
        )
        for r in rows
    }


@dataclass(frozen=True)
class HoldRow:
    """A list snapshot the mass-change guard held back (see db.ingest.mass_change)."""

    source_key: str
    file_name: str
    reason: str
    held_at: dt.datetime


async def import_holds(session: AsyncSession) -> dict[str, HoldRow]:
    """Source key -> its held snapshot, for every source with one."""
    rows = (await session.execute(select(ImportHold).order_by(ImportHold.source_key))).scalars().all()
    return {
        r.source_key: HoldRow(r.source_key, r.file_name, r.reason, utc(r.held_at) or r.held_at) for r in rows
    }


async def latest_snapshot(session: AsyncSession, source_key: str) -> Snapshot | None:
    """The most recently loaded snapshot of a source, or None."""
    stmt = (
        select(Snapshot)
        .join(Source, Source.id == Snapshot.source_id)
        .where(Source.key == source_key)
        .order_by(Snapshot.fetched_at.desc(), Snapshot.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def stored_source_keys(session: AsyncSession) -> dict[int, str]:
    """Every `sources` row: id -> key (registry keys and those imports created, e.g. one per dataset)."""
    rows = await session.execute(select(Source.id, Source.key).order_by(Source.id))
    return dict(rows.tuples().all())
