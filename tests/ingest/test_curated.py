"""The team's curated files: the starter file's facts, line-numbered errors, and the import."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.base import ImportFailed
from db.ingest.curated import check, run_import
from db.models import EntityName, Relation, ReportedFigure, Shipment
from db.sources import load_importer
from tests.ingest.entity_helpers import at, entity, table_counts

STARTER = Path(__file__).resolve().parents[2] / "db" / "curated"

GOOD = """\
citations:
  wsj:
    publisher: The Wall Street Journal
    title: A title
    date: 2022-07-15
    url: https://www.wsj.com/x
entities:
  - id: acme
    name: Acme Trading
    type: Company
    cite: [wsj]
"""


def test_starter_file_is_valid_and_every_fact_is_cited() -> None:
    parsed, errors = check(STARTER)
    assert errors == []
    ((_, model),) = parsed
    assert {e.id for e in model.entities} >= {
        "china-poly-group",
        "poly-technologies",
        "connec-electronic",
        "king-pai-technology",
        "sinno-electronics",
        "winninc-electronic",
        "world-jetta-logistics",
    }
    c4ads = next(f for f in model.figures if f.value == 281)
    assert c4ads.period == "2014/2022" and model.citations[c4ads.cite[0]].publisher == "C4ADS"
    assert len(model.shipments) < 281  # the 281 are a reported figure, not invented shipments
    for citation in model.citations.values():
        assert citation.url.startswith("https://") and (citation.date or citation.note)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (GOOD.replace("    cite: [wsj]\n", ""), 8, "entities[0].cite: Field required"),
        (GOOD.replace("cite: [wsj]", "cite: [ft]"), 11, "unknown citation 'ft'"),
        (
            GOOD.replace("    type: Company\n", "    type: Company\n    countries: [xx]\n"),
            11,
            "not an ISO 3166",
        ),
        (GOOD.replace("    date: 2022-07-15\n", ""), 2, "needs a date"),
        (GOOD.replace("    title: A title\n", "    title: A title\n    title: Twice\n"), 5, "appears twice"),
        (GOOD.replace("type: Company", "type: Compny"), 10, "entities[0].type"),
        (
            GOOD + "relations:\n  - from: acme\n    to: nobody\n    kind: ownership\n    cite: [wsj]\n",
            14,
            "relations[0].to",
        ),
        (GOOD.replace("  - id: acme", "  - id: acme\n    colour: red"), 9, "Extra inputs are not permitted"),
        ("entities: [\n", 2, "not valid YAML"),
    ],
)
def test_errors_name_file_line_and_field(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "facts.yml"
    path.write_text(text, encoding="utf-8")
    _, errors = check(tmp_path)
    assert any(e.startswith(f"{path}:{line}:") and message in e for e in errors), errors


def test_curate_check_command_exit_codes(tmp_path: Path) -> None:
    from bot.cli import cli

    runner = CliRunner()
    ok = runner.invoke(cli, ["curate", "check", str(STARTER)])
    assert ok.exit_code == 0 and "all cited" in ok.output
    (tmp_path / "bad.yml").write_text(GOOD.replace("cite: [wsj]", "cite: []"), encoding="utf-8")
    bad = runner.invoke(cli, ["curate", "check", str(tmp_path)])
    assert bad.exit_code == 1 and "bad.yml:11: entities[0].cite" in bad.output


async def test_import_starter_then_link_to_ofac(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, tmp_path: Path
) -> None:
    report = await run_import(sessions, STARTER, now=at(0))
    assert report.extra["reported figures"] == "4"
    # a small SDN file of real rows of the 2022-09-30 list: those mentioning RADIOAVTOMATIKA, SINNO among them
    real = (
        (shared_data / "ofac" / "sdn_snapshots" / "2022-09-30" / "sdn.csv")
        .read_bytes()
        .splitlines(keepends=True)
    )
    (tmp_path / "ofac").mkdir()
    (tmp_path / "ofac" / "sdn.csv").write_bytes(
        b"".join(r for r in real if b"RADIOAVTOMATIKA" in r) + b"\x1a"
    )
    await load_importer("ofac")(sessions, tmp_path / "ofac", now=at(1))
    async with sessions() as session:
        poly = await entity(session, "curated", "china-poly-group")
        names = set(
            (await session.execute(select(EntityName.name).where(EntityName.entity_id == poly.id))).scalars()
        )
        assert {"China Poly Group Corporation", "Poly Group", "中國保利集團有限公司"} <= names
        sinno = await entity(session, "curated", "sinno-electronics")
        same_as = (
            await session.execute(select(Relation).where(Relation.from_entity_id == sinno.id))
        ).scalar_one()
        assert same_as.to_entity_id == (await entity(session, "ofac_sdn", "38641")).id
        figure = (
            await session.execute(select(ReportedFigure).where(ReportedFigure.value == 281))
        ).scalar_one()
        assert figure.citation["citations"][0]["url"] == "https://c4ads.org/news/us-sanctions-poly-tech/"
        shipment = (await session.execute(select(Shipment))).scalar_one()
        assert shipment.exporter_entity_id == (await entity(session, "curated", "poly-technologies")).id


async def test_invalid_curated_folder_changes_nothing(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    (tmp_path / "a.yml").write_text(GOOD, encoding="utf-8")
    await run_import(sessions, tmp_path, now=at(0))
    before = await table_counts(sessions)
    (tmp_path / "b.yml").write_text(GOOD.replace("Acme Trading", "Other"), encoding="utf-8")  # same id twice
    with pytest.raises(ImportFailed, match="also defined in a.yml"):
        await run_import(sessions, tmp_path, now=at(1))
    assert await table_counts(sessions) == before
