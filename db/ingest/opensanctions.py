"""OpenSanctions exports: `tradewatch import opensanctions PATH [--dataset NAME] [--delta]`.

PATH is `entities.ftm.json` (FollowTheMoney JSON lines), `targets.nested.json`, `targets.simple.csv`, or a
folder holding one of them (first found, in that order) and maybe `index.json`. With `--delta`, PATH is a
folder with `delta.json` and one sub-folder per version holding `entities.delta.json`
(`{"op": "ADD"|"MOD"|"DEL", "entity": {...}}` per line); versions are applied in order, each as a snapshot,
all in one transaction, versions already loaded are skipped.

Each dataset is its own source, `opensanctions:<dataset>`, so loading one dataset never delists another's
entries. The dataset name is `--dataset`, else index.json's `name`, else the entities' `datasets`, else the
slug of the CSV's dataset title. Natural key: the OpenSanctions entity id.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.base import ImportFailed, IngestReport, sha256_file
from db.ingest.country_names import country_code
from db.ingest.entity_import import ParsedSnapshot, run_entity_import
from db.ingest.entity_records import DesignationRecord, EntityRecord
from db.ingest.mass_change import MassChangePolicy
from db.ingest.opensanctions_delta import run_delta_import
from db.ingest.opensanctions_files import read_json_lines, spec_for
from db.ingest.opensanctions_ftm import to_records

FILES = ("entities.ftm.json", "targets.nested.json", "targets.simple.csv")
SIMPLE_COLUMNS = {"id", "schema", "name", "aliases", "countries", "identifiers", "sanctions", "dataset"}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.casefold()).strip("_") or "unknown"


def _checked(path: Path, line: int, entity: dict[str, Any]) -> dict[str, Any]:
    if not entity.get("id") or not entity.get("schema"):
        raise ImportFailed(f"{path.name} line {line}: entity without id or schema")
    return entity


def flatten(
    entity: dict[str, Any],
    into: dict[str, dict[str, Any]],
    parent: str | None = None,
    back_prop: str | None = None,
) -> None:
    """targets.nested.json: pull nested entities out into a flat id -> entity map (references by id)."""
    from followthemoney import model

    schema = model.get(entity.get("schema", ""))
    props: dict[str, list[Any]] = {}
    for name, values in (entity.get("properties") or {}).items():
        out = []
        for value in values:
            if isinstance(value, dict) and value.get("id"):
                prop = schema.get(name) if schema else None
                reverse = prop.reverse.name if prop is not None and prop.reverse is not None else None
                flatten(value, into, parent=entity["id"], back_prop=reverse)
                out.append(value["id"])
            else:
                out.append(value)
        props[name] = out
    if parent and back_prop and not props.get(back_prop):
        props[back_prop] = [parent]  # the nested form leaves out the link back to its parent
    if entity["id"] not in into or into[entity["id"]].get("target") is not True:
        into[entity["id"]] = {**entity, "properties": props}


def read_entities(path: Path) -> dict[str, dict[str, Any]]:
    """entities.ftm.json or targets.nested.json as a flat id -> entity map (a repeated id is an error)."""
    entities: dict[str, dict[str, Any]] = {}
    nested = path.name.endswith("nested.json")
    for line, entity in read_json_lines(path):
        entity = _checked(path, line, entity)
        if nested:
            flatten(entity, entities)
            continue
        if entity["id"] in entities:
            raise ImportFailed(f"{path.name} line {line}: entity {entity['id']} appears twice")
        entities[entity["id"]] = entity
    return entities


def simple_records(
    path: Path, dataset: str, skipped: Counter[str]
) -> tuple[list[EntityRecord], int, str | None]:
    """targets.simple.csv rows as records; also the rows read and the newest last_seen date."""
    records: dict[str, EntityRecord] = {}
    newest = None
    line = 1
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh, strict=True)
            if not SIMPLE_COLUMNS <= set(reader.fieldnames or []):
                raise ImportFailed(
                    f"{path.name}: not an OpenSanctions targets.simple.csv (columns "
                    f"{', '.join(sorted(SIMPLE_COLUMNS - set(reader.fieldnames or [])))} missing)"
                )
            for row in reader:
                line = reader.line_num
                if None in row or any(v is None for v in row.values()) or not row["id"] or not row["schema"]:
                    raise ImportFailed(
                        f"{path.name} line {line}: wrong number of columns or no id (truncated?)"
                    )
                if row["id"] in records:
                    raise ImportFailed(f"{path.name} line {line}: id {row['id']} appears twice")
                records[row["id"]] = simple_record(row, dataset)
                newest = max(newest or "", row.get("last_seen") or "") or None
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"{path.name} near line {line + 1}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise ImportFailed(f"{path.name} line {line + 1}: broken CSV ({exc})") from None
    return list(records.values()), len(records), newest[:10] if newest else None


def _multi(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(";") if v.strip()]


def simple_record(row: dict[str, str], dataset: str) -> EntityRecord:
    sanctions = row.get("sanctions", "").strip().strip('"').strip()
    properties: dict[str, Any] = {"dataset": dataset, "dataset_title": row.get("dataset")}
    for key, column in (
        ("birth_dates", "birth_date"),
        ("phones", "phones"),
        ("emails", "emails"),
        ("programs", "program_ids"),
    ):
        if _multi(row.get(column)):
            properties[key] = _multi(row.get(column))
    if _multi(row.get("addresses")):
        properties["addresses"] = [{"full": a} for a in _multi(row.get("addresses"))]
    if _multi(row.get("identifiers")):
        properties["identifiers"] = [
            {"type": "identifier", "number": i, "kind": "other"} for i in _multi(row.get("identifiers"))
        ]
    if sanctions:
        properties["sanctions"] = sanctions
    for key in ("first_seen", "last_seen", "last_change"):
        if row.get(key):
            properties[key] = row[key]
    designations = []
    if sanctions or properties.get("programs"):
        designations = [
            DesignationRecord(
                "per OpenSanctions export",
                row.get("dataset") or dataset,
                program,
                details={"sanctions": sanctions, "dataset": dataset} if sanctions else {"dataset": dataset},
            )
            for program in (list(properties.get("programs") or []) or [None])
        ]
    countries = sorted({c for c in map(country_code, _multi(row.get("countries"))) if c})
    return EntityRecord(
        key=row["id"],
        schema=row["schema"],
        name=row["name"] or row["id"],
        countries=countries,
        properties=properties,
        aliases=[(a, "aka") for a in _multi(row.get("aliases"))],
        designations=designations,
    )


def locate(path: Path) -> tuple[Path, dict[str, Any]]:
    """The export file to read and the folder's index.json (or {})."""
    folder = path if path.is_dir() else path.parent
    index: dict[str, Any] = {}
    if (folder / "index.json").is_file():
        try:
            index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ImportFailed(f"{folder / 'index.json'}: not valid JSON") from None
    if path.is_dir():
        for name in FILES:
            if (path / name).is_file():
                return path / name, index
        raise ImportFailed(f"{path} holds none of {', '.join(FILES)}")
    if not path.is_file():
        raise FileNotFoundError(2, "No such file", str(path))
    return path, index


def dataset_of(entities: dict[str, dict[str, Any]], option: str | None, index: dict[str, Any]) -> str:
    if option:
        return option
    if index.get("name"):
        return str(index["name"])
    names = Counter(d for e in entities.values() for d in (e.get("datasets") or []))
    return names.most_common(1)[0][0] if names else "unknown"


def parse_file(
    path: Path, dataset: str | None, index: dict[str, Any]
) -> tuple[ParsedSnapshot, str, str | None]:
    """Parse an export file: (snapshot, dataset name, dataset title)."""
    skipped: Counter[str] = Counter()
    if path.suffix.lower() == ".csv":
        title = _peek_title(path) or index.get("title")
        name = dataset or index.get("name") or slug(title or "unknown")
        records, rows, newest = simple_records(path, name, skipped)
        date, date_note = (index.get("last_export") or newest), "newest last_seen in the file"
    else:
        entities = read_entities(path)
        name = dataset_of(entities, dataset, index)
        title = index.get("title")
        records = to_records(entities, name, f"opensanctions:{name}", skipped)
        rows = len(entities)
        newest = max((str(e.get("last_change") or "") for e in entities.values()), default="") or None
        date, date_note = (
            (index.get("last_export") or index.get("updated_at") or newest),
            "index.json / last_change",
        )
    if not records:
        raise ImportFailed(f"{path.name} has no people, companies, organisations, vessels or aircraft")
    parsed = ParsedSnapshot(
        records=records,
        rows_read=rows,
        data_date=(date or "")[:10] or None,
        skipped=skipped,
        meta={"dataset": name, "file": path.name},
        notes={"dataset": name, "natural key": "OpenSanctions entity id", "data date from": date_note},
    )
    return parsed, name, title


async def run_import(
    sessions: async_sessionmaker[AsyncSession],
    path: Path,
    *,
    now: dt.datetime,
    dataset: str | None = None,
    delta: bool = False,
    mass_change: MassChangePolicy | None = None,
    **_options: Any,
) -> IngestReport:
    """Import an OpenSanctions export file or folder (or, with delta=True, a delta folder)."""
    path = Path(path)
    if delta:
        return await run_delta_import(sessions, path, now=now, dataset=dataset, policy=mass_change)
    file, index = locate(path)
    sha = sha256_file(file)

    def parse() -> ParsedSnapshot:
        parsed, name, _title = parse_file(file, dataset, index)
        if spec.key != f"opensanctions:{name}":
            raise ImportFailed(f"dataset {name!r} differs from {spec.key!r}: pass --dataset")
        return parsed

    name = dataset or index.get("name") or _peek_dataset(file)
    spec = spec_for(name, index.get("title") or _peek_title(file))
    return await run_entity_import(
        sessions, spec, parse, sha256=sha, file_name=file.name, now=now, policy=mass_change
    )


def _peek_title(file: Path) -> str | None:
    if file.suffix.lower() != ".csv":
        return None
    try:
        with file.open(encoding="utf-8-sig", newline="") as fh:
            return (next(csv.DictReader(fh), None) or {}).get("dataset")
    except (UnicodeDecodeError, csv.Error):  # the full parse reports what is wrong with the file
        return None


def _peek_dataset(file: Path) -> str:
    """The dataset name without a full parse: the CSV's title slug, or the first entity's first dataset."""
    try:
        if file.suffix.lower() == ".csv":
            return slug(_peek_title(file) or "unknown")
        for _line, entity in read_json_lines(file):
            if entity.get("datasets"):
                return str(entity["datasets"][0])
    except (UnicodeDecodeError, csv.Error):
        pass
    return "unknown"
