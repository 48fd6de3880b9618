"""The fast paths of the entity load: COPY on PostgreSQL stores what INSERT stores, and rolls back with the
import; the per-value shortcuts of the OFAC normalisation give the answers of the general code."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Table, Text, cast, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import db.ingest.changes as changes_module
from db.ingest import ofac_remarks
from db.ingest.base import IngestReport
from db.ingest.entity_records import dedupe, stable_hash
from db.ingest.entity_store import DESIGNATIONS, ENTITIES, insert_entities, insert_rows, script_of
from db.ingest.ofac import NORMALISER_VERSION, parse_csv, run_import, stub_hash
from db.ingest.ofac_remarks import parse_remarks
from db.models import ListChange, Snapshot, Source
from db.names import detect_script
from tests.ingest.entity_helpers import at, ofac_rows, table_counts


async def _source_and_snapshot(session: AsyncSession) -> tuple[int, int]:
    source = Source(key="bulk_test", title="bulk test", publisher="tests")
    session.add(source)
    await session.flush()
    snapshot = Snapshot(source_id=source.id, sha256="0" * 64, file_name="f", fetched_at=at(0))
    session.add(snapshot)
    await session.flush()
    return source.id, snapshot.id


def _entity(source_id: int, snapshot_id: int, key: str, countries: list[str] | None) -> dict[str, object]:
    return {
        "source_id": source_id,
        "source_key": key,
        "snapshot_id": snapshot_id,
        "schema": "Organization",
        "name": f"NAME {key}",
        "countries": countries,
        "properties": {"list": "x", "programs": ["A", "B"], "remarks": "é ü 中", "none": None},
        "content_hash": key * 4,
        "active": True,
    }


async def test_bulk_rows_are_stored_as_core_insert_stores_them(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        source_id, snapshot_id = await _source_and_snapshot(session)
        ids = await insert_entities(
            session, [_entity(source_id, snapshot_id, k, c) for k, c in (("1", ["ru"]), ("2", None))]
        )
        assert sorted(ids) == ["1", "2"]
        (core_id,) = (
            await session.execute(
                insert(ENTITIES).returning(ENTITIES.c.id), [_entity(source_id, snapshot_id, "3", None)]
            )
        ).one()
        designation = {
            "authority": "OFAC",
            "list_name": "SDN List",
            "program": None,
            "listed_on": dt.date(2024, 5, 1),
            "reference": None,
            "source_url": "https://example.org",
        }
        await insert_rows(
            session,
            DESIGNATIONS,
            [
                {"entity_id": ids["1"], **designation, "details": None},
                {"entity_id": ids["2"], **designation, "details": {"b": [1, "x"], "a": None}},
            ],
        )
        await session.execute(
            insert(DESIGNATIONS),
            [
                {"entity_id": core_id, **designation, "details": None},
                {"entity_id": core_id, **designation, "details": {"b": [1, "x"], "a": None}},
            ],
        )

    async with sessions() as session:
        entities = (await session.execute(select(*_raw(ENTITIES)).order_by(ENTITIES.c.id))).mappings().all()
        designations = (await session.execute(select(*_raw(DESIGNATIONS)).order_by(DESIGNATIONS.c.id))).all()
    # The COPY rows read back exactly as the INSERT rows: JSON text (None as JSON null), dates, booleans.
    same = ("snapshot_id", "schema", "countries", "properties", "active")
    assert [entities[1][c] for c in same] == [entities[2][c] for c in same]
    assert entities[1]["countries"] == "null"  # None is stored as JSON null, not SQL NULL
    assert entities[1]["properties"] == json.dumps(_entity(0, 0, "3", None)["properties"])
    assert entities[0]["countries"] == '["ru"]'
    assert [tuple(r)[1:] for r in designations[:2]] == [tuple(r)[1:] for r in designations[2:]]
    assert designations[0][-1] == "null"


def _raw(table: Table) -> list[Any]:
    """Every column but the id, JSON columns as their stored text."""
    return [cast(c, Text).label(c.name) if isinstance(c.type, JSON) else c for c in table.c if c.name != "id"]


async def test_failing_hook_rolls_back_added_entities(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """296 entries added (COPY on PostgreSQL), then the hook fails: nothing of the import stays."""
    snapshots = shared_data / "ofac" / "sdn_snapshots"
    await run(sessions, snapshots / "2022-09-29", 0)

    async def failing(session: AsyncSession, changes: list[ListChange]) -> None:
        raise RuntimeError("outbox down")

    monkeypatch.setattr(changes_module, "ON_CHANGES", [failing])
    before = await table_counts(sessions)
    with pytest.raises(RuntimeError):
        await run(sessions, snapshots / "2022-09-30", 1)
    assert await table_counts(sessions) == before
    monkeypatch.setattr(changes_module, "ON_CHANGES", [])
    report = await run(sessions, snapshots / "2022-09-30", 2)
    assert report.extra["changes"] == "296 added, 0 removed, 20 amended"
    assert ofac_remarks._classify.cache_info().currsize == 0  # the facts cache is emptied after an import


async def run(sessions: async_sessionmaker[AsyncSession], folder: Path, hours: int) -> IngestReport:
    return await run_import(sessions, folder, now=at(hours), data_date=folder.name)


def test_script_of_is_detect_script(shared_data: Path) -> None:
    names = [row[1] for row in ofac_rows(shared_data / "ofac" / "sdn_snapshots" / "2024-05-01" / "sdn.csv")]
    names += [row[3] for row in ofac_rows(shared_data / "ofac" / "sdn_full_2021-07" / "alt.csv")]
    names += ["", "123", "-", "Ромашка", "中国保利集团", "株式会社東芝", "Évren", "ООО Sа", "محمد", "1 a"]
    assert [script_of(n) for n in names] == [detect_script(n) for n in names]


def _json_dedupe(values: list[object]) -> list[object]:
    seen: set[str] = set()
    out = []
    for value in values:
        marker = json.dumps(value, sort_keys=True, default=str)
        if marker not in seen:
            seen.add(marker)
            out.append(value)
    return out


@pytest.mark.parametrize(
    "values",
    [
        [("A", "aka"), ["A", "aka"], ("A", "fka"), ("A",), "A", ["A"]],
        [{"type": "x", "number": "1"}, {"number": "1", "type": "x"}, {"type": "x", "number": 1}],
        [{"a": None}, {"a": "None"}, {"a": None}, 1, True, "1", 1.0, None, "null"],
        [{"a": ["x"]}, {"a": ("x",)}, [("x", "y")], [["x", "y"]], dt.date(2024, 1, 1), "2024-01-01"],
    ],
)
def test_dedupe_is_by_json_form(values: list[object]) -> None:
    assert dedupe(values) == _json_dedupe(values)


def test_stub_hash_is_the_stable_hash_of_the_part_hashes(shared_data: Path) -> None:
    parsed = parse_csv(shared_data / "ofac" / "sdn_full_2021-07", "ofac_sdn", None)
    for record in parsed.records[:50]:
        assert record.cached_hash == stable_hash([NORMALISER_VERSION, "ofac_sdn", record.part_hashes])
    assert stub_hash("ofac_cons", {"main": "ab", "add": "cd"}) == stable_hash(
        [NORMALISER_VERSION, "ofac_cons", {"main": "ab", "add": "cd"}]
    )


def test_a_repeated_fact_gives_each_entry_its_own_identifier() -> None:
    text = "Registration Number 1401029 (Hong Kong); Gender Male."
    first, second = parse_remarks(text), parse_remarks(text)
    assert first.identifiers == second.identifiers and first.identifiers[0] is not second.identifiers[0]
    first.identifiers[0]["number"] = "changed"
    assert parse_remarks(text).identifiers[0]["number"] == "1401029"
