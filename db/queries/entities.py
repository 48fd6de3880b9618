"""What `/entity` shows about a match: its records in every source, grouped, with listings and sources.

Entities stay per source in the database; a real-world company listed by OFAC, carried by OpenSanctions
and described in the team's curated files is three records. `group_records` puts records of the same
entity together when they share an identifier (registration, tax, IMO ... number), or a normalised name
and a country, or are joined by a curated `same_as` relation. Relations, shipments and reported figures
of a group are read by `db.queries.entity_links`.

/entity reads these for every answer, so the statements are built once, select only the columns shown
(no ORM objects: no identity map, no per-row instrumentation) and take their ids as one expanding
parameter (`padded_ids` keeps the number of distinct IN-list lengths, hence of prepared statements, small).

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

from sqlalchemy import BindParameter, bindparam, or_, select
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


def ids_param() -> BindParameter[Any]:
    """`:ids`, an expanding parameter: `column.in_(ids_param())` takes the list given at execution."""
    return bindparam("ids", expanding=True)


def padded_ids(entity_ids: Iterable[int]) -> list[int]:
    """Distinct ids, sorted, the last repeated up to a length of 8, 16, 32 ... (an empty list stays empty).

    An expanding IN list is rendered with one placeholder per value, so every list length is another
    statement for the drivers' prepared-statement caches (asyncpg's holds 100 per connection; a miss costs
    PostgreSQL a round trip to prepare). Repeating a value changes no IN result; Hibernate pads IN lists
    the same way (`in_clause_parameter_padding`).
    """
    ids = sorted(set(entity_ids))
    size = 8
    while size < len(ids):
        size *= 2
    return ids + ids[-1:] * (size - len(ids))


_E, _N, _D, _R = Entity.__table__, EntityName.__table__, Designation.__table__, Relation.__table__
_SNAP, _SRC = Snapshot.__table__, Source.__table__
_RECORDS = (
    select(
        _E.c.id, _E.c.source_key, _E.c.schema, _E.c.name, _E.c.countries, _E.c.properties, _E.c.active,
        _SRC.c.key, _SRC.c.title, _SRC.c.publisher, _SRC.c.url, _SNAP.c.data_date, _SNAP.c.fetched_at,
    )
    .join_from(_E, _SNAP, _SNAP.c.id == _E.c.snapshot_id)
    .join(_SRC, _SRC.c.id == _SNAP.c.source_id)
    .where(_E.c.id.in_(ids_param()))
    .order_by(_E.c.id)
)  # fmt: skip
_NAMES = (
    select(_N.c.entity_id, _N.c.id, _N.c.name, _N.c.normalized, _N.c.script, _N.c.kind)
    .where(_N.c.entity_id.in_(ids_param()))
    .order_by(_N.c.id)
)
_LISTINGS = (
    select(
        _D.c.entity_id, _D.c.authority, _D.c.list_name, _D.c.program, _D.c.listed_on, _D.c.reference,
        _D.c.source_url, _D.c.details,
    )
    .where(_D.c.entity_id.in_(ids_param()))
    .order_by(_D.c.id)
)  # fmt: skip
_SAME_AS = select(_R.c.from_entity_id, _R.c.to_entity_id).where(
    _R.c.kind == "same_as",
    _R.c.from_entity_id.is_not(None),
    _R.c.to_entity_id.is_not(None),
    or_(_R.c.from_entity_id.in_(ids_param()), _R.c.to_entity_id.in_(ids_param())),
)


async def load_records(session: AsyncSession, entity_ids: Iterable[int]) -> dict[int, EntityRecord]:
    """Records by id (in id order), with names, listings and source (unknown ids are left out).

    Args:
        session: an open session.
        entity_ids: ids of `entities` rows.
    Returns:
        entity id -> record.
    """
    ids = padded_ids(entity_ids)
    if not ids:
        return {}
    records: dict[int, EntityRecord] = {}
    sources: dict[tuple[Any, ...], SourceRef] = {}  # one per snapshot, shared by its records
    for row in await session.execute(_RECORDS, {"ids": ids}):
        entity_id, source_key, schema, name, countries, properties, active, *src = row
        records[entity_id] = EntityRecord(
            entity_id,
            sources.setdefault(tuple(src), SourceRef(*src)),
            source_key,
            schema,
            name,
            list(countries or []),
            dict(properties or {}),
            bool(active),
        )
    for entity_id, *name_ref in await session.execute(_NAMES, {"ids": ids}):
        records[entity_id].names.append(NameRef(*name_ref))
    for entity_id, *listing in await session.execute(_LISTINGS, {"ids": ids}):
        records[entity_id].listings.append(Listing(*listing))
    return records


async def same_as_pairs(session: AsyncSession, entity_ids: Sequence[int]) -> list[tuple[int, int]]:
    """Curated `same_as` links touching these entities (both ends resolved)."""
    if not entity_ids:
        return []
    rows = await session.execute(_SAME_AS, {"ids": padded_ids(entity_ids)})
    return [(int(a), int(b)) for a, b in rows.all()]


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

    for first_id, second_id in same_as:
        union(first_id, second_id)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if find(a.entity_id) != find(b.entity_id) and _same_entity(a, b):
                union(a.entity_id, b.entity_id)
    groups: dict[int, list[EntityRecord]] = defaultdict(list)
    for record in ordered:
        groups[find(record.entity_id)].append(record)
    return list(groups.values())


async def expand_same_as(
    session: AsyncSession, entity_ids: Sequence[int], known: Sequence[tuple[int, int]] | None = None
) -> set[int]:
    """The ids plus every entity joined to them by `same_as`, transitively (a handful of hops at most).

    Args:
        session: an open session.
        entity_ids: where to start.
        known: `same_as_pairs` of a superset of `entity_ids`, already read: the first hop is taken from
            it instead of the database.
    """
    found = set(entity_ids)
    frontier = set(entity_ids)
    for hop in range(5):
        if hop == 0 and known is not None:
            pairs = [(a, b) for a, b in known if a in frontier or b in frontier]
        else:
            pairs = await same_as_pairs(session, sorted(frontier))
        new = {x for pair in pairs for x in pair} - found
        if not new:
            break
        found |= new
        frontier = new
    return found
