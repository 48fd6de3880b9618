"""The team's curated facts: `tradewatch import curated [FOLDER]` and `tradewatch curate check [FOLDER]`.

Every `*.yml` / `*.yaml` file of the folder (config `[data] curated_dir`, default db/curated/) is validated
(db.ingest.curated_schema); one error anywhere stops the import and changes nothing. Entities load like a
list source (`curated`, natural key = the entity id) with change detection; shipments and reported figures
replace the previous curated ones in the same transaction. Links to list records (`same_as: [ofac_sdn:38641]`,
relations to `ofac_sdn:...`) resolve whenever either side is loaded.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.base import IngestReport, find_snapshot, sha256_files
from db.ingest.curated_schema import QUALIFIED_KEY, Citation, CuratedFile, Entity, load_file, period_bounds
from db.ingest.entity_import import ParsedSnapshot, SourceSpec, ensure_source, load_snapshot
from db.ingest.entity_links import split_key
from db.ingest.entity_records import DesignationRecord, EntityRecord, RelationRecord
from db.models import Entity as EntityRow
from db.models import ReportedFigure, Shipment, Source

SPEC = SourceSpec("curated")


def curated_files(path: Path) -> list[Path]:
    """The YAML files of a folder (sorted), or the one file given."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(2, "No such file or folder", str(path))
    return sorted(p for p in path.iterdir() if p.suffix.lower() in (".yml", ".yaml") and p.is_file())


def check(path: Path) -> tuple[list[tuple[Path, CuratedFile]], list[str]]:
    """Validate every curated file: (parsed files, errors as `file:line: where: message`)."""
    files = curated_files(path)
    parsed: list[tuple[Path, CuratedFile]] = []
    errors: list[str] = [] if files else [f"{path}: no .yml files found"]
    owner: dict[str, Path] = {}
    for file in files:
        model, file_errors = load_file(file)
        errors += file_errors
        if model is None:
            continue
        for entity in model.entities:
            if entity.id in owner:
                errors.append(f"{file}:1: entity id {entity.id!r} is also defined in {owner[entity.id].name}")
            owner[entity.id] = file
        parsed.append((file, model))
    return parsed, errors


def citation(model: CuratedFile, cites: list[str | Citation]) -> list[dict[str, Any]]:
    """The citations of a fact as plain dicts (publisher, title, date, url, note)."""
    out = []
    for cite in cites:
        item = model.citations[cite] if isinstance(cite, str) else cite
        out.append(
            {
                k: (v.isoformat() if isinstance(v, dt.date) else v)
                for k, v in item.model_dump().items()
                if v is not None
            }
        )
    return out


def entity_record(entity: Entity, model: CuratedFile, file: Path, entity_ids: set[str]) -> EntityRecord:
    """A curated entity as a record: names, identifiers, notes and designations each with its citations."""
    base = citation(model, entity.cite)
    aliases, alias_citations = [], []
    for alias in entity.aliases:
        if isinstance(alias, str):
            aliases.append((alias, "aka"))
        else:
            aliases.append((alias.name, alias.kind))
            alias_citations.append({"name": alias.name, "citation": citation(model, alias.cite)})
    properties: dict[str, Any] = {"file": file.name, "citation": base}
    if alias_citations:
        properties["alias_citations"] = alias_citations
    if entity.identifiers:
        properties["identifiers"] = [
            {
                "type": i.type,
                "number": i.number,
                "kind": "other",
                **({"country": i.country.lower()} if i.country else {}),
                "citation": citation(model, i.cite),
            }
            for i in entity.identifiers
        ]
    if entity.notes:
        properties["notes"] = [{"text": n.text, "citation": citation(model, n.cite)} for n in entity.notes]
    designations = [
        DesignationRecord(
            d.authority,
            d.list,
            d.program,
            d.listed_on.isoformat() if d.listed_on else None,
            d.reference,
            d.source_url,
            {"citation": citation(model, d.cite)},
        )
        for d in entity.designations
    ]
    if designations:
        properties["designations"] = [
            {
                "authority": d.authority,
                "list": d.list_name,
                "program": d.program,
                "listed_on": d.listed_on,
                "reference": d.reference,
            }
            for d in designations
        ]
    relations = [
        RelationRecord("same_as", key, to_key=key, citation={"citations": base}) for key in entity.same_as
    ]
    return EntityRecord(
        key=entity.id,
        schema=entity.type,
        name=entity.name,
        countries=list(entity.countries),
        properties=properties,
        aliases=aliases,
        designations=designations,
        relations=relations,
    )


def to_snapshot(parsed: list[tuple[Path, CuratedFile]]) -> ParsedSnapshot:
    """All curated files as one snapshot of the `curated` source."""
    ids = {e.id for _, model in parsed for e in model.entities}
    records: dict[str, EntityRecord] = {}
    for file, model in parsed:
        for entity in model.entities:
            records[entity.id] = entity_record(entity, model, file, ids)
    for _file, model in parsed:
        for rel in model.relations:
            to_key = (
                f"curated:{rel.to}" if rel.to in ids else (rel.to if QUALIFIED_KEY.match(rel.to) else None)
            )
            to_name = records[rel.to].name if rel.to in ids else (rel.to_name or rel.to)
            records[rel.from_].relations.append(
                RelationRecord(
                    rel.kind, to_name, to_key, dict(rel.details), {"citations": citation(model, rel.cite)}
                )
            )
            records[rel.from_].properties.setdefault("relations", []).append(
                {"kind": rel.kind, "to": rel.to, **({"details": rel.details} if rel.details else {})}
            )
    rows = sum(len(m.entities) + len(m.relations) + len(m.shipments) + len(m.figures) for _, m in parsed)
    return ParsedSnapshot(
        records=list(records.values()),
        rows_read=rows,
        data_date=None,
        skipped=Counter(),
        meta={"files": [f.name for f, _ in parsed]},
        notes={"files": ", ".join(f.name for f, _ in parsed), "natural key": "entity id"},
    )


async def _entity_ids(session: AsyncSession, refs: set[str], source: Source) -> dict[str, int]:
    """Curated ids and qualified record keys -> entity ids (for shipment exporters and importers)."""
    out: dict[str, int] = {}
    for ref in refs:
        source_key, key = ("curated", ref) if ":" not in ref else (split_key(ref) or ("", ""))
        row = (
            await session.execute(
                select(EntityRow.id)
                .join(Source, Source.id == EntityRow.source_id)
                .where(Source.key == source_key, EntityRow.source_key == key)
            )
        ).scalar_one_or_none()
        if row is not None:
            out[ref] = row
    return out


async def replace_facts(
    session: AsyncSession,
    source: Source,
    snapshot_id: int,
    parsed: list[tuple[Path, CuratedFile]],
    entity_names: dict[str, str],
) -> tuple[int, int]:
    """Replace the curated shipments and reported figures; returns (shipments, figures) written."""
    await session.execute(delete(Shipment).where(Shipment.source_id == source.id))
    await session.execute(delete(ReportedFigure).where(ReportedFigure.source_id == source.id))
    refs = {s.exporter for _, m in parsed for s in m.shipments} | {
        s.importer for _, m in parsed for s in m.shipments
    }
    ids = await _entity_ids(session, refs, source)
    shipments, figures = [], []
    for file, model in parsed:
        for s in model.shipments:
            shipments.append(
                {
                    "source_id": source.id,
                    "snapshot_id": snapshot_id,
                    "source_key": s.id,
                    "date": s.date,
                    "exporter_name": entity_names.get(s.exporter, s.exporter),
                    "exporter_entity_id": ids.get(s.exporter),
                    "importer_name": entity_names.get(s.importer, s.importer),
                    "importer_entity_id": ids.get(s.importer),
                    "hs_code": s.hs_code,
                    "value_usd": s.value_usd,
                    "description": s.description,
                    "citation": {"file": file.name, "citations": citation(model, s.cite)},
                }
            )
        for f in model.figures:
            bounds = period_bounds(f.period) if f.period else None
            figures.append(
                {
                    "source_id": source.id,
                    "snapshot_id": snapshot_id,
                    "source_key": f.id,
                    "subject": f.subject,
                    "statement": f.statement,
                    "value": f.value,
                    "unit": f.unit,
                    "period": f.period,
                    "hs_code": f.hs_code,
                    "citation": {"file": file.name, "citations": citation(model, f.cite)},
                    "commodity": f.commodity,
                    "hs_note": f.hs_note,
                    "reporter": f.reporter,
                    "partner": f.partner,
                    "flow": {"exports": "X", "imports": "M"}.get(f.flow or ""),
                    "period_from": bounds[0] if bounds else None,
                    "period_to": bounds[1] if bounds else None,
                }
            )
    if shipments:
        await session.execute(insert(Shipment), shipments)
    if figures:
        await session.execute(insert(ReportedFigure), figures)
    return len(shipments), len(figures)


async def run_import(
    sessions: async_sessionmaker[AsyncSession],
    path: Path,
    *,
    now: dt.datetime,
    **_options: Any,
) -> IngestReport:
    """Validate and import the curated folder (or one file) in one transaction; any error changes nothing."""
    from db.ingest.base import ImportFailed

    files = curated_files(Path(path))
    parsed, errors = check(Path(path))
    if errors:
        raise ImportFailed(
            "curated files have errors (run `tradewatch curate check`):\n  " + "\n  ".join(errors)
        )
    report = IngestReport(source=SPEC.key, file=str(path))
    sha = sha256_files(files)
    async with sessions() as session, session.begin():
        source = await ensure_source(session, SPEC)
        if await find_snapshot(session, source, sha) is not None:
            report.already_loaded = True
            return report
        snapshot = to_snapshot(parsed)
        await load_snapshot(
            session, source, snapshot, sha256=sha, file_name=Path(path).name, now=now, report=report
        )
        names = {r.key: r.name for r in snapshot.records}
        shipped, figures = await replace_facts(session, source, report.snapshot_id or 0, parsed, names)
    report.extra["shipments"] = f"{shipped:,}"
    report.extra["reported figures"] = f"{figures:,}"
    report.extra["data date"] = "each fact carries its own citation date"
    return report
