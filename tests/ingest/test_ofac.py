"""OFAC importer on the real files: counts match the files, remarks become facts, XML is read safely."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.ofac import run_import
from db.models import EntityName, Snapshot
from tests.ingest.entity_helpers import at, count, entity, ofac_rows


async def test_full_set_with_aliases_addresses_and_comment_overflow(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path
) -> None:
    folder = shared_data / "ofac" / "nonsdn_consolidated_2025-12"
    report = await run_import(sessions, folder, now=at(0))
    prim, add, alt, comments = (
        ofac_rows(folder / f"cons_{n}.csv") for n in ("prim", "add", "alt", "comments")
    )
    assert report.rows_read == len(prim) + len(add) + len(alt) + len(comments)
    async with sessions() as session:
        assert await count(session, EntityName, EntityName.kind != "primary") >= len(
            {(r[0], r[3]) for r in alt}
        )
        overflow = comments[0]
        stored = await entity(session, "ofac_cons", overflow[0])
        main = next(r for r in prim if r[0] == overflow[0])
        assert stored.properties["remarks"] == main[11] + overflow[1]
        with_address = next(r for r in add if r[4].strip() != "-0-")
        holder = await entity(session, "ofac_cons", with_address[0])
        assert any(a.get("country_name") == with_address[4] for a in holder.properties["addresses"])
        snapshot = (await session.execute(select(Snapshot))).scalar_one()
        assert snapshot.data_date is None and snapshot.meta["parts"] == ["add", "alt", "comments"]
    assert "data date: unknown" in report.summary()


async def test_xml_form_reads_publish_date_and_every_entry(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path
) -> None:
    path = shared_data / "ofac" / "nonsdn_consolidated_2018-05" / "consolidated.xml"
    text = path.read_text(encoding="utf-8")
    report = await run_import(sessions, path, now=at(0), data_date=None)
    assert report.rows_read == text.count("<sdnEntry>") == 639
    async with sessions() as session:
        snapshot = (await session.execute(select(Snapshot))).scalar_one()
        assert snapshot.data_date == "2018-04-06"
        bank = await entity(session, "ofac_cons", "4632")
        assert bank.name == "BANK MARKAZI JOMHOURI ISLAMI IRAN"
        assert any(a.get("country") == "ir" for a in bank.properties["addresses"])
        names = set(
            (await session.execute(select(EntityName.name).where(EntityName.entity_id == bank.id))).scalars()
        )
        assert "CENTRAL BANK OF IRAN" in names
        vessels = len(re.findall(r"<sdnType>Vessel</sdnType>", text))
        from db.models import Entity

        assert await count(session, Entity, Entity.schema == "Vessel") == vessels


async def test_add_and_alt_without_sdn_csv_are_refused_with_the_reason(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path
) -> None:
    import pytest

    from db.ingest.base import ImportFailed

    with pytest.raises(ImportFailed, match="no sdn.csv"):
        await run_import(sessions, shared_data / "ofac" / "sdn_add_alt_2026-06", now=at(0))
