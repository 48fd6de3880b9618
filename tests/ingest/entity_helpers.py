"""Helpers for the entity importer tests: read back what an import stored, count rows in the real files."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Designation, Entity, EntityName, ListChange, Relation, Snapshot, Source

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def at(hours: int) -> dt.datetime:
    """An import time `hours` after T0 (imports are ordered by time)."""
    return T0 + dt.timedelta(hours=hours)


def ofac_rows(path: Path) -> list[list[str]]:
    """Rows of an OFAC legacy CSV read with the csv module (the 0x1A end-of-file byte dropped)."""
    text = path.read_text(encoding="utf-8").rstrip("\x1a\r\n")
    return [row for row in csv.reader(text.splitlines()) if row and row != ["\x1a"]]


async def count(session: AsyncSession, model: Any, *where: Any) -> int:
    return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


async def entity(session: AsyncSession, source: str, key: str) -> Entity:
    stmt = (
        select(Entity)
        .join(Source, Source.id == Entity.source_id)
        .where(Source.key == source, Entity.source_key == key)
    )
    return (await session.execute(stmt)).scalar_one()


async def changes_by_kind(session: AsyncSession, source: str) -> dict[str, list[ListChange]]:
    stmt = select(ListChange).join(Source, Source.id == ListChange.source_id).where(Source.key == source)
    out: dict[str, list[ListChange]] = {"added": [], "removed": [], "amended": []}
    for change in (await session.execute(stmt)).scalars():
        out[change.change].append(change)
    return out


async def table_counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Rows in every entity table: to show a failed import changed nothing."""
    async with sessions() as session:
        return {
            m.__tablename__: await count(session, m)
            for m in (Source, Snapshot, Entity, EntityName, Designation, Relation, ListChange)
        }
