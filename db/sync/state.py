"""Reading and writing `sync_state` rows: one short transaction each, outside the importers' transactions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import SyncState


@dataclass
class StateView:
    """A detached copy of a source's sync state (safe to keep across transactions)."""

    source_key: str
    files: dict[str, Any] = field(default_factory=dict)
    last_sha256: str | None = None
    cursor: str | None = None
    last_success_at: dt.datetime | None = None
    failures: int = 0


async def load_state(sessions: async_sessionmaker[AsyncSession], source_key: str) -> StateView:
    """The sync state of a source (empty if it was never synced)."""
    async with sessions() as session:
        row = (
            await session.execute(select(SyncState).where(SyncState.source_key == source_key))
        ).scalar_one_or_none()
    if row is None:
        return StateView(source_key)
    return StateView(
        source_key, dict(row.files or {}), row.last_sha256, row.cursor, row.last_success_at, row.failures or 0
    )


async def save_state(sessions: async_sessionmaker[AsyncSession], source_key: str, **values: Any) -> None:
    """Update (or create) the sync state row of a source with `values` (column name -> value)."""
    for attempt in range(2):
        try:
            async with sessions.begin() as session:
                stmt = select(SyncState).where(SyncState.source_key == source_key)
                row = (await session.execute(stmt)).scalar_one_or_none()
                if row is None:
                    row = SyncState(source_key=source_key, failures=0)
                    session.add(row)
                for key, value in values.items():
                    setattr(row, key, value)
            return
        except IntegrityError:
            # Another process created the row between our read and insert; update it instead.
            if attempt:
                raise


def clip(text: str, limit: int = 1000) -> str:
    """Fit a message into a String(limit) column."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; treat them as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def file_name(url: str) -> str:
    """The local name of a URL's file: its last path segment (`sdn.csv`), or `index` for a bare path."""
    return PurePosixPath(urlsplit(url).path).name or "index"
