"""Detected list changes, newest first: what `tradewatch changes` and the watch tools read."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import and_, or_, select
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
    source_url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["detected_at"] = self.detected_at.isoformat()
        return out


MAX_CHANGES = 50_000


async def list_changes(
    session: AsyncSession,
    *,
    source: str | None = None,
    since: dt.date | None = None,
    limit: int = 200,
    change: str | None = None,
    since_data_date: bool = False,
) -> list[ChangeRow]:
    """Changes newest first, optionally for one source key and detected on or after a date.

    Args:
        session: an open session.
        source: a source key (`ofac_sdn`, `csl`, `opensanctions:ua_war_sanctions` ...) or None for all.
        since: only changes detected on or after this date (UTC).
        limit: at most this many rows (capped at MAX_CHANGES).
        change: only `added`, `removed` or `amended`.
        since_data_date: `since` holds against the publisher's data date of the snapshot that brought the
            change (the detection date when the publisher stated none), not the date it was detected here.
    """
    stmt = (
        select(ListChange, Source.key, Snapshot.data_date, Snapshot.file_name, Source.url)
        .join(Source, Source.id == ListChange.source_id)
        .join(Snapshot, Snapshot.id == ListChange.snapshot_id)
        .order_by(ListChange.detected_at.desc(), ListChange.id.desc())
        .limit(max(1, min(limit, MAX_CHANGES)))
    )
    if source:  # a key, or a family of keys such as `opensanctions` for `opensanctions:<dataset>`
        stmt = stmt.where(or_(Source.key == source, Source.key.startswith(f"{source}:", autoescape=True)))
    if change:
        stmt = stmt.where(ListChange.change == change)
    if since:
        detected = ListChange.detected_at >= dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
        if since_data_date:
            stmt = stmt.where(
                or_(
                    and_(Snapshot.data_date.is_not(None), Snapshot.data_date >= since.isoformat()),
                    and_(Snapshot.data_date.is_(None), detected),
                )
            )
        else:
            stmt = stmt.where(detected)
    rows = []
    for entry, key, data_date, file_name, url in (await session.execute(stmt)).all():
        details = dict(entry.details or {})
        rows.append(
            ChangeRow(
                entry.id,
                key,
                entry.change,
                entry.entity_key,
                entry.entity_id,
                entry.name,
                list(details.get("fields") or []),
                details,
                entry.detected_at,
                entry.snapshot_id,
                data_date,
                file_name,
                url,
            )
        )
    return rows
