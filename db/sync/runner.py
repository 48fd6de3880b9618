"""Sync one source: fetch its files conditionally, skip when nothing changed, import the new snapshot.

The importer does change detection inside its own transaction, so a file that fails to parse changes nothing;
the failure is recorded in `sync_state.last_error` and logged, and the CLI exits non-zero. A multi-file source
(OFAC's CSV set) is one snapshot: every file is fetched first, and only a complete set is imported.
Only one process syncs a source at a time (see `db.sync.locks`).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Awaitable, Callable
from typing import Any

from db.ingest.base import ImportFailed, find_snapshot, get_source, new_snapshot, sha256_files
from db.ingest.fetch import Fetched, FetchFailed
from db.ingest.mass_change import MassChangeHeld
from db.sources import SourceSettings, SyncSource, get_sync_source
from db.sync.locks import source_lock
from db.sync.opensanctions import sync_opensanctions
from db.sync.state import StateView, clip, load_state, save_state
from db.sync.steps import (
    SyncContext,
    SyncFailed,
    SyncResult,
    count_changes,
    describe,
    fetch_all,
    fill_data_date,
    link_or_copy,
    published_date,
    run_importer,
    staging_dir,
)

log = logging.getLogger(__name__)


Syncer = Callable[[SyncContext, SyncSource, SourceSettings, StateView, bool], Awaitable[SyncResult]]


async def sync_source(
    ctx: SyncContext, key: str, settings: SourceSettings, *, force: bool = False
) -> SyncResult:
    """Sync one source under its cross-process lock and record the outcome in `sync_state`.

    Args:
        ctx: database, HTTP session, cache folder.
        key: the source key (see `db.sources.sync_sources`).
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
    syncers: dict[str, Syncer] = {
        "files": sync_files,
        "record": sync_record,
        "opensanctions": sync_opensanctions,
    }
    try:
        return await syncers[source.mode](ctx, source, settings, state, force)
    except (FetchFailed, SyncFailed) as exc:
        return SyncResult(source.key, "failed", f"{exc}; nothing was changed")
    except MassChangeHeld as exc:
        return SyncResult(source.key, "held", str(exc))
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
    if result.outcome == "held":  # not a failure of the sync: the publisher's file needs a person's look
        await save_state(ctx.sessions, key, last_outcome="held", last_error=clip(result.message))
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
        try:
            report = await run_importer(ctx, source.importer, path)
        except MassChangeHeld:
            # Remembered as seen: the next checks answer "unchanged" (the hold stays on /sources) until the
            # publisher serves another file or someone applies this one with --accept-mass-change.
            await save_state(ctx.sessions, source.key, files=files, last_sha256=combined)
            raise
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
        src = await get_source(session, source.key, title=source.title)
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
