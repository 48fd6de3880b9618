"""The demo's screening sheet: built from the loaded SDN list at run time, screened end to end."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli.demo_screen import LISTED_ROWS, SHEET_NAME, UNLISTED, screen_demo_sheet
from db.lookups import Lookups
from tests.db.entity_seed import load_ofac_subset


async def test_the_demo_sheet_finds_its_listed_companies_and_no_unlisted_firm(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path, tmp_path: Path
) -> None:
    await load_ofac_subset(sessions, shared_data, tmp_path / "ofac", step=4)
    async with sessions() as session:
        note, reply = await screen_demo_sheet(session, lookups, tmp_path)
    assert "built for the demo" in note and "OFAC SDN" in note
    sheet = list(csv.DictReader(io.StringIO((tmp_path / SHEET_NAME).read_text(encoding="utf-8"))))
    assert len(sheet) == LISTED_ROWS + len(UNLISTED)
    [attachment] = reply.attachments
    out = list(csv.DictReader(io.StringIO(attachment.data.decode("utf-8-sig"))))
    assert [r["consignee"] for r in out] == [r["consignee"] for r in sheet]
    unlisted = {name for name, _ in UNLISTED}
    for row in out:
        if row["consignee"] in unlisted:
            assert row["verdict"] != "match", row
        else:  # a listed name as written in the list, only in title case: found as itself
            assert row["verdict"] == "match", row
            assert row["matched_name"].casefold() == row["consignee"].casefold() or row["score"] == "100", row
    assert "match" in reply.to_text()
