"""Search worker processes (`tradewatch screen` on a large sheet): the same hits as a search in this process,
and a pool that cannot read the saved index searches here instead."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commands.context import Context
from commands.screen import run_screen
from db.lookups import Lookups
from db.search.pool import SearchPool, default_workers, open_pool
from db.search.service import search_key
from tests.commands.test_screen import CONSIGNEES, params
from tests.db.entity_seed import load_curated, load_ofac_subset

KEYS = ["king pai technology", "sinno electronics", "radioavtomatika", "poly technologies", "apple inc"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the workers never read the database
async def test_workers_find_what_this_process_finds(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path, tmp_path: Path
) -> None:
    await load_ofac_subset(sessions, shared_data, tmp_path / "ofac", step=1)
    await load_curated(sessions)
    pool = await open_pool(sessions, tmp_path / "index", 2)
    assert pool is not None
    pool.min_names = 1
    try:
        keys = KEYS + [pool.index.key(p) for p in range(0, pool.index.size, 97)]
        here = [search_key(pool.index, k, limit=5) for k in keys]
        assert await pool.search(keys[:40], 5) + await pool.search(keys[40:], 5) == here
        assert pool._executor is not None and not pool._broken  # searched by the workers
        assert here[0][0].score == 100 and len(keys) > 100
        # the whole of screening, with and without the workers: the same results file
        async with sessions() as session:
            ctx = Context(session=session, lookups=lookups)
            sheet = params(CONSIGNEES.encode(), name_column="consignee")
            with_pool = await run_screen(ctx, sheet, pool=pool)
            without = await run_screen(ctx, sheet)
        assert with_pool.attachments[0].data == without.attachments[0].data
        assert not pool._broken
    finally:
        pool.close()


async def test_a_pool_without_its_saved_index_searches_here(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await load_curated(sessions)
    folder = tmp_path / "index"
    assert await open_pool(sessions, folder, 1) is None  # one worker: searched in this process
    pool = await open_pool(sessions, folder, 2)
    assert pool is not None
    shutil.rmtree(folder)  # deleted between the save and the workers' start
    try:
        with caplog.at_level(logging.WARNING, "db.search.pool"):
            hits = await pool.search(KEYS, 5)
        assert hits == [search_key(pool.index, k, limit=5) for k in KEYS]
        assert "searching in this process" in caplog.text and not pool.worth_it(10**6)
    finally:
        pool.close()


def test_worth_it_and_workers() -> None:
    assert 1 <= default_workers() <= 8
    pool = SearchPool.__new__(SearchPool)
    pool.min_names, pool._broken = 2_000, False
    assert pool.worth_it(2_000) and not pool.worth_it(1_999)
