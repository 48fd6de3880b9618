"""Entity data for search and /entity tests, loaded through the real importers.

- `ofac_subset` writes a smaller OFAC CSV set into a temporary folder: whole, unmodified lines of the
  real 2024-05-01 `sdn.csv` and the 2026-06 `alt.csv`/`add.csv` (CRLF and the final 0x1A kept), for the
  story's entries (SINNO ELECTRONICS, KING-PAI TECHNOLOGY, RADIOAVTOMATIKA and every entry linked to it)
  and every `step`-th other entry. Loading a few thousand real entries keeps the suite fast on both
  databases while the distractors stay real.
- `load_test_records` loads HAND-MADE records through the entity store under a source called
  `curated`, for what the real files lack (same_as links, a Chinese name, a second source of SINNO).
  Their names echo the story, but every fact and citation in them is a test fixture, marked as such.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest import ofac
from db.ingest.base import IngestReport
from db.ingest.entity_import import ParsedSnapshot, SourceSpec, run_entity_import
from db.ingest.entity_records import EntityRecord, RelationRecord
from db.models import Entity, ReportedFigure, Shipment, Snapshot, Source

NOW = dt.datetime(2024, 5, 2, 12, 0, tzinfo=dt.UTC)
SDN = Path("ofac/sdn_snapshots/2024-05-01/sdn.csv")
ALT = Path("ofac/sdn_add_alt_2026-06/alt.csv")
ADD = Path("ofac/sdn_add_alt_2026-06/add.csv")
STORY = {"38641", "41861", "35348"}  # SINNO ELECTRONICS, KING-PAI TECHNOLOGY HK, RADIOAVTOMATIKA
TEST_CITATION = {"publisher": "Tradewatch test suite", "title": "hand-made test record (not a real fact)"}


def _lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().rstrip(b"\x1a").split(b"\r\n") if line]


def ofac_subset(shared_data: Path, folder: Path, step: int = 8) -> set[str]:
    """Write sdn.csv/alt.csv/add.csv holding the story's entries and every `step`-th other one.

    Returns:
        The ent_nums written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    sdn = _lines(shared_data / SDN)
    keep: list[bytes] = []
    for i, line in enumerate(sdn):
        ent_num = line.split(b",", 1)[0].decode()
        if ent_num in STORY or b"Linked To: RADIOAVTOMATIKA" in line or i % step == 0:
            keep.append(line)
    ent_nums = {line.split(b",", 1)[0].decode() for line in keep}
    for name, rows in (
        ("sdn.csv", keep),
        ("alt.csv", _lines(shared_data / ALT)),
        ("add.csv", _lines(shared_data / ADD)),
    ):
        chosen = [r for r in rows if r.split(b",", 1)[0].decode() in ent_nums]
        (folder / name).write_bytes(b"\r\n".join(chosen) + b"\r\n\x1a")
    return ent_nums


async def load_ofac_subset(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, folder: Path, step: int = 8
) -> IngestReport:
    """Write the subset and import it with the real OFAC importer."""
    ofac_subset(shared_data, folder, step)
    return await ofac.run_import(sessions, folder, now=NOW, data_date="2024-05-01")


def hand_made_records() -> list[EntityRecord]:
    """Hand-made records (test fixtures, not facts): a group with a Chinese name, a subsidiary, a same_as."""
    return [
        EntityRecord(
            key="test-poly-group",
            schema="Company",
            name="China Poly Group Corporation",
            countries=["cn"],
            aliases=[("中国保利集团有限公司", "aka")],
            properties={"notes": [{"text": "hand-made test record", "citation": TEST_CITATION}]},
            relations=[
                RelationRecord(
                    "subsidiary",
                    "Poly Technologies Inc",
                    to_key="curated:test-poly-tech",
                    details={"role": "subsidiary"},
                    citation=TEST_CITATION,
                )
            ],
        ),
        EntityRecord(key="test-poly-tech", schema="Company", name="Poly Technologies Inc", countries=["cn"]),
        EntityRecord(
            key="test-sinno",
            schema="Company",
            name="Sinno Electronics Co., Ltd.",
            countries=["hk"],
            properties={
                "identifiers": [{"type": "Registration Number", "number": "1401029", "country": "hk"}]
            },
        ),
        EntityRecord(
            key="test-kingpai-same",
            schema="Company",
            name="金牌科技（香港）有限公司",
            countries=["hk"],
            relations=[
                RelationRecord(
                    "same_as",
                    "KING-PAI TECHNOLOGY HK CO., LIMITED",
                    to_key="ofac_sdn:41861",
                    citation=TEST_CITATION,
                )
            ],
        ),
    ]


async def load_test_records(sessions: async_sessionmaker[AsyncSession]) -> IngestReport:
    """Load `hand_made_records()` as the `curated` source, plus test shipments and a figure about Poly."""
    parsed = ParsedSnapshot(records=hand_made_records(), rows_read=4, data_date="2024-05-02")
    report = await run_entity_import(
        sessions,
        SourceSpec("curated"),
        lambda: parsed,
        sha256="t" * 64,
        file_name="test-records.yml",
        now=NOW,
    )
    async with sessions() as session, session.begin():
        await _add_shipments(session)
    return report


async def _add_shipments(session: AsyncSession) -> None:
    source = (await session.execute(select(Source).where(Source.key == "curated"))).scalar_one()
    snapshot = (await session.execute(select(Snapshot).where(Snapshot.source_id == source.id))).scalar_one()
    poly = (
        await session.execute(select(Entity.id).where(Entity.source_key == "test-poly-tech"))
    ).scalar_one()
    rows = [
        ("2021-03-01", "854231", 1000.0),
        ("2021-06-01", "854231", 2500.0),
        ("2022-01-15", "281820", None),
    ]
    for i, (day, hs, value) in enumerate(rows):
        session.add(
            Shipment(
                source_id=source.id,
                snapshot_id=snapshot.id,
                source_key=f"test-ship-{i}",
                date=dt.date.fromisoformat(day),
                exporter_name="Poly Technologies Inc",
                exporter_entity_id=poly,
                importer_name="Test Importer (hand-made)",
                hs_code=hs,
                value_usd=value,
                citation=TEST_CITATION,
            )
        )
    session.add(
        ReportedFigure(
            source_id=source.id,
            snapshot_id=snapshot.id,
            source_key="test-fig-1",
            subject="China Poly Group Corporation",
            statement="A hand-made test figure.",
            value=281,
            unit="transactions",
            citation=TEST_CITATION,
        )
    )
