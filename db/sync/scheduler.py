"""The sync schedule inside `tradewatch serve`: each source on its own interval, with jitter, forever.

The schedule lives in the database (`sync_state.next_sync_at`), so several serve processes share it: whoever
wakes first takes the source's lock (`db.sync.locks`) and syncs; the others find it busy or not yet due. A failed
sync is retried sooner (5, 10, 20 ... minutes, never later than the interval). Nothing a source does can stop
the loop: every error is logged and recorded, and the loop carries on.

`SyncThread` runs the loop on its own thread and event loop with its own engine: an import parses and writes
for seconds to minutes, which must not stall the Discord gateway heartbeat on the bot's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import threading
from collections.abc import Mapping
from pathlib import Path

import aiohttp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import current_revision, head_revision, make_engine, make_sessionmaker
from db.ingest.mass_change import MassChangePolicy
from db.models import SyncState
from db.sources import SourceSettings, get_sync_source
from db.sync.runner import sync_source
from db.sync.state import save_state, utc
from db.sync.steps import SyncContext, SyncResult

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 300.0
# Failures back off to at least this (or the source's own interval if longer): a publisher that is down or
# refusing us is asked once an hour, not every two minutes.
MAX_RETRY_SECONDS = 3600.0
BUSY_RETRY_SECONDS = 60.0
FAILED_PASS_RETRY_SECONDS = 10.0  # a pass that could not read or write the schedule (database unreachable)


def next_delay(
    settings: SourceSettings, result: SyncResult, failures: int, jitter: float, rng: random.Random
) -> float:
    """Seconds until the next check of a source after `result` (with `failures` consecutive failures)."""
    interval = settings.interval_minutes * 60
    if result.failed:
        # Doubling from the interval (or 5 minutes, whichever is sooner) up to an hour or the interval.
        first = min(interval, FIRST_RETRY_SECONDS)
        interval = min(first * 2 ** max(failures - 1, 0), max(interval, MAX_RETRY_SECONDS))
    return interval + rng.uniform(0, jitter)


async def due_sources(
    ctx: SyncContext, settings: Mapping[str, SourceSettings], now: dt.datetime
) -> list[str]:
    """Enabled sources whose next check is due (never-synced ones are due at once), in registry order."""
    async with ctx.sessions() as session:
        rows = (await session.execute(select(SyncState.source_key, SyncState.next_sync_at))).all()
    planned = {key: utc(when) for key, when in rows}
    return [key for key, s in settings.items() if s.enabled and _due(planned.get(key), now)]


def _due(planned: dt.datetime | None, now: dt.datetime) -> bool:
    return planned is None or planned <= now


async def seconds_to_next(
    ctx: SyncContext, settings: Mapping[str, SourceSettings], now: dt.datetime
) -> float:
    """How long until the earliest planned check of an enabled source (0 when one is due)."""
    async with ctx.sessions() as session:
        rows = (await session.execute(select(SyncState.source_key, SyncState.next_sync_at))).all()
    planned = {key: utc(when) for key, when in rows}
    waits = []
    for key, s in settings.items():
        when = planned.get(key)
        if s.enabled:
            waits.append(max((when - now).total_seconds(), 0.0) if when is not None else 0.0)
    return min(waits, default=3600.0)


async def sync_and_plan(
    ctx: SyncContext,
    key: str,
    settings: Mapping[str, SourceSettings],
    *,
    jitter: float,
    rng: random.Random,
    force: bool = False,
) -> SyncResult:
    """Sync one source and write when it is next due (unless another process holds it)."""
    result = await sync_source(ctx, key, settings[key], force=force)
    if result.outcome != "busy":
        async with ctx.sessions() as session:
            row = (await session.execute(select(SyncState).where(SyncState.source_key == key))).scalar_one()
            failures = row.failures or 0
        delay = next_delay(settings[key], result, failures, jitter, rng)
        await save_state(ctx.sessions, key, next_sync_at=ctx.now() + dt.timedelta(seconds=delay))
    return result


async def run_due(
    ctx: SyncContext,
    settings: Mapping[str, SourceSettings],
    *,
    jitter: float,
    rng: random.Random,
    busy_until: dict[str, dt.datetime] | None = None,
) -> list[SyncResult]:
    """One pass: sync every due source, then the sources a changed one triggers (OFAC's change file).

    `busy_until` remembers sources another process was syncing, so they are not retried every second.
    """
    results = []
    busy_until = {} if busy_until is None else busy_until
    for key in await due_sources(ctx, settings, ctx.now()):
        if busy_until.get(key, ctx.now()) > ctx.now():
            continue
        result = await sync_and_plan(ctx, key, settings, jitter=jitter, rng=rng)
        results.append(result)
        if result.outcome == "busy":
            busy_until[key] = ctx.now() + dt.timedelta(seconds=BUSY_RETRY_SECONDS)
        if result.changed:
            for triggered in get_sync_source(key).triggers:
                if triggered in settings and settings[triggered].enabled:
                    log.info("sync %s moved: syncing %s now", key, triggered)
                    results.append(await sync_and_plan(ctx, triggered, settings, jitter=jitter, rng=rng))
    return results


async def run_scheduler(
    ctx: SyncContext,
    settings: Mapping[str, SourceSettings],
    *,
    jitter: float,
    stop: asyncio.Event,
    rng: random.Random | None = None,
    max_wait: float = 60.0,
) -> None:
    """Run the schedule until `stop` is set. Never raises: errors are logged and the loop goes on.

    Args:
        ctx: database, HTTP session and cache folder for the syncs.
        settings: per-source URLs, intervals and whether each is enabled.
        jitter: up to this many seconds are added to every planned check.
        stop: set it to end the loop (it is checked between sources and while waiting).
        rng: the random source for jitter (tests pass a seeded one).
        max_wait: re-read the shared schedule at least this often (another process may have changed it).
    """
    rng = rng or random.Random()
    enabled = [key for key, s in settings.items() if s.enabled]
    log.info("sync schedule started for %s", ", ".join(enabled) or "no source (all disabled)")
    busy_until: dict[str, dt.datetime] = {}
    while not stop.is_set():
        wait = max_wait
        try:
            await run_due(ctx, settings, jitter=jitter, rng=rng, busy_until=busy_until)
            wait = min(max(await seconds_to_next(ctx, settings, ctx.now()), 5.0), max_wait)
        except Exception:  # the database may be briefly unreachable; keep the schedule alive
            # A restart or a full disk passes in seconds: look again soon rather than after max_wait.
            wait = min(wait, FAILED_PASS_RETRY_SECONDS)
            log.exception("sync schedule: pass failed; retrying in %.0f s", wait)
        try:
            await asyncio.wait_for(stop.wait(), timeout=wait)
        except TimeoutError:
            pass
    log.info("sync schedule stopped")


class SyncThread:
    """The sync schedule on a thread of its own (own event loop, engine and HTTP session).

    Args:
        database_url: the database the bot uses.
        cache_dir: where fetched files are kept.
        settings: per-source settings.
        timeout: seconds per file download.
        jitter: seconds of random delay added to each planned check.
    """

    def __init__(
        self,
        database_url: str,
        cache_dir: Path,
        settings: Mapping[str, SourceSettings],
        *,
        timeout: float,
        jitter: float,
        mass_change: MassChangePolicy | None = None,
    ) -> None:
        self.database_url = database_url
        self.cache_dir = cache_dir
        self.settings = dict(settings)
        self.timeout = timeout
        self.jitter = jitter
        self.mass_change = mass_change or MassChangePolicy()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="tradewatch-sync", daemon=True)

    def start(self) -> None:
        """Start the thread; returns once its loop is running."""
        self._thread.start()
        self._ready.wait(timeout=10)

    def stop(self, grace: float = 10.0) -> None:
        """Stop the schedule and wait for the thread.

        The loop stops after the current step; a sync still running after `grace` seconds is cancelled (its
        import transaction rolls back, nothing is half-written, and the next start syncs that source again).
        """
        loop, task = self._loop, self._task
        if loop is None or self._stop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop may close between the check and the call
            loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(grace)
        if self._thread.is_alive() and task is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
            self._thread.join(grace)

    def _main(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            asyncio.run(self._run())

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._stop = asyncio.Event()
        self._ready.set()
        engine = make_engine(self.database_url)
        try:
            if not await self._schema_ready(engine):
                return
            async with aiohttp.ClientSession() as http:
                ctx = SyncContext(
                    engine,
                    make_sessionmaker(engine),
                    http,
                    self.cache_dir,
                    self.timeout,
                    mass_change=self.mass_change,
                )
                await run_scheduler(ctx, self.settings, jitter=self.jitter, stop=self._stop)
        except Exception:
            log.exception("sync thread ended with an error")
        finally:
            await engine.dispose()

    async def _schema_ready(self, engine: AsyncEngine) -> bool:
        """Wait until the bot has brought the schema up to date (it migrates an empty or SQLite database at
        start); False if asked to stop first. The sync never migrates: two migrators would race."""
        assert self._stop is not None
        head = head_revision()
        while not self._stop.is_set():
            try:
                if await current_revision(engine) == head:
                    return True
            except Exception as exc:  # the database may not be reachable yet
                log.debug("sync thread: database not ready: %s", exc)
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=2.0)
            except TimeoutError:
                pass
        return False
