"""Syncs that fail half-way: nothing is half-written, and the next sync (the schedule's, unattended) succeeds.

In-process, on a clone of the database loaded from the real files, through `db.sync.runner.sync_source` (what
the schedule inside `tradewatch serve` calls):

- PostgreSQL: every connection of the database cut while the import is writing (what a server restart
  does; simulated with pg_terminate_backend on this test's own database only).
- SQLite: the disk fills up during the import (`PRAGMA max_page_count` caps the file just above its size),
  and a database file that is read-only.

tests/reliability/test_serve_faults.py shows the same through a running `tradewatch serve` (and a real full disk).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.errors import database_outage
from db.engine import make_engine, make_sessionmaker
from db.sources import get_sync_source
from db.sync.runner import sync_source
from db.sync.steps import SyncContext, SyncResult
from tests.conftest import SHARED_DATA
from tests.db.sync.source_server import running_source_server as publisher
from tests.reliability.stack import clone_database, discard_database
from tests.reliability.test_database_faults import connect, terminate_others
from tests.reliability.test_hostile_input import fingerprint

pytestmark = pytest.mark.asyncio(loop_scope="session")

SDN_NEW = SHARED_DATA / "ofac/sdn_snapshots/2024-04-26/sdn.csv"  # 14,668 entries: a few seconds of writing
CONS = SHARED_DATA / "ofac/nonsdn_consolidated_2025-04"


@contextlib.asynccontextmanager
async def clone(loaded_url: str, folder: Path, backend: str) -> AsyncIterator[str]:
    if make_url(loaded_url).get_backend_name() != backend:
        pytest.skip(f"this fault is a {backend} one")
    url = await clone_database(loaded_url, folder)
    try:
        yield url
    finally:
        await discard_database(url)


async def sync(engine: AsyncEngine, cache: Path, key: str, urls: list[str]) -> SyncResult:
    settings = get_sync_source(key).defaults
    async with aiohttp.ClientSession() as http:
        ctx = SyncContext(engine, make_sessionmaker(engine), http, cache, timeout=10)
        return await sync_source(ctx, key, replace(settings, urls=tuple(urls)))


async def cut_connections_mid_import(url: str, timeout: float = 60) -> int:
    """Hold list_changes locked, so the import stops half-way through its transaction (entities already
    updated, list changes not yet written); then terminate every backend of the database but the locker."""
    locker, monitor = await connect(url), await connect(url)
    try:
        async with locker.transaction():
            await locker.execute("LOCK TABLE list_changes IN ACCESS EXCLUSIVE MODE")
            async with asyncio.timeout(timeout):
                while not await monitor.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO list_changes%'"
                ):
                    await asyncio.sleep(0.02)
            return await terminate_others(monitor, keep=await locker.fetchval("SELECT pg_backend_pid()"))
    finally:
        await locker.close()
        await monitor.close()


async def test_postgresql_cut_during_a_sync_import_changes_nothing_and_the_next_sync_imports(
    loaded_url: str, tmp_path: Path
) -> None:
    async with clone(loaded_url, tmp_path / "db", "postgresql") as url, publisher() as source:
        sdn = source.serve_file("/sdn.csv", SDN_NEW, last_modified="Fri, 26 Apr 2024 18:43:00 GMT")
        engine = make_engine(url)
        try:
            before = await fingerprint(make_sessionmaker(engine))
            syncing = asyncio.create_task(sync(engine, tmp_path / "cache", "ofac_sdn", [sdn]))
            assert await cut_connections_mid_import(url) >= 1
            failed = await asyncio.wait_for(syncing, 60)
            assert failed.failed, failed.message
            assert await fingerprint(make_sessionmaker(engine)) == {
                **before,
                "sync_state": before["sync_state"] + 1,
            }
            again = await sync(engine, tmp_path / "cache", "ofac_sdn", [sdn])  # the schedule's next try
            assert again.outcome == "imported" and again.changes > 0
        finally:
            await engine.dispose()


def capped(engine: AsyncEngine, pages: int) -> None:
    """Every new connection of `engine` may grow the file to `pages` pages, no more (a full disk)."""

    def cap(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA max_page_count = {int(pages)}")
        cursor.close()

    event.listen(engine.sync_engine, "connect", cap)


async def page_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("PRAGMA page_count"))).scalar_one())


async def test_sqlite_full_during_a_sync_import_changes_nothing_and_the_next_sync_imports(
    loaded_url: str, tmp_path: Path
) -> None:
    async with clone(loaded_url, tmp_path / "db", "sqlite") as url, publisher() as source:
        urls = [source.serve_file(f"/{name}", CONS / name) for name in ("cons_prim.csv", "cons_add.csv")]
        probe = make_engine(url)
        pages = await page_count(probe)
        before = await fingerprint(make_sessionmaker(probe))
        await probe.dispose()
        full = make_engine(url)
        capped(full, pages + 8)  # room for the sync's bookkeeping, not for 443 entities
        try:
            failed = await sync(full, tmp_path / "cache", "ofac_cons", urls)
            assert failed.failed and "full" in failed.message
            assert await fingerprint(make_sessionmaker(full)) == {
                **before,
                "sync_state": before["sync_state"] + 1,
            }
        finally:
            await full.dispose()
        roomy = make_engine(url)  # space freed
        try:
            again = await sync(roomy, tmp_path / "cache", "ofac_cons", urls)
            assert again.outcome == "imported", again.message
            assert (await fingerprint(make_sessionmaker(roomy)))["entities"] > before["entities"]
        finally:
            await roomy.dispose()


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make a file read-only for this process: chmod for a normal user, the immutable flag for root."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        undo = ["chmod", "0644", str(path)]
    elif (
        shutil.which("chattr")
        and subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0
    ):
        undo = ["chattr", "-i", str(path)]
    else:
        pytest.skip("running as root on a file system without chattr: cannot make a file read-only")
    try:
        with pytest.raises(OSError):
            os.open(path, os.O_WRONLY)  # really read-only
        yield
    finally:
        subprocess.run(undo, check=True)


async def write_watch(engine: AsyncEngine, n: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO watches (guild_id, channel_id, filters_key, created_at, paused) "
                "VALUES (:g, 1, :key, CURRENT_TIMESTAMP, false)"
            ),
            {"g": n, "key": f"test-watch-{n}"},
        )  # fmt: skip


async def test_a_read_only_sqlite_file_serves_reads_refuses_writes_and_recovers_when_writable(
    loaded_url: str, tmp_path: Path
) -> None:
    async with clone(loaded_url, tmp_path / "db", "sqlite") as url:
        path = Path(make_url(url).database or "")
        engine = make_engine(url)
        try:
            with read_only(path):
                async with engine.connect() as conn:
                    assert (await conn.execute(text("SELECT count(*) FROM entities"))).scalar_one() > 1000
                with pytest.raises(Exception) as refused:
                    await write_watch(engine, 1)
                assert database_outage(refused.value)  # answered "try again in a minute" by the bot
            # Writable again: the same engine (its pool) recovers without a restart.
            await write_watch(engine, 2)
        finally:
            await engine.dispose()
