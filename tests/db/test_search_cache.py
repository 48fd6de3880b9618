"""The saved name index: read back only for exactly the database content it was built from, same answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.search import cache, service
from db.search.cache import load_saved, warm_index_cached
from db.sources import load_importer
from tests.db.entity_seed import NOW, load_curated, load_ofac_subset

QUERIES = ["Sinno Electronic Co Ltd", "king pai technology", "Радиоавтоматика", "中国保利集团", "poly grup"]


async def curated_and_warmed(sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> Path:
    """The curated files loaded and the index built and saved; returns the index folder."""
    await load_curated(sessions)
    folder = tmp_path / "index"
    await warm_index_cached(sessions, folder)
    return folder


async def _answers(sessions: async_sessionmaker[AsyncSession]) -> list[list[tuple[int, float]]]:
    async with sessions() as session:
        results = [await service.search_entities(session, q, limit=5) for q in QUERIES]
        suggestions = await service.suggest_names(session, "sinno el")
    assert suggestions  # autocomplete works from the saved index too
    return [[(h.entity_id, h.score) for h in r.hits] for r in results]


async def test_saved_index_gives_the_same_answers(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, tmp_path: Path
) -> None:
    await load_ofac_subset(sessions, shared_data, tmp_path / "ofac", step=20)
    await load_curated(sessions)
    folder = tmp_path / "index"
    engine = sessions.kw["bind"]
    names, from_disk = await warm_index_cached(sessions, folder)
    assert names > 0 and not from_disk
    built = await _answers(sessions)
    assert built[0] and built[2]

    service.forget_index(engine)  # a new process: nothing in memory
    names_again, from_disk = await warm_index_cached(sessions, folder)
    assert (names_again, from_disk) == (names, True)
    async with sessions() as session:
        index, stale = await service.get_index(session)
    assert not stale and isinstance(index.postings.postings.base, np.memmap)  # mapped, not rebuilt
    assert await _answers(sessions) == built


async def test_an_import_makes_the_saved_index_unusable(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, tmp_path: Path
) -> None:
    folder = await curated_and_warmed(sessions, tmp_path)
    async with sessions() as session:
        before = await cache.fingerprint(session)
    await load_ofac_subset(sessions, shared_data, tmp_path / "ofac", step=40)
    async with sessions() as session:
        after = await cache.fingerprint(session)
    assert after != before
    service.forget_index(sessions.kw["bind"])
    names, from_disk = await warm_index_cached(sessions, folder)
    assert not from_disk  # rebuilt from the database, with the new names
    async with sessions() as session:
        found = await service.search_entities(session, "SINNO ELECTRONICS", limit=3)
    assert found.hits and found.hits[0].score > 90


@pytest.mark.parametrize("damage", ["meta", "array", "format"])
async def test_a_damaged_or_foreign_file_is_ignored(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path, damage: str
) -> None:
    folder = await curated_and_warmed(sessions, tmp_path)
    (saved,) = list(folder.iterdir())
    database, fp = saved.name.split("-", 1)
    if damage == "meta":
        (saved / "meta.json").write_text("{not json", encoding="utf-8")
    elif damage == "array":
        (saved / "postings.postings.npy").write_bytes(b"\x93NUMPY garbage")
    else:
        (saved / "meta.json").write_text(json.dumps({"format": 999, "fingerprint": fp}), encoding="utf-8")
    assert load_saved(folder, fp, database) is None
    service.forget_index(sessions.kw["bind"])
    _, from_disk = await warm_index_cached(sessions, folder)
    assert not from_disk


async def test_old_folders_are_pruned(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "index"
    await load_curated(sessions)
    for step in (80, 60, 40):
        await load_ofac_subset(sessions, shared_data, tmp_path / f"ofac{step}", step=step)
        service.forget_index(sessions.kw["bind"])
        await warm_index_cached(sessions, folder)
    assert len(list(folder.iterdir())) == cache.KEEP


async def test_a_trade_import_leaves_the_index_and_its_file_alone(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, tmp_path: Path
) -> None:
    folder = await curated_and_warmed(sessions, tmp_path)
    async with sessions() as session:
        before = (await cache.fingerprint(session), await service.read_version(session))
    await load_importer("hs")(
        sessions, shared_data / "hs/harmonized-system.csv", now=NOW
    )  # writes a snapshot
    async with sessions() as session:
        assert (await cache.fingerprint(session), await service.read_version(session)) == before
    service.forget_index(sessions.kw["bind"])
    assert (await warm_index_cached(sessions, folder))[1]  # still read back


async def test_a_rebuild_after_an_import_is_saved_for_the_next_start(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, tmp_path: Path
) -> None:
    folder = await curated_and_warmed(sessions, tmp_path)
    await load_ofac_subset(sessions, shared_data, tmp_path / "ofac", step=40)
    async with sessions() as session:
        rebuilt, _ = await service.get_index(session)  # the running bot notices the import and rebuilds
    service.forget_index(sessions.kw["bind"])
    names, from_disk = await warm_index_cached(sessions, folder)
    assert from_disk and names == rebuilt.size


async def test_a_damaged_file_is_replaced_by_the_next_build(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    folder = await curated_and_warmed(sessions, tmp_path)
    (saved,) = list(folder.iterdir())
    (saved / "meta.json").write_text("{not json", encoding="utf-8")
    service.forget_index(sessions.kw["bind"])
    assert not (await warm_index_cached(sessions, folder))[1]  # rebuilt, and saved again
    service.forget_index(sessions.kw["bind"])
    assert (await warm_index_cached(sessions, folder))[1]
