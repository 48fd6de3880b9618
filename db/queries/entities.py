"""What `/entity` shows about a match: its records in every source, grouped, with listings and sources.

Entities stay per source in the database; a real-world company listed by OFAC, carried by OpenSanctions
and described in the team's curated files is three records. `group_records` puts records of the same
entity together when they share an identifier (registration, tax, IMO ... number), or a normalised name
and a country, or are joined by a curated `same_as` relation. Relations, shipments and reported figures
of a group are read by `db.queries.entity_links`.

`properties` follows the importers' vocabulary (db.ingest.entity_records): addresses, identifiers,
birth_dates, nationalities, established, websites, remarks, notes ...
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Designation, Entity, EntityName, Relation, Snapshot, Source

_IDENTIFIER_MIN = 5  # shorter numbers (e.g. "123") are too likely to collide between unrelated records
_NAME_KEY_MIN = 4


@dataclass(frozen=True)
class SourceRef:
    """Where a record comes from: the source, and the snapshot it was last loaded from."""

    key: str
    title: str
    publisher: str
    url: str | None
    data_date: str | None
    loaded_at: dt.datetime | None


@dataclass(frozen=True)
class NameRef:
    """A name or alias as published, with its script and kind (primary, aka, fka, nka, weak)."""

    name_id: int
    name: str
    normalized: str
    script: str | None
    kind: str


@dataclass(frozen=True)
class Listing:
    """One designation of a record."""

    authority: str
    list_name: str
    program: str | None
    listed_on: dt.date | None
    reference: str | None
    source_url: str | None
    details: dict[str, Any] | None

    @property
    def label(self) -> str:
        """Short form for charts and candidate lines: `SDN List (RUSSIA-EO14024)`."""
        return f"{self.list_name} ({self.program})" if self.program else self.list_name


@dataclass
class EntityRecord:
    """One record of one source, with its names and listings."""

    entity_id: int
    source: SourceRef
    source_key: str
    schema: str
    name: str
    countries: list[str]
    properties: dict[str, Any]
    active: bool
    names: list[NameRef] = field(default_factory=list)
    listings: list[Listing] = field(default_factory=list)

    def values(self, key: str) -> list[Any]:
        """A property as a list, whether stored as one value or several."""
        value = self.properties.get(key)
        if value is None or value == "":
            return []
        return list(value) if isinstance(value, list) else [value]

    def identifiers(self) -> list[dict[str, Any]]:
        """Identifier dicts (`type`, `number`, `country` ...); plain strings become `{"number": s}`."""
        return [i if isinstance(i, dict) else {"number": str(i)} for i in self.values("identifiers")]

    def addresses(self) -> list[str]:
        """Addresses as one line each."""
        out = []
        for address in self.values("addresses"):
            if isinstance(address, dict):
                parts = [address.get(k) for k in ("street", "city", "country_name")]
                line = address.get("full") or ", ".join(str(p) for p in parts if p)
            else:
                line = str(address)
            if line and line not in out:
                out.append(line)
        return out

    def birth_dates(self) -> list[str]:
        return [str(d) for d in self.values("birth_dates")]


def identifier_keys(record: EntityRecord) -> set[str]:
    """Comparable forms of a record's identifiers: digits and letters, upper case, long enough."""
    keys = set()
    for ident in record.identifiers():
        number = re.sub(r"[^0-9A-Za-z]", "", str(ident.get("number") or "")).upper()
        if len(number) >= _IDENTIFIER_MIN:
            keys.add(number)
    return keys


async def _sources(session: AsyncSession, snapshot_ids: set[int]) -> dict[int, SourceRef]:
    stmt = (
        select(Snapshot.id, Snapshot.data_date, Snapshot.fetched_at, Source)
        .join(Source, Source.id == Snapshot.source_id)
        .where(Snapshot.id.in_(snapshot_ids))
    )
    return {
        sid: SourceRef(src.key, src.title, src.publisher, src.url, data_date, fetched_at)
        for sid, data_date, fetched_at, src in (await session.execute(stmt)).all()
    }


async def load_records(session: AsyncSession, entity_ids: Iterable[int]) -> dict[int, EntityRecord]:
    """Records by id, with names, listings and source (unknown ids are left out).

    Args:
        session: an open session.
        entity_ids: ids of `entities` rows.
    Returns:
        entity id -> record.
    """
    ids = sorted(set(entity_ids))
    if not ids:
        return {}
    rows = (await session.execute(select(Entity).where(Entity.id.in_(ids)))).scalars().all()
    sources = await _sources(session, {e.snapshot_id for e in rows})
    records = {
        e.id: EntityRecord(
            e.id,
            sources[e.snapshot_id],
            e.source_key,
            e.schema,
            e.name,
            list(e.countries or []),
            dict(e.properties or {}),
            bool(e.active),
        )
        for e in rows
    }
    names = select(EntityName).where(EntityName.entity_id.in_(ids)).order_by(EntityName.id)
    for n in (await session.execute(names)).scalars():
        records[n.entity_id].names.append(NameRef(n.id, n.name, n.normalized, n.script, n.kind))
    listings = select(Designation).where(Designation.entity_id.in_(ids)).order_by(Designation.id)
    for d in (await session.execute(listings)).scalars():
        records[d.entity_id].listings.append(
            Listing(d.authority, d.list_name, d.program, d.listed_on, d.reference, d.source_url, d.details)
        )
    return records


async def same_as_pairs(session: AsyncSession, entity_ids: Sequence[int]) -> list[tuple[int, int]]:
    """Curated `same_as` links touching these entities (both ends resolved)."""
    if not entity_ids:
        return []
    stmt = select(Relation.from_entity_id, Relation.to_entity_id).where(
        Relation.kind == "same_as",
        Relation.from_entity_id.is_not(None),
        Relation.to_entity_id.is_not(None),
        or_(Relation.from_entity_id.in_(entity_ids), Relation.to_entity_id.in_(entity_ids)),
    )
    return [(int(a), int(b)) for a, b in (await session.execute(stmt)).all()]


def _same_entity(a: EntityRecord, b: EntityRecord) -> bool:
    """Identifier shared, or a normalised name shared with a country in common (people: no other birth date)."""
    if identifier_keys(a) & identifier_keys(b):
        return True
    names_a = {n.normalized for n in a.names if len(n.normalized) >= _NAME_KEY_MIN}
    if not names_a & {n.normalized for n in b.names}:
        return False
    if not set(a.countries) & set(b.countries):
        return False
    births_a, births_b = set(a.birth_dates()), set(b.birth_dates())
    return not (births_a and births_b and not births_a & births_b)


def group_records(
    ordered: Sequence[EntityRecord], same_as: Iterable[tuple[int, int]] = ()
) -> list[list[EntityRecord]]:
    """Groups of records of the same real-world entity, in the order of each group's first record.

    Args:
        ordered: records, best match first.
        same_as: curated `same_as` pairs of entity ids.
    Returns:
        Groups (lists of records, best match first within each).
    """
    parent = {r.entity_id: r.entity_id for r in ordered}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(x: int, y: int) -> None:
        if x in parent and y in parent:
            parent[find(y)] = find(x)

    for a, b in same_as:
        union(a, b)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if find(a.entity_id) != find(b.entity_id) and _same_entity(a, b):
                union(a.entity_id, b.entity_id)
    groups: dict[int, list[EntityRecord]] = defaultdict(list)
    for record in ordered:
        groups[find(record.entity_id)].append(record)
    return list(groups.values())


async def expand_same_as(session: AsyncSession, entity_ids: Sequence[int]) -> set[int]:
    """The ids plus every entity joined to them by `same_as`, transitively (a handful of hops at most)."""
    found = set(entity_ids)
    frontier = set(entity_ids)
    for _ in range(5):
        pairs = await same_as_pairs(session, sorted(frontier))
        new = {x for pair in pairs for x in pair} - found
        if not new:
            break
        found |= new
        frontier = new
    return found
