"""OFAC SDN and Consolidated (non-SDN) lists: `tradewatch import ofac PATH`.

PATH is a folder holding `sdn.csv` (or `cons_prim.csv`) and whichever of its siblings exist
(add/alt/comments), or an XML file (`sdn.xml`, `consolidated.xml`). Stages: fetch (none here: files are local;
the sync fetches them) -> parse (db.ingest.ofac_csv / ofac_xml, streaming, pure) -> normalise (this module:
remarks to structured facts) -> load (db.ingest.entity_import, one transaction, change detection).

Source keys: `ofac_sdn`, `ofac_cons`. Natural key: OFAC's ent_num (the XML uid). Data date: the XML's
Publish_Date; the CSV files carry none, so it is `--data-date` or unknown (a file's mtime is not a data date).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.base import ImportFailed, IngestReport, progress, sha256_file, sha256_files
from db.ingest.country_names import country_code
from db.ingest.entity_import import ParsedSnapshot, SourceSpec, run_entity_import
from db.ingest.entity_records import DesignationRecord, EntityRecord, RelationRecord, dedupe
from db.ingest.mass_change import MassChangePolicy
from db.ingest.ofac_csv import FILE_SETS, OfacEntry, part_hashes, read_csv_set
from db.ingest.ofac_remarks import RemarkFacts, forget_facts, parse_remarks
from db.ingest.ofac_xml import iter_xml, publish_date_iso

AUTHORITY = "U.S. Treasury OFAC"
LIST_NAMES = {"ofac_sdn": "SDN List", "ofac_cons": "Consolidated (non-SDN)"}
SCHEMAS = {"individual": "Person", "vessel": "Vessel", "aircraft": "Airplane", "entity": "Organization"}
DETAILS_URL = "https://sanctionssearch.ofac.treas.gov/Details.aspx?id={key}"
# Optional files of a CSV set and the stored fields they feed (not compared when one snapshot lacks the file).
PART_FIELDS = {"add": ("addresses",), "alt": ("aliases",), "comments": ()}
# Part of every CSV record's content hash: bump it when to_record() changes, so the next import rewrites
# all entries with the new normalisation (and reports them as amended only if their fields differ).
NORMALISER_VERSION = 1


def entity_countries(schema: str, facts: RemarkFacts, addresses: list[dict[str, Any]]) -> list[str]:
    """ISO2 codes the entry is tied to: addresses, nationality, citizenship, and for organisations the
    country of any identifier (registration, tax or other ID numbers, e.g. "Identification Number ... (Hong
    Kong)"), since an ID issued there ties a company to that country for a watch filtered by country."""
    codes = [a["country"] for a in addresses if a.get("country")]
    codes += [
        c for c in facts.values.get("nationalities", []) + facts.values.get("citizenships", []) if len(c) == 2
    ]
    if schema != "Person":
        codes += [
            i["country"]
            for i in facts.identifiers
            if i.get("kind") != "crypto" and len(str(i.get("country") or "")) == 2
        ]
    return sorted(set(codes))


def to_record(
    entry: OfacEntry, list_key: str, present: list[str] | None, hashes: dict[str, str] | None = None
) -> EntityRecord:
    """Normalise one OFAC entry: type, facts from the remarks, designations per program, relations.

    `hashes`: the entry's part hashes when the caller has them already (a CSV stub computed them)."""
    schema = SCHEMAS.get((entry.sdn_type or "entity").strip().lower(), "Organization")
    facts = entry.facts or parse_remarks(entry.remarks)
    addresses = [
        {**a, "country": country_code(a.get("country_name"))} if a.get("country_name") else a
        for a in entry.addresses
    ]
    properties: dict[str, Any] = {
        "list": LIST_NAMES[list_key],
        "ent_num": entry.key,
        "programs": entry.programs,
    }
    for key, value in (
        ("title", entry.title),
        ("vessel", entry.vessel or None),
        ("remarks", entry.remarks),
        ("addresses", addresses or None),
        ("identifiers", dedupe(facts.identifiers) or None),
        ("linked_to", facts.linked_to or None),
    ):
        if value:
            properties[key] = value
    properties.update({k: v for k, v in facts.values.items() if v})
    url = DETAILS_URL.format(key=entry.key)
    programs: list[str | None] = list(entry.programs) or [None]
    designations = [
        DesignationRecord(AUTHORITY, LIST_NAMES[list_key], program, source_url=url) for program in programs
    ]
    relations = [
        RelationRecord("linked_to", name, citation={"source": list_key, "remarks": "Linked To"})
        for name in dict.fromkeys(facts.linked_to)
    ]
    record = EntityRecord(
        key=entry.key,
        schema=schema,
        name=entry.name,
        countries=entity_countries(schema, facts, addresses),
        properties=properties,
        aliases=dedupe(entry.aliases + facts.aliases),
        designations=designations,
        relations=relations,
    )
    if present is not None:
        record.part_hashes = hashes if hashes is not None else part_hashes(entry, present)
    return record


def locate(path: Path) -> tuple[str, str, Path]:
    """(form, source key, path): `csv` with the folder, or `xml` with the file; ImportFailed otherwise."""
    if path.is_dir():
        for list_key, files in FILE_SETS.items():
            if (path / files["main"]).is_file():
                return "csv", list_key, path
        found = sorted(p.name for p in path.iterdir())
        hint = ""
        if {"add.csv", "alt.csv"} & set(found):
            hint = (
                " It has add.csv/alt.csv but no sdn.csv: those files only add addresses and aliases to the"
                " entries of sdn.csv (names, types, programs), so they cannot be loaded on their own."
            )
        raise ImportFailed(
            f"{path} holds neither sdn.csv nor cons_prim.csv (found: {', '.join(found) or 'nothing'}).{hint}"
        )
    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    if path.suffix.lower() == ".xml":
        return "xml", ("ofac_cons" if "cons" in path.name.lower() else "ofac_sdn"), path
    if path.name in ("sdn.csv", "cons_prim.csv"):
        return "csv", ("ofac_sdn" if path.name == "sdn.csv" else "ofac_cons"), path.parent
    raise ImportFailed(f"{path.name}: expected a folder with sdn.csv or cons_prim.csv, or an OFAC XML file")


def stub(entry: OfacEntry, list_key: str, present: list[str]) -> EntityRecord:
    """A record whose hash comes from the raw rows of each file; normalised only if it turns out changed."""
    hashes = part_hashes(entry, present)
    record = EntityRecord(
        key=entry.key,
        schema="",
        name=entry.name,
        part_hashes=hashes,
        loader=lambda: to_record(entry, list_key, present, hashes),
    )
    record.cached_hash = stub_hash(list_key, hashes)
    return record


def stub_hash(list_key: str, hashes: dict[str, str]) -> str:
    """stable_hash([NORMALISER_VERSION, list_key, hashes]) with the canonical JSON written directly (once per
    entry of every import): the keys are part names and the values hex digits, so nothing needs escaping."""
    parts = ",".join(f'"{part}":"{hashes[part]}"' for part in sorted(hashes))
    text = f'[{NORMALISER_VERSION},"{list_key}",{{{parts}}}]'
    return hashlib.sha256(text.encode()).hexdigest()


def parse_csv(folder: Path, list_key: str, data_date: str | None) -> ParsedSnapshot:
    """Parse a CSV set into record stubs (normalised on demand by the store)."""
    skipped: Counter[str] = Counter()
    entries, present, rows = read_csv_set(folder, list_key, skipped)
    records = [stub(entry, list_key, present) for entry in entries.values()]
    files = [FILE_SETS[list_key]["main"], *(FILE_SETS[list_key][p] for p in present)]
    return ParsedSnapshot(
        records=records,
        rows_read=rows,
        data_date=data_date,
        parts=present,
        part_fields=PART_FIELDS,
        skipped=skipped,
        meta={"files": files, "form": "csv"},
        notes={"files": ", ".join(files), "natural key": "ent_num"},
    )


def parse_xml(path: Path, list_key: str, data_date: str | None) -> ParsedSnapshot:
    """Parse and normalise an XML file (Publish_Date is the data date unless --data-date overrides it)."""
    meta: dict[str, Any] = {"form": "xml"}
    records: dict[str, EntityRecord] = {}
    bar = progress(None, f"{list_key}: reading {path.name}", unit="entries")
    for entry in iter_xml(path, meta):
        if entry.key in records:
            raise ImportFailed(f"{path.name}: uid {entry.key} appears twice")
        records[entry.key] = to_record(entry, list_key, None)
        bar.update()
    bar.close()
    if not records:
        raise ImportFailed(f"{path.name} has no sdnEntry records")
    count = str(meta.get("record_count") or "")
    if count.isdigit() and int(count) != len(records):
        raise ImportFailed(
            f"{path.name}: incomplete: its Record_Count says {int(count):,} entries but it holds {len(records):,}; "
            "nothing was imported. Fetch the file again"
        )
    date = data_date or publish_date_iso(meta.get("publish_date"))
    return ParsedSnapshot(
        records=list(records.values()),
        rows_read=len(records),
        data_date=date,
        meta=meta,
        notes={"natural key": "uid (= ent_num)", "published": meta.get("publish_date", "?")},
    )


async def run_import(
    sessions: async_sessionmaker[AsyncSession],
    path: Path,
    *,
    now: dt.datetime,
    data_date: str | None = None,
    mass_change: MassChangePolicy | None = None,
    **_options: Any,
) -> IngestReport:
    """Import an OFAC CSV set or XML file in one transaction (see the module docstring)."""
    form, list_key, where = locate(Path(path))
    if form == "csv":
        files = FILE_SETS[list_key]
        paths = [where / files[p] for p in ("main", "add", "alt", "comments") if (where / files[p]).is_file()]
        sha, name = sha256_files(paths), f"{where.name}/{'+'.join(p.name for p in paths)}"
        parse = lambda: parse_csv(where, list_key, data_date)  # noqa: E731
    else:
        sha, name = sha256_file(where), where.name
        parse = lambda: parse_xml(where, list_key, data_date)  # noqa: E731
    try:
        return await run_entity_import(
            sessions, SourceSpec(list_key), parse, sha256=sha, file_name=name, now=now, policy=mass_change
        )
    finally:
        forget_facts()
