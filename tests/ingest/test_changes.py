"""Change detection between real snapshots: added, removed (delisted, row kept) and amended entries."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest import changes as changes_module
from db.ingest.base import IngestReport
from db.ingest.ofac import run_import
from db.models import Designation, ListChange, Relation
from tests.ingest.entity_helpers import at, changes_by_kind, count, entity, ofac_rows, table_counts


async def check_sinno(sessions: async_sessionmaker[AsyncSession], folder: Path, report: IngestReport) -> None:
    """SINNO ELECTRONICS (2022-09-30): its Linked To relation, Hong Kong registration, program; counts."""
    rows = ofac_rows(folder / "sdn.csv")
    assert report.rows_read == len(rows) == 10_875
    async with sessions() as session:
        assert await count(session, Designation) == sum(len(r[3].split("] [")) for r in rows)
        sinno = await entity(session, "ofac_sdn", "38641")
        assert sinno.name == "SINNO ELECTRONICS CO., LIMITED" and sinno.schema == "Organization"
        assert sinno.countries == ["hk"]
        assert {
            "type": "Registration Number",
            "number": "1401029",
            "kind": "registration",
            "country": "hk",
            "country_name": "Hong Kong",
        } in sinno.properties["identifiers"]
        assert sinno.properties["established"] == ["2009-12-11"]
        programs = (
            await session.execute(
                select(Designation.program, Designation.authority, Designation.list_name).where(
                    Designation.entity_id == sinno.id
                )
            )
        ).all()
        assert programs == [("RUSSIA-EO14024", "U.S. Treasury OFAC", "SDN List")]
        link = (
            await session.execute(select(Relation).where(Relation.from_entity_id == sinno.id))
        ).scalar_one()
        assert (link.kind, link.to_name) == ("linked_to", "RADIOAVTOMATIKA LLC")
        radio = [r for r in rows if r[1] == "RADIOAVTOMATIKA LLC"]
        assert len(radio) == 1 and link.to_entity_id == (await entity(session, "ofac_sdn", radio[0][0])).id


def expected_diff(old: Path, new: Path) -> tuple[set[str], set[str], set[str]]:
    """(added, removed, amended) ent_nums computed straight from the two files."""
    before = {r[0]: r for r in ofac_rows(old)}
    after = {r[0]: r for r in ofac_rows(new)}
    amended = {k for k in before.keys() & after.keys() if before[k] != after[k]}
    return after.keys() - before.keys(), before.keys() - after.keys(), amended


async def test_sdn_2022_09_29_to_30(sessions: async_sessionmaker[AsyncSession], shared_data: Path) -> None:
    snapshots = shared_data / "ofac" / "sdn_snapshots"
    first = await run_import(sessions, snapshots / "2022-09-29", now=at(0), data_date="2022-09-29")
    assert "baseline" in first.extra["changes"]
    second = await run_import(sessions, snapshots / "2022-09-30", now=at(1), data_date="2022-09-30")
    await check_sinno(sessions, snapshots / "2022-09-30", second)
    added, removed, amended = expected_diff(
        snapshots / "2022-09-29" / "sdn.csv", snapshots / "2022-09-30" / "sdn.csv"
    )
    assert (len(added), len(removed), len(amended)) == (296, 0, 20)
    async with sessions() as session:
        found = await changes_by_kind(session, "ofac_sdn")
        assert {c.entity_key for c in found["added"]} == added
        assert found["removed"] == []
        assert {c.entity_key for c in found["amended"]} == amended
        sinno = next(c for c in found["added"] if c.entity_key == "38641")
        assert sinno.details["countries"] == ["hk"] and sinno.details["programs"] == ["RUSSIA-EO14024"]
        assert all(c.details["changed"] for c in found["amended"])
    assert second.extra["changes"] == "296 added, 0 removed, 20 amended"
    again = await run_import(sessions, snapshots / "2022-09-30", now=at(2))
    assert again.already_loaded
    async with sessions() as session:
        assert sum(map(len, (await changes_by_kind(session, "ofac_sdn")).values())) == 316


async def test_sdn_2024_04_26_to_05_01(sessions: async_sessionmaker[AsyncSession], shared_data: Path) -> None:
    snapshots = shared_data / "ofac" / "sdn_snapshots"
    await run_import(sessions, snapshots / "2024-04-26", now=at(0))
    await run_import(sessions, snapshots / "2024-05-01", now=at(1))
    added, removed, amended = expected_diff(
        snapshots / "2024-04-26" / "sdn.csv", snapshots / "2024-05-01" / "sdn.csv"
    )
    async with sessions() as session:
        found = await changes_by_kind(session, "ofac_sdn")
    assert len(found["added"]) == len(added) == 298
    assert {c.entity_key for c in found["added"]} == added and not removed and not amended
    assert found["removed"] == found["amended"] == []


async def test_non_sdn_delisting_keeps_the_row_inactive(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path
) -> None:
    ofac = shared_data / "ofac"
    await run_import(sessions, ofac / "nonsdn_consolidated_2025-04", now=at(0))
    report = await run_import(sessions, ofac / "nonsdn_consolidated_2025-12", now=at(1))
    async with sessions() as session:
        found = await changes_by_kind(session, "ofac_cons")
        assert [(c.entity_key, c.name) for c in found["removed"]] == [("26182", "KAYAKIRAN, Evren")]
        delisted = await entity(session, "ofac_cons", "26182")
        assert delisted.active is False
        facts = found["removed"][0].details
        assert (facts["schema"], facts["programs"], facts["delisted"]) == ("Person", ["FSE-IR"], True)
        assert facts["countries"] == delisted.countries
        # 2025-12 adds cons_alt.csv and cons_comments.csv: only what both snapshots had is compared
        _, _, amended = expected_diff(
            ofac / "nonsdn_consolidated_2025-04" / "cons_prim.csv",
            ofac / "nonsdn_consolidated_2025-12" / "cons_prim.csv",
        )
        assert {c.entity_key for c in found["amended"]} == amended and len(amended) == 12
        assert found["added"] == []
    assert report.extra["changes"] == "0 added, 1 removed, 12 amended"


async def test_hooks_run_in_the_transaction_and_a_failing_hook_rolls_back(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ofac = shared_data / "ofac"
    await run_import(sessions, ofac / "nonsdn_consolidated_2025-04", now=at(0))
    seen: list[list[ListChange]] = []

    async def failing(session: AsyncSession, changes: list[ListChange]) -> None:
        seen.append(changes)
        assert all(c.id is not None for c in changes)
        raise RuntimeError("outbox down")

    monkeypatch.setattr(changes_module, "ON_CHANGES", [failing])
    before = await table_counts(sessions)
    with pytest.raises(RuntimeError):
        await run_import(sessions, ofac / "nonsdn_consolidated_2025-12", now=at(1))
    assert len(seen[0]) == 13
    assert await table_counts(sessions) == before

    recorded: list[int] = []

    async def counting(session: AsyncSession, changes: list[ListChange]) -> None:
        recorded.append(len(changes))

    monkeypatch.setattr(changes_module, "ON_CHANGES", [counting])
    await run_import(sessions, ofac / "nonsdn_consolidated_2025-12", now=at(2))
    assert recorded == [13]
