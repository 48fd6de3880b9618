"""The building blocks of a sync: its context and result, fetching into the cache, staging, running an importer.

Shared by the file and record syncers (db/sync/runner.py) and the OpenSanctions syncer (db/sync/opensanctions.py).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.ingest.base import IngestReport
from db.ingest.fetch import Fetched, fetch_to_cache
from db.ingest.mass_change import MassChangePolicy
from db.models import ListChange, Snapshot
from db.sources import SyncSource, list_importers, load_importer
from db.sync.state import file_name


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class SyncContext:
    """What a sync needs: the database, an HTTP session, the cache folder, limits and the clock."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: aiohttp.ClientSession
    cache_dir: Path
    timeout: float = 600.0
    now: Callable[[], dt.datetime] = _utcnow
    mass_change: MassChangePolicy = MassChangePolicy()  # the guard for the list imports a sync runs


@dataclass
class SyncResult:
    """The outcome of one source's sync.

    `outcome` is one of: imported (a new snapshot was loaded), unchanged (304 or same content), recorded (a
    record-only source moved), held (the mass-change guard held the new file back: nothing applied, no alerts;
    `message` says why), failed (nothing changed; `message` says why), busy (another process holds the
    source's lock).
    """

    source: str
    outcome: str
    message: str
    changes: int = 0
    snapshot_ids: list[int] = field(default_factory=list)
    reports: list[IngestReport] = field(default_factory=list)
    cursor: str | None = None

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"

    @property
    def changed(self) -> bool:
        return self.outcome in {"imported", "recorded"}

    def summary(self) -> str:
        """One line for the terminal and the log."""
        line = f"{self.source}: {self.outcome} - {self.message}"
        if self.outcome == "imported":
            line += f" ({self.changes:,} list change{'s' if self.changes != 1 else ''} recorded)"
        return line


class SyncFailed(Exception):
    """A sync step failed in a way the user should read (the message says what and where)."""


def staging_dir(ctx: SyncContext, key: str) -> Path:
    """A fresh folder holding exactly the files one import reads (named by time: importers show the name)."""
    stamp = ctx.now().strftime("%Y%m%dT%H%M%S%fZ")
    path = ctx.cache_dir / "sync" / key / f"{key}-{stamp}"
    path.mkdir(parents=True, exist_ok=False)
    return path


def files_dir(ctx: SyncContext, key: str) -> Path:
    """The fetch cache of a source: the last copy of each file and its validators (`db.ingest.fetch`)."""
    return ctx.cache_dir / "sync" / key / "files"


def link_or_copy(src: Path, dest: Path) -> None:
    """Put `src` at `dest` without copying bytes when the file system allows (both stay valid)."""
    dest.unlink(missing_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


async def fetch_one(
    ctx: SyncContext, url: str, folder: Path, name: str, *, force: bool = False, allow_empty: bool = False
) -> Fetched:
    """Fetch one file into a cache folder with a conditional request (unconditional when `force`)."""
    if force:
        (folder / f"{name}.meta.json").unlink(missing_ok=True)
    return await fetch_to_cache(
        url, folder, name=name, http=ctx.http, timeout=ctx.timeout, now=ctx.now(), allow_empty=allow_empty
    )


async def fetch_all(
    ctx: SyncContext, source: SyncSource, urls: tuple[str, ...], force: bool
) -> list[Fetched]:
    """Fetch every file of a set (conditionally); any failure fails the whole set before anything is imported."""
    names = [file_name(url) for url in urls]
    if len(set(names)) != len(names):
        raise SyncFailed(f"two URLs of {source.key} end in the same file name: {', '.join(urls)}")
    folder = files_dir(ctx, source.key)
    return [
        await fetch_one(ctx, url, folder, name, force=force) for url, name in zip(urls, names, strict=True)
    ]


def describe(fetched: Fetched) -> dict[str, Any]:
    """What `sync_state.files` remembers of a fetched file."""
    return {
        "url": fetched.url,
        "sha256": fetched.sha256,
        "bytes": fetched.size,
        "etag": fetched.etag,
        "last_modified": fetched.last_modified,
    }


async def run_importer(ctx: SyncContext, name: str, path: Path, **options: Any) -> IngestReport:
    """Run a registered importer on a fetched file or folder (it owns its transaction)."""
    fn = load_importer(name)
    if name in list_importers():
        options["mass_change"] = ctx.mass_change
    report: IngestReport = await fn(ctx.sessions, path, now=ctx.now(), **options)
    return report


async def count_changes(ctx: SyncContext, snapshot_ids: list[int]) -> int:
    """How many list changes the importers recorded for these snapshots."""
    if not snapshot_ids:
        return 0
    async with ctx.sessions() as session:
        stmt = select(func.count()).select_from(ListChange).where(ListChange.snapshot_id.in_(snapshot_ids))
        return int((await session.execute(stmt)).scalar_one())


def published_date(fetched: list[Fetched]) -> str | None:
    """The newest Last-Modified date of a set of files (YYYY-MM-DD), the publisher's own date for them."""
    dates = []
    for f in fetched:
        if f.last_modified:
            try:
                dates.append(email.utils.parsedate_to_datetime(f.last_modified))
            except (TypeError, ValueError):
                continue
    return max(dates).date().isoformat() if dates else None


async def fill_data_date(ctx: SyncContext, snapshot_id: int | None, data_date: str | None) -> None:
    """Give a snapshot the publisher's date when its importer could not read one from the file."""
    if snapshot_id is None or data_date is None:
        return
    async with ctx.sessions.begin() as session:
        snapshot = await session.get(Snapshot, snapshot_id)
        if snapshot is not None and not snapshot.data_date:
            snapshot.data_date = data_date
