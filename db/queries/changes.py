"""Detected list changes, newest first: what `tradewatch changes` and the watch tools read."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ListChange, Snapshot, Source


@dataclass(frozen=True)
class ChangeRow:
    """One change with its source and the data date of the snapshot that brought it."""

    id: int
    source: str
    change: str
    entity_key: str
    entity_id: int | None
    name: str
    fields: list[str]
    details: dict[str, Any]
    detected_at: dt.datetime
    snapshot_id: int
    data_date: str | None
    file_name: str

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["detected_at"] = self.detected_at.isoformat()
        return out


async def list_changes(
    session: AsyncSession, *, source: str | None = None, since: dt.date | None = None, limit: int = 200
) -> list[ChangeRow]:
    """Changes newest first, optionally for one source key and detected on or after a date.

    Args:
        session: an open session.
        source: a source key (`ofac_sdn`, `csl`, `opensanctions:ua_war_sanctions` ...) or None for all.
        since: only changes detected on or after this date (UTC).
        limit: at most this many rows (capped at 10,000).
    """
    stmt = (
        select(ListChange, Source.key, Snapshot.data_date, Snapshot.file_name)
        .join(Source, Source.id == ListChange.source_id)
        .join(Snapshot, Snapshot.id == ListChange.snapshot_id)
        .order_by(ListChange.detected_at.desc(), ListChange.id.desc())
        .limit(max(1, min(limit, 10_000)))
    )
    if source:
        stmt = stmt.where(Source.key == source)
    if since:
        stmt = stmt.where(ListChange.detected_at >= dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC))
    rows = []
    for change, key, data_date, file_name in (await session.execute(stmt)).all():
        details = dict(change.details or {})
        rows.append(
            ChangeRow(
                change.id,
                key,
                change.change,
                change.entity_key,
                change.entity_id,
                change.name,
                list(details.get("fields") or []),
                details,
                change.detected_at,
                change.snapshot_id,
                data_date,
                file_name,
            )
        )
    return rows
