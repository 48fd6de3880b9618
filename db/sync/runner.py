"""Sync one source: fetch its files conditionally, skip when nothing changed, import the new snapshot.

The importer does change detection inside its own transaction, so a file that fails to parse changes nothing;
the failure is recorded in `sync_state.last_error` and logged, and the CLI exits non-zero. A multi-file source
(OFAC's CSV set) is one snapshot: every file is fetched first, and only a complete set is imported.
Only one process syncs a source at a time (see `db.sync.locks`).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import os
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.ingest.base import ImportFailed, IngestReport, find_snapshot, get_source, new_snapshot, sha256_files
from db.ingest.fetch import Fetched, FetchFailed, fetch_to_cache
from db.ingest.registry import importer
from db.models import ListChange, Snapshot
from db.sync.locks import source_lock
from db.sync.sources import SourceSettings, SyncSource, get_sync_source
from db.sync.state import StateView, clip, file_name, load_state, save_state

log = logging.getLogger(__name__)


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


@dataclass
class SyncResult:
    """The outcome of one source's sync.

    `outcome` is one of: imported (a new snapshot was loaded), unchanged (304 or same content), recorded (a
    record-only source moved), failed (nothing changed; `message` says why), busy (another process holds the
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


Syncer = Callable[[SyncContext, SyncSource, SourceSettings, StateView, bool], Awaitable[SyncResult]]


async def sync_source(
    ctx: SyncContext, key: str, settings: SourceSettings, *, force: bool = False
) -> SyncResult:
    """Sync one source under its cross-process lock and record the outcome in `sync_state`.

    Args:
        ctx: database, HTTP session, cache folder.
        key: the source key (see `db.sync.sources.SYNC_SOURCES`).
        settings: its URLs and schedule.
        force: fetch without conditional headers and import even if the content is unchanged (an importer
            still recognises a file it loaded before by its sha256 and changes nothing).
    Returns:
        The `SyncResult`; failures are returned, not raised.
    """
    source = get_sync_source(key)
    async with source_lock(ctx.engine, key) as held:
        if not held:
            return SyncResult(key, "busy", "another process is syncing this source right now")
        started = ctx.now()
        await save_state(ctx.sessions, key, last_attempt_at=started)
        state = await load_state(ctx.sessions, key)
        result = await _run_guarded(ctx, source, settings, state, force)
        await _record_outcome(ctx, key, result, state)
        log.log(logging.ERROR if result.failed else logging.INFO, "sync %s", result.summary())
        return result


async def _run_guarded(
    ctx: SyncContext, source: SyncSource, settings: SourceSettings, state: StateView, force: bool
) -> SyncResult:
    from db.sync.opensanctions import sync_opensanctions  # late: it imports this module's helpers

    syncers: dict[str, Syncer] = {
        "files": sync_files,
        "record": sync_record,
        "opensanctions": sync_opensanctions,
    }
    try:
        return await syncers[source.kind](ctx, source, settings, state, force)
    except (FetchFailed, SyncFailed) as exc:
        return SyncResult(source.key, "failed", f"{exc}; nothing was changed")
    except ImportFailed as exc:
        return SyncResult(
            source.key, "failed", f"the new file could not be imported: {exc}; nothing was changed"
        )
    except Exception as exc:  # a bug or an unexpected server answer must not kill the scheduler
        log.exception("sync %s: unexpected error", source.key)
        return SyncResult(source.key, "failed", f"unexpected error {exc.__class__.__name__}: {exc}")


async def _record_outcome(ctx: SyncContext, key: str, result: SyncResult, state: StateView) -> None:
    now = ctx.now()
    if result.failed:
        await save_state(
            ctx.sessions,
            key,
            last_outcome="failed",
            last_error=clip(result.message),
            failures=state.failures + 1,
        )
        return
    if result.outcome == "busy":
        return
    values: dict[str, Any] = {
        "last_outcome": result.outcome,
        "last_success_at": now,
        "last_error": None,
        "failures": 0,
    }
    if result.changed:
        values["last_change_at"] = now
    await save_state(ctx.sessions, key, **values)


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
    fn = importer(name)
    return await fn(ctx.sessions, path, now=ctx.now(), **options)


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


async def sync_files(
    ctx: SyncContext, source: SyncSource, settings: SourceSettings, state: StateView, force: bool
) -> SyncResult:
    """Fetch a file set; import it as one snapshot when any file changed."""
    assert source.importer is not None
    fetched = await fetch_all(ctx, source, settings.urls, force)
    combined = sha256_files([f.path for f in fetched])
    files = {f.path.name: describe(f) for f in fetched}
    if not force and combined == state.last_sha256:
        await save_state(ctx.sessions, source.key, files=files)
        how = "not modified (304)" if all(f.not_modified for f in fetched) else "same content (sha256)"
        return SyncResult(source.key, "unchanged", f"{how}; {len(fetched)} file(s) checked")
    staging = staging_dir(ctx, source.key)
    try:
        for f in fetched:
            link_or_copy(f.path, staging / f.path.name)
        path = staging if source.import_folder else staging / fetched[0].path.name
        report = await run_importer(ctx, source.importer, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    await fill_data_date(ctx, report.snapshot_id, published_date(fetched))
    await save_state(ctx.sessions, source.key, files=files, last_sha256=combined)
    if report.already_loaded:
        return SyncResult(
            source.key, "unchanged", "this content was loaded before (same sha256)", reports=[report]
        )
    ids = [report.snapshot_id] if report.snapshot_id else []
    return SyncResult(
        source.key,
        "imported",
        f"new snapshot of {len(fetched)} file(s): {report.rows_loaded:,} rows loaded",
        await count_changes(ctx, ids),
        ids,
        [report],
    )


async def sync_record(
    ctx: SyncContext, source: SyncSource, settings: SourceSettings, state: StateView, force: bool
) -> SyncResult:
    """Fetch a record-only file (OFAC's change file) and file it as a snapshot when it moved."""
    fetched = await fetch_all(ctx, source, settings.urls, force)
    combined = sha256_files([f.path for f in fetched])
    files = {f.path.name: describe(f) for f in fetched}
    if not force and combined == state.last_sha256:
        await save_state(ctx.sessions, source.key, files=files)
        return SyncResult(source.key, "unchanged", "the change file has not moved")
    snapshot_id = await _record_snapshot(ctx, source, fetched, combined, files)
    await save_state(ctx.sessions, source.key, files=files, last_sha256=combined)
    if snapshot_id is None:
        return SyncResult(source.key, "unchanged", "this change file was recorded before")
    return SyncResult(
        source.key,
        "recorded",
        f"new change file ({fetched[0].size:,} bytes, sha256 {combined[:12]})",
        0,
        [snapshot_id],
    )


async def _record_snapshot(
    ctx: SyncContext, source: SyncSource, fetched: list[Fetched], combined: str, files: dict[str, Any]
) -> int | None:
    async with ctx.sessions.begin() as session:
        src = await get_source(session, source.catalogue_key, title=source.title)
        if await find_snapshot(session, src, combined) is not None:
            return None
        snapshot = await new_snapshot(
            session,
            src,
            sha256=combined,
            file_name=fetched[0].path.name,
            now=ctx.now(),
            data_date=published_date(fetched),
            meta={"files": files},
        )
        return snapshot.id
