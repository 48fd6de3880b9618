"""OpenSanctions exports and delta files on the real samples."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.opensanctions import run_import
from db.ingest.opensanctions_ftm import stored_schema
from db.models import Designation, Entity, Relation, Source
from tests.ingest.entity_helpers import at, changes_by_kind, count, entity


async def test_simple_csv_of_ua_war_sanctions(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path
) -> None:
    path = shared_data / "opensanctions" / "ua_war_sanctions_2026-03-13" / "targets.simple.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    report = await run_import(sessions, path, now=at(0), dataset="ua_war_sanctions")
    assert report.rows_read == len(rows) == 5600
    async with sessions() as session:
        source = (await session.execute(select(Source))).scalar_one()
        assert (source.key, source.publisher) == ("opensanctions:ua_war_sanctions", "OpenSanctions")
        assert await count(session, Entity) == len(rows)
        assert dict(Counter((await session.execute(select(Entity.schema))).scalars())) == dict(
            Counter(r["schema"] for r in rows)
        )
        with_listing = [r for r in rows if r["program_ids"] or r["sanctions"].strip('"')]
        designated = set((await session.execute(select(Designation.entity_id))).scalars())
        assert len(designated) == len(with_listing)
        vessel = next(r for r in rows if r["schema"] == "Vessel" and ";" in r["aliases"])
        stored = await entity(session, "opensanctions:ua_war_sanctions", vessel["id"])
        assert stored.countries == sorted(vessel["countries"].split(";"))
    assert report.extra["data date"] == max(r["last_seen"] for r in rows)[:10]


async def test_ftm_entities_and_nested_targets(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path
) -> None:
    folder = shared_data / "opensanctions" / "zavod_export_wd_peps_sample"
    lines = [
        json.loads(line) for line in (folder / "entities.ftm.json").read_text(encoding="utf-8").splitlines()
    ]
    await run_import(sessions, folder / "entities.ftm.json", now=at(0))
    async with sessions() as session:
        assert await count(session, Entity) == sum(stored_schema(e["schema"]) for e in lines)
        families = [e for e in lines if e["schema"] == "Family"]
        assert await count(session, Relation, Relation.kind == "family") == len(families)
        assert await count(session, Relation, Relation.to_entity_id.is_(None)) == 0
        source_keys = set((await session.execute(select(Source.key))).scalars())
        assert source_keys == {"opensanctions:wd_persons"}
    nested = await run_import(sessions, folder / "targets.nested.json", now=at(1), dataset="wd_nested")
    targets = [
        json.loads(line) for line in (folder / "targets.nested.json").read_text(encoding="utf-8").splitlines()
    ]
    async with sessions() as session:
        stored = set(
            (
                await session.execute(
                    select(Entity.source_key).join(Source).where(Source.key == "opensanctions:wd_nested")
                )
            ).scalars()
        )
        assert {t["id"] for t in targets} <= stored
    assert nested.rows_read >= len(targets)


async def test_delta_versions_apply_in_order(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path
) -> None:
    fixtures = shared_data / "opensanctions" / "yente_fixtures"
    await run_import(sessions, fixtures / "t1", now=at(0), dataset="sanctions")
    versions = sorted(json.loads((fixtures / "t2" / "delta.json").read_text())["versions"])
    ops: Counter[str] = Counter()
    final: dict[str, str] = {}
    for version in versions:
        for line in (
            (fixtures / "t2" / version / "entities.delta.json").read_text(encoding="utf-8").splitlines()
        ):
            if line.strip():
                item = json.loads(line)
                ops[item["op"]] += 1
                final[item["entity"]["id"]] = item["op"]
    report = await run_import(sessions, fixtures / "t2", now=at(1), delta=True)
    assert report.extra["operations"] == f"ADD {ops['ADD']}, MOD {ops['MOD']}, DEL {ops['DEL']}"
    async with sessions() as session:
        found = await changes_by_kind(session, "opensanctions:sanctions")
        assert (len(found["added"]), len(found["amended"]), len(found["removed"])) == (
            ops["ADD"],
            ops["MOD"],
            ops["DEL"],
        )
        deleted = [key for key, op in final.items() if op == "DEL"]
        assert [c.entity_key for c in found["removed"]] == deleted
        assert (await entity(session, "opensanctions:sanctions", deleted[0])).active is False
        modified = await entity(session, "opensanctions:sanctions", found["amended"][0].entity_key)
        assert (
            modified.name in ("Foobar Foobargroup", "IRGC", "Iranian Revolutionary Guard Corps")
            or modified.active
        )
    again = await run_import(sessions, fixtures / "t2", now=at(2), delta=True)
    assert again.already_loaded
