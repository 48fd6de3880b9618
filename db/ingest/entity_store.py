"""Load normalised entity records into the database, in bulk, and detect what changed.

One call per snapshot, inside the importer's transaction. Natural keys and content hashes of the records
loaded so far are read once; the new records are compared in memory; only added, amended and removed rows
are written (bulk statements, no per-row round trips). Change rows are written by db.ingest.changes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.ingest.base import progress
from db.ingest.entity_identity import identifier_rows, tied_countries
from db.ingest.entity_records import EntityRecord
from db.models import Base, Designation, Entity, EntityIdentifier, EntityName, Relation, Snapshot, Source
from db.names import detect_script, normalize_name

log = logging.getLogger(__name__)

_ASCII_LETTER = re.compile("[A-Za-z]")
CHUNK = 2000  # rows per bulk statement / IN list (SQLite's bound-parameter limit is 32k)
ENTITIES: Table = Base.metadata.tables[Entity.__tablename__]
NAMES: Table = Base.metadata.tables[EntityName.__tablename__]
DESIGNATIONS: Table = Base.metadata.tables[Designation.__tablename__]
RELATIONS: Table = Base.metadata.tables[Relation.__tablename__]
IDENTIFIERS: Table = Base.metadata.tables[EntityIdentifier.__tablename__]


@dataclass
class Loaded:
    """What is in the database for one record of the source."""

    id: int
    hash: str
    active: bool
    part_hashes: dict[str, str]


@dataclass
class StoreResult:
    """The records' fate in this snapshot, by natural key (entity ids filled in after the writes)."""

    added: list[EntityRecord] = field(default_factory=list)
    relisted: list[EntityRecord] = field(default_factory=list)
    amended: list[EntityRecord] = field(default_factory=list)
    refreshed: list[EntityRecord] = field(
        default_factory=list
    )  # content differs only in a part one side lacked
    removed: list[tuple[str, int]] = field(default_factory=list)  # (key, entity id)
    unchanged: int = 0
    ids: dict[str, int] = field(default_factory=dict)
    old_state: dict[int, dict[str, Any]] = field(default_factory=dict)  # entity id -> stored state before


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def loaded_state(
    session: AsyncSession, source: Source, *, with_parts: bool = False
) -> dict[str, Loaded]:
    """Natural key -> (id, hash, active, part hashes) of every record of the source ever loaded.

    Part hashes (inside the properties JSON) are read only when the two snapshots have different optional
    files; otherwise the content hash alone decides, and reading 15k JSON documents is skipped.
    """
    columns = [Entity.id, Entity.source_key, Entity.content_hash, Entity.active]
    stmt = select(*columns, Entity.properties) if with_parts else select(*columns)
    stmt = stmt.where(Entity.source_id == source.id)
    out: dict[str, Loaded] = {}
    for row in (await session.execute(stmt)).all():
        parts = ((row.properties or {}).get("_part_hashes") or {}) if with_parts else {}
        out[row.source_key] = Loaded(row.id, row.content_hash, bool(row.active), dict(parts))
    return out


def same_in_shared_parts(old: Loaded, record: EntityRecord, shared_parts: set[str] | None) -> bool:
    """True when every part both snapshots had is unchanged (parts only one side had are not compared)."""
    if shared_parts is None or not record.part_hashes or not old.part_hashes:
        return False
    return all(old.part_hashes.get(p) == record.part_hashes.get(p) for p in shared_parts)


def classify(
    records: list[EntityRecord],
    loaded: dict[str, Loaded],
    *,
    full: bool,
    shared_parts: set[str] | None,
    deleted_keys: Iterable[str] = (),
) -> StoreResult:
    """Sort the new records into added / relisted / amended / unchanged and find the removed keys."""
    result = StoreResult()
    seen: set[str] = set()
    for record in records:
        seen.add(record.key)
        old = loaded.get(record.key)
        if old is None:
            result.added.append(record)
        elif not old.active:
            result.relisted.append(record)
        elif old.hash == record.content_hash():
            result.unchanged += 1
        elif same_in_shared_parts(old, record, shared_parts):
            result.refreshed.append(record)
        else:
            result.amended.append(record)
    for record in result.added + result.relisted + result.amended + result.refreshed:
        record.materialize()
    gone = (key for key, old in loaded.items() if old.active and key not in seen) if full else deleted_keys
    for key in gone:
        old = loaded.get(key)
        if old is not None and old.active:
            result.removed.append((key, old.id))
    return result


def entity_row(record: EntityRecord, source: Source, snapshot: Snapshot) -> dict[str, Any]:
    """The `entities` row of a record (content hash and part hashes kept for the next comparison)."""
    properties = dict(record.properties)
    if record.part_hashes:
        properties["_part_hashes"] = record.part_hashes
    return {
        "source_id": source.id,
        "source_key": record.key,
        "snapshot_id": snapshot.id,
        "schema": record.schema,
        "name": record.name[:1000],
        "countries": tied_countries(record) or None,
        "properties": properties or None,
        "content_hash": record.content_hash(),
        "active": True,
    }


def script_of(name: str) -> str | None:
    """db.names.detect_script, without its per-character lookups for the common all-ASCII name (Latin when
    it has a letter, else none: the only answer detect_script can give for ASCII text)."""
    if name.isascii():
        return "Latin" if _ASCII_LETTER.search(name) else None
    return detect_script(name)


def child_rows(
    record: EntityRecord, entity_id: int, source: Source, snapshot: Snapshot
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Names, designations and relations rows of one record."""
    names = [
        {
            "entity_id": entity_id,
            "name": name[:1000],
            "normalized": normalize_name(name)[:1000],
            "script": script_of(name),
            "kind": kind,
        }
        for name, kind in record.all_names()
    ]
    designations = [
        {
            "entity_id": entity_id,
            "authority": d.authority[:200],
            "list_name": d.list_name[:300],
            "program": (d.program or None) and d.program[:300],
            "listed_on": _date(d.listed_on),
            "reference": (d.reference or None) and d.reference[:500],
            "source_url": d.source_url,
            "details": d.details or None,
        }
        for d in record.designations
    ]
    relations = [
        {
            "source_id": source.id,
            "snapshot_id": snapshot.id,
            "kind": r.kind[:40],
            "from_entity_id": entity_id,
            "from_name": record.name[:1000],
            "to_entity_id": None,
            "to_name": r.to_name[:1000],
            "to_key": r.to_key,
            "details": r.details or None,
            "citation": r.citation or None,
        }
        for r in record.relations
    ]
    return names, designations, relations


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


async def insert_entities(session: AsyncSession, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Bulk-insert entity rows (all of one new snapshot); natural key -> new id."""
    ids: dict[str, int] = {}
    if rows and await copies(session):
        # COPY returns no ids: read them back. The snapshot is new, so its rows are exactly these ones.
        await insert_rows(session, ENTITIES, rows)
        written = select(ENTITIES.c.id, ENTITIES.c.source_key).where(
            ENTITIES.c.source_id == rows[0]["source_id"], ENTITIES.c.snapshot_id == rows[0]["snapshot_id"]
        )
        return {row.source_key: row.id for row in (await session.execute(written)).all()}
    for part in chunks(rows):
        stmt = insert(ENTITIES).returning(ENTITIES.c.id, ENTITIES.c.source_key)
        for row in (await session.execute(stmt, list(part))).all():
            ids[row.source_key] = row.id
    return ids


async def update_entities(session: AsyncSession, rows: list[dict[str, Any]], ids: dict[str, int]) -> None:
    """Bulk-update changed entity rows in place (ids stay stable, so links to them survive)."""
    if not rows:
        return
    stmt = (
        update(ENTITIES)
        .where(ENTITIES.c.id == bindparam("b_id"))
        .values(
            {
                c: bindparam(c)
                for c in (
                    "snapshot_id",
                    "schema",
                    "name",
                    "countries",
                    "properties",
                    "content_hash",
                    "active",
                )
            }
        )
    )
    params = [
        {
            **{k: v for k, v in row.items() if k not in ("source_id", "source_key")},
            "b_id": ids[row["source_key"]],
        }
        for row in rows
    ]
    for part in chunks(params):
        await session.execute(stmt, list(part))


async def delete_children(session: AsyncSession, entity_ids: list[int]) -> None:
    """Drop the names, designations, identifiers and outgoing relations of entities about to be rewritten."""
    for part in chunks(entity_ids):
        await session.execute(delete(NAMES).where(NAMES.c.entity_id.in_(part)))
        await session.execute(delete(DESIGNATIONS).where(DESIGNATIONS.c.entity_id.in_(part)))
        await session.execute(delete(IDENTIFIERS).where(IDENTIFIERS.c.entity_id.in_(part)))
        await session.execute(delete(RELATIONS).where(RELATIONS.c.from_entity_id.in_(part)))


async def insert_children(
    session: AsyncSession,
    records: list[EntityRecord],
    ids: dict[str, int],
    source: Source,
    snapshot: Snapshot,
) -> None:
    """Bulk-insert names, designations, relations and identifiers of the written records."""
    names: list[dict[str, Any]] = []
    designations: list[dict[str, Any]] = []
    relations: list[dict[str, Any]] = []
    identifiers: list[dict[str, Any]] = []
    for record in records:
        n, d, r = child_rows(record, ids[record.key], source, snapshot)
        names.extend(n)
        designations.extend(d)
        relations.extend(r)
        identifiers.extend(identifier_rows(record, ids[record.key]))
    tables = (
        (NAMES, names),
        (DESIGNATIONS, designations),
        (RELATIONS, relations),
        (IDENTIFIERS, identifiers),
    )
    for table, rows in tables:
        await insert_rows(session, table, rows)


async def copies(session: AsyncSession) -> bool:
    """Whether bulk rows go in by COPY (PostgreSQL) rather than INSERT ... VALUES."""
    return (await session.connection()).dialect.name == "postgresql"


async def insert_rows(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys, in the session's transaction.

    PostgreSQL gets them by COPY on the session's own connection: a 1,000-row INSERT ... VALUES is parsed,
    planned and executed row by row, and that server time was most of a large import's. Values go in as
    SQLAlchemy would bind them: JSON columns as json.dumps text (None as JSON null, as the JSON type stores
    it). SQLite takes Core executemany, already about as fast as its driver allows.
    """
    if not rows:
        return
    if not await copies(session):
        for part in chunks(rows):
            await session.execute(insert(table), list(part))
        return
    columns = [table.c[key] for key in rows[0]]
    as_json = [isinstance(column.type, JSON) for column in columns]
    records = [
        tuple(json.dumps(v) if j else v for v, j in zip(row.values(), as_json, strict=True)) for row in rows
    ]
    raw = await (await session.connection()).get_raw_connection()
    driver = raw.driver_connection  # the asyncpg connection, inside the session's transaction
    assert driver is not None
    await driver.copy_records_to_table(
        table.name, records=records, columns=[column.name for column in columns]
    )


async def read_old_state(session: AsyncSession, entity_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The stored name, schema, countries, properties and aliases of entities, to say what changed."""
    state: dict[int, dict[str, Any]] = {}
    for part in chunks(entity_ids):
        stmt = select(Entity.id, Entity.name, Entity.schema, Entity.countries, Entity.properties).where(
            Entity.id.in_(part)
        )
        for row in (await session.execute(stmt)).all():
            state[row.id] = {
                "name": row.name,
                "schema": row.schema,
                "countries": row.countries or [],
                "properties": row.properties or {},
                "aliases": [],
            }
        names = select(EntityName.entity_id, EntityName.name, EntityName.kind).where(
            EntityName.entity_id.in_(part), EntityName.kind != "primary"
        )
        for name_row in (await session.execute(names)).all():
            state[name_row.entity_id]["aliases"].append([name_row.name, name_row.kind])
    return state


async def write(
    session: AsyncSession,
    result: StoreResult,
    loaded: dict[str, Loaded],
    source: Source,
    snapshot: Snapshot,
    *,
    full: bool,
) -> None:
    """Apply a classified snapshot: insert, update, deactivate, and move every present record to it."""
    result.ids = {key: old.id for key, old in loaded.items()}
    rewritten = result.relisted + result.amended + result.refreshed
    result.old_state = await read_old_state(
        session, [result.ids[r.key] for r in result.amended + result.relisted]
    )
    bar = progress(4, f"{source.key}: writing {len(result.added) + len(rewritten):,} entries", unit="steps")
    new_ids = await insert_entities(session, [entity_row(r, source, snapshot) for r in result.added])
    result.ids.update(new_ids)
    bar.update()
    await update_entities(session, [entity_row(r, source, snapshot) for r in rewritten], result.ids)
    bar.update()
    await delete_children(session, [result.ids[r.key] for r in rewritten])
    bar.update()
    await insert_children(session, result.added + rewritten, result.ids, source, snapshot)
    bar.update()
    bar.close()
    removed_ids = [entity_id for _, entity_id in result.removed]
    for part in chunks(removed_ids):
        await session.execute(update(ENTITIES).where(ENTITIES.c.id.in_(part)).values(active=False))
    if full:  # every record still listed now belongs to this snapshot (one statement, not one per row)
        await session.execute(
            update(ENTITIES)
            .where(
                ENTITIES.c.source_id == source.id,
                ENTITIES.c.active.is_(True),
                ENTITIES.c.snapshot_id != snapshot.id,  # rows written above are there already
            )
            .values(snapshot_id=snapshot.id)
        )
