"""Worker processes that search the saved name index: a batch of names on every core.

A search is half numpy counting and half Python scoring, which holds the GIL: two threads of one process
searched a sheet only 1.0-1.2 times faster than one (docs/performance.md); processes share no GIL. Each
worker is a fresh interpreter (the `spawn` start method: nothing of the caller is copied, no fork) that
memory-maps the index the caller saved (db.search.cache), so the workers share one copy of it in the page
cache and start in about a second (imports, then the words by sound read back).

Used by `tradewatch screen` for large sheets; the bot screens in its own threads and starts no process.
A worker that cannot read the saved index (deleted meanwhile) or a pool that breaks is not an error: the
remaining names are searched in this process, with the same results.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.search.cache import database_key, fingerprint, load_saved, warm_index_cached
from db.search.index import EntityHit, NameIndex
from db.search.service import get_index, search_key

log = logging.getLogger(__name__)
MAX_WORKERS = 8
# A worker's start costs about as much as 700 searches: fewer distinct names are searched in this process.
MIN_NAMES = 2_000

_LOADED: NameIndex | None = None  # in a worker: the index it mapped


class SavedIndexGone(RuntimeError):
    """A worker found no saved index for the fingerprint it was given."""


def _load(folder: str, fp: str, database: str) -> None:
    """Worker initialiser: map the saved index. Ctrl-C reaches the caller, which stops the workers (a worker
    that took it too would print its own traceback and break the pool)."""
    global _LOADED
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _LOADED = load_saved(Path(folder), fp, database)


def _search(keys: list[str], limit: int) -> list[list[EntityHit]]:
    if _LOADED is None:
        raise SavedIndexGone("the saved name index could not be read")
    return [search_key(_LOADED, key, limit=limit) for key in keys]


def default_workers() -> int:
    """One worker per core this process may run on, at most MAX_WORKERS."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


@dataclass
class SearchPool:
    """Searches batches of normalised keys in worker processes, each with the index saved at `folder`.

    `index` is the same index in this process: the fallback. The workers start with the first batches;
    `close` stops them.
    """

    index: NameIndex
    folder: Path
    fingerprint: str
    database: str
    workers: int = field(default_factory=default_workers)
    min_names: int = MIN_NAMES
    _executor: ProcessPoolExecutor | None = field(default=None, repr=False)
    _broken: bool = field(default=False, repr=False)

    def worth_it(self, names: int) -> bool:
        """Whether `names` distinct names repay starting the workers."""
        return names >= self.min_names and not self._broken

    def _pool(self) -> Executor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_load,
                initargs=(str(self.folder), self.fingerprint, self.database),
            )
        return self._executor

    async def search(self, keys: list[str], limit: int) -> list[list[EntityHit]]:
        """The hits of each key, as `search_key(index, key, limit=limit)` gives them in this process."""
        if not self._broken:
            try:
                return await asyncio.get_running_loop().run_in_executor(self._pool(), _search, keys, limit)
            except (SavedIndexGone, BrokenProcessPool, OSError) as exc:
                if not self._broken:  # said once: every batch already queued fails the same way
                    log.warning("search workers unusable (%s): searching in this process", exc)
                self._broken = True
        return await asyncio.to_thread(lambda: [search_key(self.index, k, limit=limit) for k in keys])

    def close(self) -> None:
        """Stop the workers (queued batches are dropped)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


async def open_pool(
    sessions: async_sessionmaker[AsyncSession], folder: Path, workers: int | None = None
) -> SearchPool | None:
    """Make the name index ready, saved at `folder` (db.search.cache.warm_index_cached: read back, or built
    and saved), and a pool whose workers map that saved copy: `workers` of them (None: `default_workers`);
    None for fewer than two, which would search no faster than this process."""
    await warm_index_cached(sessions, folder)
    count = default_workers() if workers is None else workers
    if count < 2:
        return None
    async with sessions() as session:
        index, _ = await get_index(session)
        engine = session.bind
        assert isinstance(engine, AsyncEngine)
        return SearchPool(index, folder, await fingerprint(session), database_key(engine), count)
