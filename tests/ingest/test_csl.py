"""Consolidated Screening List: both CSV layouts and the API JSON (built here from the real CSV rows)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.csl import natural_key, run_import
from db.models import Designation, Entity
from tests.ingest.entity_helpers import at, count, entity

EXCERPTS = ("csl_2019-12_excerpt.csv", "consolidated_2025-06_excerpt.csv")


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("name", EXCERPTS)
async def test_csv_layouts_load_every_entry(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, name: str
) -> None:
    path = shared_data / "bis_csl" / "csl_excerpts" / name
    expected = rows(path)
    report = await run_import(sessions, path, now=at(0))
    assert report.rows_read == len(expected)
    async with sessions() as session:
        assert await count(session, Entity) == len({natural_key(r)[0] for r in expected})
        assert await count(session, Designation) == sum(
            max(1, len([p for p in r["programs"].split(";") if p.strip()])) for r in expected
        )


async def test_entity_list_row_keeps_its_listing_facts(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path
) -> None:
    path = shared_data / "bis_csl" / "csl_excerpts" / "consolidated_2025-06_excerpt.csv"
    await run_import(sessions, path, now=at(0))
    row = next(r for r in rows(path) if r["source"].startswith("Entity List"))
    async with sessions() as session:
        cetc = await entity(session, "csl", row["_id"])
        assert cetc.properties["federal_register_notice"] == "83 FR 37423; 87 FR 77505"
        assert cetc.properties["license_policy"].startswith("Policy of denial")
        assert len(cetc.properties["addresses"]) == 3 and cetc.countries == ["cn"]
        d = (await session.execute(select(Designation).where(Designation.entity_id == cetc.id))).scalar_one()
        assert (d.authority, d.list_name, str(d.listed_on), d.reference) == (
            "Bureau of Industry and Security",
            "Entity List (EL)",
            "2018-08-01",
            "83 FR 37423; 87 FR 77505",
        )
        assert d.details["license_requirement"].startswith("For all items subject to the EAR")
        rim = await entity(session, "csl", "52291")
        assert {
            "type": "Passport",
            "number": "836238033",
            "kind": "passport",
            "country": "kp",
        } in rim.properties["identifiers"]


def to_api_json(csv_rows: list[dict[str, str]]) -> dict[str, object]:
    """The trade.gov API `results` format, from real CSV rows (lists where the API has lists)."""

    def split(value: str) -> list[str]:
        return [v.strip() for v in value.split(";") if v.strip()]

    results = []
    for r in csv_rows:
        item: dict[str, object] = {k: (v or None) for k, v in r.items() if k not in ("_id",)}
        item["id"] = r.get("_id") or None
        item["programs"] = split(r["programs"])
        item["alt_names"] = split(r["alt_names"])
        item["addresses"] = [
            {
                "address": a.rsplit(",", 1)[0],
                "city": None,
                "state": None,
                "postal_code": None,
                "country": a.rsplit(",", 1)[-1].strip(),
            }
            for a in split(r["addresses"])
        ]
        item["ids"] = []
        for part in split(r["ids"]):
            bits = [b.strip() for b in part.split(",")]
            item["ids"].append(
                {
                    "type": bits[0],
                    "number": ", ".join(bits[1:-1] or bits[1:]),
                    "country": bits[-1] if len(bits) > 2 else None,
                }
            )
        results.append(item)
    return {"total": len(results), "results": results}


async def test_json_api_format_gives_the_same_entries(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, tmp_path: Path
) -> None:
    path = shared_data / "bis_csl" / "csl_excerpts" / "consolidated_2025-06_excerpt.csv"
    csv_rows = rows(path)
    api = tmp_path / "consolidated.json"
    api.write_text(json.dumps(to_api_json(csv_rows)), encoding="utf-8")
    report = await run_import(sessions, api, now=at(0))
    assert report.rows_read == len(csv_rows)
    async with sessions() as session:
        names = set((await session.execute(select(Entity.name))).scalars())
        assert names == {r["name"] for r in csv_rows}
        rim = await entity(session, "csl", "52291")
        assert rim.countries == ["cn", "kp"]
        assert rim.properties["identifiers"][0] == {
            "type": "Passport",
            "number": "836238033",
            "kind": "passport",
            "country": "kp",
        }


async def test_entity_list_rows_sharing_name_and_notice_are_one_entry(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, tmp_path: Path
) -> None:
    path = shared_data / "bis_csl" / "csl_excerpts" / "csl_2019-12_excerpt.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    el = next(line for line in lines if line.startswith("Entity List (EL)") and "32 Group" in line)
    second = el.replace("Room 1905, 19/F", "Unit 7 (second address row)")
    made = tmp_path / "csl.csv"  # real header and row; the second row differs only in its address
    made.write_text(lines[0] + el + second, encoding="utf-8")
    report = await run_import(sessions, made, now=at(0))
    assert report.rows_read == 2
    async with sessions() as session:
        (only,) = (await session.execute(select(Entity))).scalars().all()
        assert only.source_key.startswith("h:")
        assert len(only.properties["addresses"]) == 3  # 2 in the real row + 1 new from the second row


async def test_partial_excerpts_do_not_delist_each_other(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path
) -> None:
    folder = shared_data / "bis_csl" / "csl_excerpts"
    await run_import(sessions, folder / EXCERPTS[0], now=at(0), partial=True)
    second = await run_import(sessions, folder / EXCERPTS[1], now=at(1), partial=True)
    assert " 0 removed" in second.extra["changes"]
    async with sessions() as session:
        assert await count(session, Entity, Entity.active.is_(False)) == 0
