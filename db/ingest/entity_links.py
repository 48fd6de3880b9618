"""Resolve relation targets to entity ids: by qualified natural key, or by exact name within a source.

OFAC's `Linked To: NAME.` gives only a name; it is matched (exact spelling, with or without a final period)
against the primary names and aliases of the same source's active records. A name shared by several
records stays unresolved rather than guessed. OpenSanctions and curated links carry keys
("opensanctions:NK-..", "ofac_sdn:38641"), looked up in their source whenever either side is (re)loaded.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.ingest.entity_store import RELATIONS, chunks
from db.models import Entity, EntityName, Relation, Source


def name_key(name: str) -> str:
    """How names are compared for `Linked To` resolution: casefolded, single-spaced, no final period."""
    return " ".join(name.casefold().split()).rstrip(". ")


def split_key(qualified: str) -> tuple[str, str] | None:
    """`ofac_sdn:38641` -> ("ofac_sdn", "38641"); keys of OpenSanctions datasets keep their colon."""
    source, sep, key = qualified.rpartition(":")
    return (source, key) if sep and source and key else None


async def _pending(session: AsyncSession, source: Source) -> list[Any]:
    stmt = select(Relation.id, Relation.source_id, Relation.to_name, Relation.to_key).where(
        Relation.to_entity_id.is_(None),
        or_(Relation.source_id == source.id, Relation.to_key.like(f"{source.key}:%")),
    )
    return list((await session.execute(stmt)).all())


async def _ids_by_key(session: AsyncSession, qualified: set[str]) -> dict[str, int]:
    by_source: dict[str, set[str]] = defaultdict(set)
    for key in qualified:
        parts = split_key(key)
        if parts:
            by_source[parts[0]].add(parts[1])
    out: dict[str, int] = {}
    for source_key, keys in by_source.items():
        for part in chunks(sorted(keys)):
            stmt = (
                select(Entity.id, Entity.source_key)
                .join(Source, Source.id == Entity.source_id)
                .where(Source.key == source_key, Entity.source_key.in_(part))
            )
            for row in (await session.execute(stmt)).all():
                out[f"{source_key}:{row.source_key}"] = row.id
    return out


async def _ids_by_name(session: AsyncSession, source: Source, wanted: set[str]) -> dict[str, int]:
    """Name key -> entity id for the wanted names (exact spelling with or without a final period)."""
    variants = sorted({v for name in wanted for v in (name, name.rstrip(". "), name.rstrip(". ") + ".")})
    found: dict[str, set[int]] = defaultdict(set)
    for part in chunks(variants):
        stmt = (
            select(EntityName.name, EntityName.entity_id)
            .join(Entity, Entity.id == EntityName.entity_id)
            .where(Entity.source_id == source.id, Entity.active.is_(True), EntityName.name.in_(part))
        )
        for row in (await session.execute(stmt)).all():
            found[name_key(row.name)].add(row.entity_id)
    return {name: next(iter(ids)) for name, ids in found.items() if len(ids) == 1}


async def resolve_relations(session: AsyncSession, source: Source) -> int:
    """Fill `to_entity_id` of unresolved relations of (or pointing into) a source; returns how many."""
    pending = await _pending(session, source)
    if not pending:
        return 0
    by_key = await _ids_by_key(session, {row.to_key for row in pending if row.to_key})
    wanted = {row.to_name for row in pending if row.source_id == source.id and not row.to_key}
    by_name = await _ids_by_name(session, source, wanted) if wanted else {}
    updates = []
    for row in pending:
        target = by_key.get(row.to_key) if row.to_key else None
        if target is None and not row.to_key and row.source_id == source.id:
            target = by_name.get(name_key(row.to_name))
        if target is not None:
            updates.append({"b_id": row.id, "to_entity_id": target})
    stmt = (
        update(RELATIONS)
        .where(RELATIONS.c.id == bindparam("b_id"))
        .values(to_entity_id=bindparam("to_entity_id"))
    )
    for part in chunks(updates):
        await session.execute(stmt, list(part))
    return len(updates)
