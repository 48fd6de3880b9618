"""HS nomenclature import on the real file (SQLite and PostgreSQL): counts, idempotency, upserts, rollback, sync."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest import hs
from db.ingest.base import ImportFailed
from db.sources import SourceSettings
from db.sync.runner import sync_source
from db.sync.steps import SyncContext
from tests.db.sync.source_server import SourceServer
from tests.ingest.conftest import HS_TABLE, NOW, hs_rows, snapshot_count


@pytest.fixture
def hs_file(shared_data: Path) -> Path:
    return shared_data / HS_TABLE


async def test_real_file_loads_every_code(sessions: async_sessionmaker[AsyncSession], hs_file: Path) -> None:
    expected = pd.read_csv(hs_file, dtype=str, keep_default_na=False)
    report = await hs.run_import(sessions, hs_file, now=NOW)
    rows = {r[0]: r for r in await hs_rows(sessions)}
    assert report.rows_read == report.rows_loaded == len(expected) == len(rows)
    assert report.rows_skipped == 0
    for code, level, description in expected[["hscode", "level", "description"]].itertuples(index=False):
        stored = rows[code]
        assert stored[2] == description.strip()  # surrounding spaces are trimmed
        assert stored[1] == (0 if code == "TOTAL" else int(level))
    assert rows["854231"][1:] == (6, expected.set_index("hscode").loc["854231", "description"], "8542", "XVI")
    assert rows["85"][3] is None  # chapters: the file's parent "TOTAL" is stored as no parent
    assert rows["TOTAL"][1:] == (0, "Total of all HS2022 commodities", None, None)


async def test_same_file_twice_changes_nothing(
    sessions: async_sessionmaker[AsyncSession], hs_file: Path
) -> None:
    await hs.run_import(sessions, hs_file, now=NOW)
    before, snaps = await hs_rows(sessions), await snapshot_count(sessions)
    again = await hs.run_import(sessions, hs_file, now=NOW)
    assert again.already_loaded and "already loaded" in again.summary()
    assert await hs_rows(sessions) == before and await snapshot_count(sessions) == snaps


def _edited_copy(hs_file: Path, tmp_path: Path) -> Path:
    """The real file with one description changed, one code dropped and one added (edits made for this test)."""
    rows = list(csv.reader(hs_file.open(encoding="utf-8")))
    for row in rows:
        if row[1] == "854231":
            row[2] = row[2] + " (edited for this test)"
    rows = [r for r in rows if r[1] != "010121"]
    rows.append(["XVI", "854299", "Invented for this test: not an HS code", "8542", "6"])
    out = tmp_path / "harmonized-system.csv"
    with out.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return out


async def test_newer_file_upserts(
    sessions: async_sessionmaker[AsyncSession], hs_file: Path, tmp_path: Path
) -> None:
    await hs.run_import(sessions, hs_file, now=NOW)
    report = await hs.run_import(sessions, _edited_copy(hs_file, tmp_path), now=NOW)
    assert report.rows_loaded == 2 and report.rows_unchanged == report.rows_read - 2
    assert report.extra == {"codes kept that this file no longer lists": "1"}
    rows = {r[0]: r for r in await hs_rows(sessions)}
    assert rows["854231"][2].endswith("(edited for this test)")
    assert rows["854299"][1] == 6 and "010121" in rows


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "bad.csv"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


HEADER = "section,hscode,description,parent,level\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "bad.csv is empty"),
        ("code,description\n01,Animals\n", "missing column"),
        (
            HEADER + "I,01,Animals; live,TOTAL,2\nI,0101,Horses,01,4\nI,010121,Horses; pure",
            "line 4: expected 5 fields",
        ),
        (HEADER + 'I,01,"Animals; live,TOTAL,2\n', "unexpected end of data"),
        (HEADER + "I,0101,Horses,01,6\n", "line 2: code '0101' is not a 6-digit HS code"),
        (HEADER + "I,010121,Horses,0102,6\n", "line 2: code 010121 has parent '0102', expected 0101"),
        (HEADER + "I,01,Animals,TOTAL,3\n", "level '3' is not 2, 4 or 6"),
        (HEADER + "I,01,,TOTAL,2\n", "empty description"),
        (HEADER + "I,01,Animals,TOTAL,2\nI,01,Animals,TOTAL,2\n", "line 3: code 01 is listed twice"),
        (
            (HEADER + "I,01,Animaux vivants: b\u00eates,TOTAL,2\n").encode("latin-1"),
            "line 2: byte 0xea is not valid utf-8",
        ),
    ],
)
async def test_malformed_file_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
    hs_file: Path,
    tmp_path: Path,
    content: str | bytes,
    message: str,
) -> None:
    await hs.run_import(sessions, hs_file, now=NOW)
    before, snaps = await hs_rows(sessions), await snapshot_count(sessions)
    with pytest.raises(ImportFailed, match=message):
        await hs.run_import(sessions, _write(tmp_path, content), now=NOW)
    assert await hs_rows(sessions) == before and await snapshot_count(sessions) == snaps


# --- tradewatch sync hs (db/sync, fetched through db.ingest.fetch) against a local server -------------------

PATH = "/datasets/harmonized-system/main/data/harmonized-system.csv"


async def test_sync_200_then_304_then_newer_then_errors(
    sync_ctx: SyncContext, source_server: SourceServer, hs_file: Path, tmp_path: Path
) -> None:
    settings = SourceSettings(urls=(source_server.serve_file(PATH, hs_file),))
    first = await sync_source(sync_ctx, "hs", settings)
    assert first.outcome == "imported" and first.reports[0].rows_loaded == 6940
    assert (await sync_source(sync_ctx, "hs", settings)).outcome == "unchanged"

    source_server.serve_bytes(
        PATH, _edited_copy(hs_file, tmp_path).read_bytes(), last_modified="Fri, 01 Nov 2024 00:00:00 GMT"
    )
    newer = await sync_source(sync_ctx, "hs", settings)
    assert newer.outcome == "imported" and newer.reports[0].rows_loaded == 2
    state = await hs_rows(sync_ctx.sessions)

    for mode in ("error", "html", "truncate"):
        source_server.serve_bytes(PATH, hs_file.read_bytes(), mode=mode)
        failed = await sync_source(sync_ctx, "hs", settings)
        assert failed.outcome == "failed" and "nothing was changed" in failed.message
    source_server.serve_bytes(
        PATH, (HEADER + "I,0101,Horses,01,6\n").encode(), last_modified="Sat, 02 Nov 2024 00:00:00 GMT"
    )
    broken = await sync_source(sync_ctx, "hs", settings)
    assert broken.outcome == "failed" and "is not a 6-digit HS code" in broken.message
    assert await hs_rows(sync_ctx.sessions) == state
    assert source_server.fetched(PATH) == [200, 304, 200, 500, 200, 200, 200]
