"""One sync of a source at a time, across processes: PostgreSQL advisory locks, or a file lock for SQLite.

PostgreSQL: `pg_try_advisory_lock` on a dedicated connection; the server drops the lock if the process dies, so a
killed sync never blocks the next one. SQLite: `flock` on a file next to the database; the kernel releases it when
the process exits, for the same reason.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)


def advisory_key(source_key: str) -> int:
    """A stable signed 64-bit lock id for a source (the same in every process)."""
    digest = hashlib.sha256(f"tradewatch.sync:{source_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_file_path(engine: AsyncEngine, source_key: str) -> Path:
    """Where the SQLite lock file of a source lives: beside the database file (or in the temp folder)."""
    database = engine.url.database
    if database and database != ":memory:":
        path = Path(database).expanduser()
        return path.with_name(f"{path.name}.sync-{source_key}.lock")
    return Path(tempfile.gettempdir()) / f"tradewatch-memory.sync-{source_key}.lock"


@contextlib.asynccontextmanager
async def _pg_lock(engine: AsyncEngine, source_key: str) -> AsyncIterator[bool]:
    key = advisory_key(source_key)
    async with engine.connect() as conn:
        # Autocommit: the lock belongs to the session, and the connection must not sit idle in a transaction
        # for the length of a download.
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        got = bool((await conn.execute(select(func.pg_try_advisory_lock(key)))).scalar())
        try:
            yield got
        finally:
            if got:
                await _unlock(conn, key, source_key)


async def _unlock(conn: AsyncConnection, key: int, source_key: str) -> None:
    try:
        await conn.execute(select(func.pg_advisory_unlock(key)))
    except Exception as exc:
        # The connection died under the sync (a PostgreSQL restart): the server released the lock with the
        # session. Drop the broken connection instead of returning it to the pool.
        log.warning("sync lock of %s: connection lost (%s); the server released the lock", source_key, exc)
        await conn.invalidate()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.asynccontextmanager
async def source_lock(engine: AsyncEngine, source_key: str) -> AsyncIterator[bool]:
    """Try to take the sync lock of a source without waiting.

    Args:
        engine: the database every sync process shares.
        source_key: the source (e.g. `ofac_sdn`).
    Yields:
        True when this caller holds the lock until the block exits; False when another sync holds it.
    """
    if engine.dialect.name == "postgresql":
        async with _pg_lock(engine, source_key) as got:
            yield got
    else:
        with _file_lock(lock_file_path(engine, source_key)) as got:
            yield got
