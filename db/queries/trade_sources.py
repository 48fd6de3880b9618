"""What trade data is loaded, and what citing it needs: reads of the small `sources` and `snapshots` tables only
(never a scan of `trade_flows`), for answers' citations and "what is loaded" replies."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Snapshot, Source


@dataclass(frozen=True)
class SnapshotInfo:
    """What a citation needs about a loaded file."""

    snapshot_id: int
    source_key: str
    source_title: str
    publisher: str
    url: str | None
    data_date: str | None
    fetched_at: str
    file_name: str


@dataclass(frozen=True)
class LoadedSource:
    """A trade source that has been loaded, for "what is loaded" answers."""

    key: str
    title: str
    snapshots: int
    rows_loaded: int
    data_date: str | None
    file_names: list[str] = field(default_factory=list)
    # Loaded by the generic trade CSV importer (its snapshots record the column mapping): a trade source
    # even when its key is not a trade source of the registry (db/sources).
    trade_csv: bool = False


async def snapshot_infos(session: AsyncSession, snapshot_ids: Iterable[int]) -> list[SnapshotInfo]:
    """Citation details for the snapshots that supplied an answer's rows, newest first."""
    ids = sorted(set(snapshot_ids))
    if not ids:
        return []
    stmt = (
        select(Snapshot, Source)
        .join(Source, Source.id == Snapshot.source_id)
        .where(Snapshot.id.in_(ids))
        .order_by(Snapshot.fetched_at.desc(), Snapshot.id.desc())
        .limit(len(ids))
    )
    return [
        SnapshotInfo(
            snap.id,
            src.key,
            src.title,
            src.publisher,
            src.url,
            snap.data_date,
            snap.fetched_at.date().isoformat(),
            snap.file_name,
        )
        for snap, src in (await session.execute(stmt)).all()
    ]


async def loaded_sources(session: AsyncSession, keys: Iterable[str] | None = None) -> list[LoadedSource]:
    """Sources with loaded snapshots (optionally only these keys): for "what is loaded" answers.

    Reads the small `sources`/`snapshots` tables, never a scan of `trade_flows`.
    """
    stmt = (
        select(
            Source.key,
            Source.title,
            Snapshot.file_name,
            Snapshot.rows_loaded,
            Snapshot.data_date,
            Snapshot.meta,
        )
        .join(Snapshot, Snapshot.source_id == Source.id)
        .order_by(Source.key, Snapshot.fetched_at)
        .limit(10_000)
    )
    if keys is not None:
        stmt = stmt.where(Source.key.in_(sorted(set(keys))))
    out: dict[str, LoadedSource] = {}
    for key, title, file_name, rows, data_date, meta in (await session.execute(stmt)).all():
        entry = out.get(key) or LoadedSource(key, title, 0, 0, None)
        out[key] = LoadedSource(
            key,
            title,
            entry.snapshots + 1,
            entry.rows_loaded + int(rows or 0),
            data_date or entry.data_date,
            [*entry.file_names, file_name],
            entry.trade_csv or (isinstance(meta, dict) and "mapping" in meta),
        )
    return list(out.values())
