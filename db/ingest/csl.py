"""trade.gov Consolidated Screening List (CSL): `tradewatch import csl PATH` (CSV or the API's JSON).

CSV: the current layout (first column `_id`) or the older one without it. JSON: `{"results": [...]}` as the
API and the bulk `consolidated.json` give it (a bare list is accepted too).

Natural key of a row: `_id` when present, else `entity_number` (OFAC rows), else `h:` + a sha256 of
(source, name, start_date, federal_register_notice). Rows sharing a hashed key are one entry (the Entity List
gives one name and FR notice with several addresses); they are merged. A repeated `_id` or entity_number is
an error. The CSV `ids` cell is `type, number, country` in the current layout and `country, number, type` in
the old one. Data date: `--data-date`, else unknown (the file does not carry one).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.base import ImportFailed, IngestReport, sha256_file
from db.ingest.country_names import country_code
from db.ingest.entity_import import ParsedSnapshot, SourceSpec, run_entity_import
from db.ingest.entity_records import DesignationRecord, EntityRecord, dedupe
from db.ingest.mass_change import MassChangePolicy
from db.ingest.ofac_remarks import identifier_kind

REQUIRED = {"source", "name", "addresses", "federal_register_notice", "start_date", "alt_names", "ids"}
SCHEMAS = {"individual": "Person", "entity": "Organization", "vessel": "Vessel", "aircraft": "Airplane"}
LIST_FIELDS = ("citizenships", "dates_of_birth", "nationalities", "places_of_birth")


def _split(value: Any) -> list[str]:
    """A `;`-joined CSV cell or a JSON list -> clean strings (leading `and ` of EL enumerations dropped)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(";")
    out = []
    for item in items:
        text = str(item).strip()
        if text.lower().startswith("and "):
            text = text[4:].strip()
        if text:
            out.append(text)
    return out


def csv_address(text: str) -> dict[str, Any]:
    """`Komitas 26/114, Yerevan, Armenia, AM` -> full text, and the trailing ISO2 code as country."""
    tail = text.rsplit(",", 1)[-1].strip()
    code = country_code(tail) if len(tail) == 2 else None
    return {"full": text, **({"country": code} if code else {})}


def json_address(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        return csv_address(str(item))
    parts = [item.get(k) for k in ("address", "city", "state", "postal_code", "country")]
    code = country_code(item.get("country")) if item.get("country") else None
    out = {
        "full": ", ".join(str(p) for p in parts if p),
        "street": item.get("address"),
        "city": item.get("city"),
        "country": code,
    }
    return {k: v for k, v in out.items() if v}


def csv_ids(cell: str | None, *, type_first: bool) -> list[dict[str, Any]]:
    """The `ids` cell: `Passport, 836238033, KP; ...` (current) or `US, 80-0890696, Tax ID No.` (old)."""
    out = []
    for item in _split(cell):
        parts = [p.strip() for p in item.split(",")]
        if len(parts) < 2:
            out.append({"type": None, "number": item, "kind": "other"})
            continue
        if type_first:
            label, rest = parts[0], parts[1:]
            country = rest[-1] if len(rest) > 1 and len(rest[-1]) == 2 and rest[-1].isupper() else None
            number = ", ".join(rest[:-1] if country else rest)
        else:
            label, rest = parts[-1], parts[:-1]
            country = rest[0] if len(rest) > 1 and len(rest[0]) == 2 and rest[0].isupper() else None
            number = ", ".join(rest[1:] if country else rest)
        entry: dict[str, Any] = {
            "type": label.rstrip(" -:"),
            "number": number,
            "kind": identifier_kind(label),
        }
        if country:
            entry["country"] = country_code(country) or country.lower()
        out.append(entry)
    return out


def json_ids(items: Any) -> list[dict[str, Any]]:
    out = []
    for item in items or []:
        if not isinstance(item, dict):
            continue
        label = str(item.get("type") or "")
        entry = {
            "type": label.rstrip(" -:"),
            "number": item.get("number"),
            "kind": identifier_kind(label),
            "country": country_code(item.get("country")) if item.get("country") else None,
            "issued": item.get("issue_date"),
            "expires": item.get("expiration_date"),
        }
        out.append({k: v for k, v in entry.items() if v})
    return out


def natural_key(row: dict[str, Any]) -> tuple[str, bool]:
    """(key, is_hashed): `_id`, else entity_number, else a hash of source, name, start date and FR notice."""
    for column in ("_id", "id", "entity_number"):
        value = str(row.get(column) or "").strip()
        if value:
            return value, False
    basis = "\x1f".join(
        str(row.get(k) or "").strip() for k in ("source", "name", "start_date", "federal_register_notice")
    )
    return "h:" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32], True


def split_source(source: str) -> tuple[str, str]:
    """`Entity List (EL) - Bureau of Industry and Security` -> (authority, list name)."""
    name, sep, authority = source.rpartition(" - ")
    return (authority.strip(), name.strip()) if sep else (source.strip(), source.strip())


LISTING_FIELDS = (
    "federal_register_notice",
    "start_date",
    "end_date",
    "standard_order",
    "license_requirement",
    "license_policy",
    "source_list_url",
    "source_information_url",
    "entity_number",
)
DETAIL_FIELDS = (
    "license_requirement",
    "license_policy",
    "end_date",
    "standard_order",
    "source_information_url",
    "entity_number",
)
VESSEL_FIELDS = (
    "call_sign",
    "vessel_type",
    "gross_tonnage",
    "gross_registered_tonnage",
    "vessel_flag",
    "vessel_owner",
)


def entry_properties(
    row: dict[str, Any], listing: dict[str, Any], addresses: list[dict[str, Any]], ids: list[dict[str, Any]]
) -> dict[str, Any]:
    """The stored properties of a CSL entry (listing facts included, so the change detector sees them)."""
    properties: dict[str, Any] = {
        "list": str(row.get("source") or "").strip(),
        "programs": _split(row.get("programs")),
        **{k: v for k, v in listing.items() if v},
    }
    for key_name, value in (
        ("addresses", addresses),
        ("identifiers", ids),
        ("title", row.get("title")),
        ("remarks", row.get("remarks")),
    ):
        if value:
            properties[key_name] = value
    for name in LIST_FIELDS:
        values = _split(row.get(name))
        if name in ("citizenships", "nationalities"):
            values = [country_code(v) or v for v in values]
        if values:
            properties[name] = values
    vessel = {k: row.get(k) for k in VESSEL_FIELDS if row.get(k)}
    if vessel:
        properties["vessel"] = vessel
    return properties


def to_record(
    row: dict[str, Any], key: str, addresses: list[dict[str, Any]], ids: list[dict[str, Any]]
) -> EntityRecord:
    """Normalise one CSL entry (after merging rows that share a hashed key): one designation per program."""
    source = str(row.get("source") or "").strip()
    authority, list_name = split_source(source)
    listing = {k: row.get(k) or None for k in LISTING_FIELDS}
    details = {k: listing[k] for k in DETAIL_FIELDS if listing.get(k)}
    programs: list[str | None] = list(_split(row.get("programs"))) or [None]
    designations = [
        DesignationRecord(
            authority,
            list_name,
            program,
            listed_on=listing["start_date"],
            reference=listing["federal_register_notice"],
            source_url=listing["source_list_url"],
            details={**details, "source": source},
        )
        for program in programs
    ]
    countries = [a["country"] for a in addresses if a.get("country")]
    countries += [
        c for n in ("citizenships", "nationalities") for c in map(country_code, _split(row.get(n))) if c
    ]
    return EntityRecord(
        key=key,
        schema=SCHEMAS.get(str(row.get("type") or "").strip().lower(), "LegalEntity"),
        name=str(row["name"]).strip(),
        countries=sorted(set(countries)),
        properties=entry_properties(row, listing, addresses, ids),
        aliases=[(n, "aka") for n in _split(row.get("alt_names"))],
        designations=designations,
    )


def read_csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, row) of a CSL CSV; ImportFailed on a wrong header, a ragged row or non-UTF-8 text."""
    line = 1
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh, strict=True)
            missing = REQUIRED - set(reader.fieldnames or [])
            if missing:
                raise ImportFailed(
                    f"{path.name}: not a Consolidated Screening List CSV (missing columns: "
                    f"{', '.join(sorted(missing))})"
                )
            for row in reader:
                line = reader.line_num
                if None in row or any(v is None for v in row.values()):
                    raise ImportFailed(f"{path.name} line {line}: wrong number of columns (truncated file?)")
                yield line, row
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"{path.name} near line {line + 1}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise ImportFailed(f"{path.name} line {line + 1}: broken CSV ({exc})") from None


def read_json_rows(path: Path, partial: bool = False) -> Iterator[tuple[int, dict[str, Any]]]:
    """(position, result) of the API's JSON (`results` list). The file is read whole: JSON has no rows.

    The API states how many results the list holds (`total`): a whole list must hold exactly that many (a
    page of a search, or a cut file, would otherwise delist everything it lacks)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"{path.name}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise ImportFailed(
            f"{path.name}: not valid JSON ({exc.msg} at line {exc.lineno}); truncated?"
        ) from None
    results = data.get("results") if isinstance(data, dict) else data
    if not isinstance(results, list):
        raise ImportFailed(f"{path.name}: expected the CSL API format with a `results` list")
    total = data.get("total") if isinstance(data, dict) else None
    if not partial and isinstance(total, int) and total != len(results):
        raise ImportFailed(
            f"{path.name}: incomplete: the file says the list has {total:,} results but holds {len(results):,} "
            "(a page of a search, or a cut download); nothing was imported (--partial for an excerpt)"
        )
    for position, item in enumerate(results, start=1):
        if not isinstance(item, dict) or not item.get("name") or not item.get("source"):
            raise ImportFailed(f"{path.name}: result {position} has no name or source")
        yield position, item


def parse(path: Path, data_date: str | None, partial: bool = False) -> ParsedSnapshot:
    """Parse and normalise a CSL file; rows sharing a hashed key are merged into one entry."""
    is_json = path.suffix.lower() == ".json"
    rows = read_json_rows(path, partial) if is_json else read_csv_rows(path)
    merged: dict[str, dict[str, Any]] = {}
    hashed = explicit = read = 0
    type_first = True
    for where, row in rows:
        read += 1
        if not is_json and read == 1:
            type_first = "_id" in row  # the current layout writes ids type first; the old one type last
        if not str(row.get("name") or "").strip():
            raise ImportFailed(f"{path.name} {'result' if is_json else 'line'} {where}: row without a name")
        key, is_hashed = natural_key(row)
        addresses = (
            [json_address(a) for a in row.get("addresses") or []]
            if is_json
            else [csv_address(a) for a in _split(row.get("addresses"))]
        )
        ids = json_ids(row.get("ids")) if is_json else csv_ids(row.get("ids"), type_first=type_first)
        if key in merged:
            if not is_hashed:
                raise ImportFailed(
                    f"{path.name} {'result' if is_json else 'line'} {where}: id {key} appears twice"
                )
            entry = merged[key]
            entry["addresses"] = dedupe(entry["addresses"] + addresses)
            entry["ids"] = dedupe(entry["ids"] + ids)
            entry["row"]["alt_names"] = ";".join(
                dict.fromkeys(_split(entry["row"].get("alt_names")) + _split(row.get("alt_names")))
            )
            continue
        hashed, explicit = hashed + is_hashed, explicit + (not is_hashed)
        merged[key] = {"row": dict(row), "addresses": addresses, "ids": ids}
    if not merged:
        raise ImportFailed(f"{path.name} has no entries (empty file?)")
    records = [to_record(e["row"], key, e["addresses"], e["ids"]) for key, e in merged.items()]
    return ParsedSnapshot(
        records=records,
        rows_read=read,
        data_date=data_date,
        skipped=Counter(),
        full=not partial,
        meta={"form": "json" if is_json else "csv"},
        notes={
            "natural key": f"_id or entity_number for {explicit:,}; hash of source, name, "
            f"start date and FR notice for {hashed:,}",
            "merged rows": f"{read - len(merged):,}",
        },
    )


async def run_import(
    sessions: async_sessionmaker[AsyncSession],
    path: Path,
    *,
    now: dt.datetime,
    data_date: str | None = None,
    partial: bool = False,
    mass_change: MassChangePolicy | None = None,
    **_options: Any,
) -> IngestReport:
    """Import a CSL CSV or JSON file in one transaction.

    Args:
        partial: the file is an excerpt, not the whole list: entries absent from it are not delisted.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(2, "No such file", str(path))
    return await run_entity_import(
        sessions,
        SourceSpec("csl"),
        lambda: parse(path, data_date, partial),
        sha256=sha256_file(path),
        file_name=path.name,
        now=now,
        policy=mass_change,
    )
