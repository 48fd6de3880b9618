"""The links of an entity group: relations both ways, curated shipments and reported figures, with sources.

Read by `/entity` for its card and network chart. A relation row (kind K, from A, to B) reads "B is A's K"
(`SINNO ELECTRONICS` --linked_to--> `RADIOAVTOMATIKA LLC`, from OFAC's remark on SINNO; a curated
`China Poly Group` --subsidiary--> `Poly Technologies`); the card shows outgoing and incoming links alike,
each with the source that states it.

Most records have no relations, shipments or figures: `links_present` answers for all three in one round
trip, and `group_links` skips the reads it shows to be empty. Statements are built once, select only the
columns used, and bring each fact's source along (an outer join, no second query).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, Row, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Designation, Entity, Relation, ReportedFigure, Shipment, Snapshot, Source
from db.names import normalize_name
from db.queries.entities import ids_param, padded_ids

# How a relation row (kind, from A, to B) reads from A and from B. The importers write `ownership` from
# owner to asset (FollowTheMoney's Ownership), `subsidiary` from parent to subsidiary, `parent` from child
# to parent, `linked_to` from the record whose remark names the other.
_PHRASES = {
    "ownership": ("owns", "owned by"),
    "owner": ("owned by", "owner of"),
    "subsidiary": ("has subsidiary", "subsidiary of"),
    "parent": ("has parent", "parent of"),
    "linked_to": ("linked to", "linked to"),
    "same_as": ("same as", "same as"),
    "unknown_link": ("linked to", "linked to"),
}
MAX_RELATIONS = 200  # per query; a hub such as a state conglomerate can have thousands
MAX_FIGURES = 2000
SHOW_SHIPMENTS = 5  # up to this many shipments are also listed one by one


def relation_words(kind: str, outgoing: bool, details: dict[str, Any] | None = None) -> str:
    """How a relation reads from one end: from A `owns` B, from B `owned by` A; `linked to` both ways.

    A share, role or relationship in the details is added in brackets (`owns (100%)`).
    """
    words = _PHRASES.get(kind, (kind.replace("_", " "), kind.replace("_", " ")))[0 if outgoing else 1]
    extra = [str(v) for k in ("share", "role", "relationship") if (v := (details or {}).get(k))]
    extra = [e for e in extra if e.lower() not in words]
    return f"{words} ({', '.join(extra)})" if extra else words


def citation_items(citation: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The bibliographic citations inside a stored `citation` value (curated facts keep a list of them).

    Returns dicts with publisher, title, date, url, note; empty when the value only names a list (an
    OFAC remark), which the source's own citation covers.
    """
    if not citation:
        return []
    nested = citation.get("citations")
    items = nested if isinstance(nested, list) else [citation]
    return [i for i in items if isinstance(i, dict) and (i.get("title") or i.get("url"))]


@dataclass(frozen=True)
class Cited:
    """The source of a linked fact: the list or file it came from, and its own citation if it has one."""

    source_title: str
    publisher: str
    data_date: str | None
    source_url: str | None
    citation: dict[str, Any] | None


@dataclass(frozen=True)
class Neighbour:
    """The entity at the other end of a link: name, type, listings (short labels), still listed or not."""

    entity_id: int
    name: str
    schema: str
    source_key: str
    active: bool
    listings: tuple[str, ...]
    countries: tuple[str, ...] = ()  # ISO2, lower case


@dataclass(frozen=True)
class Link:
    """One relation seen from the group: `outgoing` when a group record carries it."""

    relation_id: int
    kind: str
    outgoing: bool
    group_entity_id: int | None
    other_name: str
    other: Neighbour | None
    details: dict[str, Any] | None
    cited: Cited


@dataclass(frozen=True)
class ShipmentSummary:
    """Curated shipments in which the group is exporter or importer."""

    count: int
    first: dt.date | None
    last: dt.date | None
    total_value_usd: float | None
    valued: int  # shipments with a known value
    top_hs: list[tuple[str, int, float]]  # (HS code, shipments, value)
    counterparties: list[tuple[str, int]]
    cited: list[Cited]
    items: list[str] = field(default_factory=list)  # the shipments one by one, when there are few


@dataclass(frozen=True)
class Figure:
    """A figure published by someone else about the entity, with its citation."""

    subject: str
    statement: str
    value: float | None
    unit: str | None
    period: str | None
    hs_code: str | None
    cited: Cited


@dataclass
class GroupLinks:
    """Everything linked to a group of records."""

    links: list[Link] = field(default_factory=list)
    second_hop: list[tuple[int, Link]] = field(default_factory=list)  # (neighbour entity id, its link)
    shipments: ShipmentSummary | None = None
    figures: list[Figure] = field(default_factory=list)


@dataclass(frozen=True)
class LinksPresent:
    """Whether any relation or curated shipment touches `ids`, and whether any reported figure is loaded."""

    ids: frozenset[int]
    relations: bool
    shipments: bool
    figures: bool


_E, _D, _R, _SHIP, _FIG = (m.__table__ for m in (Entity, Designation, Relation, Shipment, ReportedFigure))
_SNAP, _SRC = Snapshot.__table__, Source.__table__
_CITED = (_SRC.c.title, _SRC.c.publisher, _SNAP.c.data_date, _SRC.c.url)
_NO_SOURCE = ("?", "?", None, None)


def _touching(*columns: Any) -> Any:
    return or_(*(c.in_(ids_param()) for c in columns))


def _with_source(table: Any) -> Any:
    """`table` with the snapshot and source of each row (outer joins: a row without them is still read)."""
    return table.outerjoin(_SNAP, _SNAP.c.id == table.c.snapshot_id).outerjoin(
        _SRC, _SRC.c.id == _SNAP.c.source_id
    )


def _cited(row: Sequence[Any], citation: dict[str, Any] | None) -> Cited:
    """The Cited of a row ending in the `_CITED` columns ("?" when its snapshot or source is gone)."""
    title, publisher, data_date, url = row[-4:] if row[-4] is not None else _NO_SOURCE
    return Cited(title, publisher, data_date, url, citation)


_PRESENT = select(
    select(_R.c.id).where(_touching(_R.c.from_entity_id, _R.c.to_entity_id)).exists(),
    select(_SHIP.c.id).where(_touching(_SHIP.c.exporter_entity_id, _SHIP.c.importer_entity_id)).exists(),
    select(_FIG.c.id).exists(),
)
_NEIGHBOURS = (
    select(_E.c.id, _E.c.name, _E.c.schema, _SRC.c.key, _E.c.active, _E.c.countries)
    .join_from(_E, _SRC, _SRC.c.id == _E.c.source_id)
    .where(_E.c.id.in_(ids_param()))
)
# A query of its own, not an outer join above: without table statistics PostgreSQL would hash-join the
# whole designations table instead of using its entity index.
_LABELS = (
    select(_D.c.entity_id, _D.c.list_name, _D.c.program)
    .where(_D.c.entity_id.in_(ids_param()))
    .order_by(_D.c.id)
)
_RELATIONS = (
    select(
        _R.c.id, _R.c.kind, _R.c.from_entity_id, _R.c.to_entity_id, _R.c.from_name, _R.c.to_name,
        _R.c.details, _R.c.citation, *_CITED,
    )
    .select_from(_with_source(_R))
    .where(_touching(_R.c.from_entity_id, _R.c.to_entity_id))
    .order_by(_R.c.id)
    .limit(bindparam("limit", type_=Integer))
)  # fmt: skip
_SHIPMENTS = (
    select(
        _SHIP.c.date, _SHIP.c.exporter_name, _SHIP.c.exporter_entity_id, _SHIP.c.importer_name,
        _SHIP.c.hs_code, _SHIP.c.value_usd, _SHIP.c.description, _SHIP.c.citation, *_CITED,
    )
    .select_from(_with_source(_SHIP))
    .where(_touching(_SHIP.c.exporter_entity_id, _SHIP.c.importer_entity_id))
    .order_by(_SHIP.c.date, _SHIP.c.id)
)  # fmt: skip
_FIGURES = (
    select(
        _FIG.c.subject, _FIG.c.statement, _FIG.c.value, _FIG.c.unit, _FIG.c.period, _FIG.c.hs_code,
        _FIG.c.citation, *_CITED,
    )
    .select_from(_with_source(_FIG))
    .order_by(_FIG.c.id)
    .limit(MAX_FIGURES)
)  # fmt: skip


async def links_present(session: AsyncSession, entity_ids: Collection[int]) -> LinksPresent:
    """One round trip that tells which of relations, shipments and figures `group_links` needs to read."""
    ids = frozenset(entity_ids)
    if not ids:
        return LinksPresent(ids, False, False, False)
    relations, shipments, figures = (await session.execute(_PRESENT, {"ids": padded_ids(ids)})).one()
    return LinksPresent(ids, bool(relations), bool(shipments), bool(figures))


async def neighbours(session: AsyncSession, entity_ids: Collection[int]) -> dict[int, Neighbour]:
    """Name, type, source and listing labels of the entities at the other end of links."""
    if not entity_ids:
        return {}
    params = {"ids": padded_ids(entity_ids)}
    labels: dict[int, list[str]] = defaultdict(list)
    for entity_id, list_name, program in await session.execute(_LABELS, params):
        label = f"{list_name} ({program})" if program else list_name
        if label not in labels[entity_id]:
            labels[entity_id].append(label)
    return {
        i: Neighbour(i, name, schema, key, bool(active), tuple(labels.get(i, ())), tuple(countries or ()))
        for i, name, schema, key, active, countries in await session.execute(_NEIGHBOURS, params)
    }


async def relations_of(
    session: AsyncSession, group_ids: Collection[int], *, limit: int = MAX_RELATIONS
) -> list[Link]:
    """Links touching the group (both directions), links inside the group left out."""
    if not group_ids:
        return []
    params = {"ids": padded_ids(group_ids), "limit": limit}
    rows = [
        r
        for r in await session.execute(_RELATIONS, params)
        if not (r.from_entity_id in group_ids and r.to_entity_id in group_ids)
    ]
    others = {r.to_entity_id if r.from_entity_id in group_ids else r.from_entity_id for r in rows}
    known = await neighbours(session, {o for o in others if o is not None})
    links = []
    for r in rows:
        outgoing = r.from_entity_id in group_ids
        other_id = r.to_entity_id if outgoing else r.from_entity_id
        links.append(
            Link(
                r.id,
                r.kind,
                outgoing,
                r.from_entity_id if outgoing else r.to_entity_id,
                r.to_name if outgoing else r.from_name,
                known.get(other_id) if other_id else None,
                r.details,
                _cited(r, r.citation),
            )
        )
    return links


async def shipments_of(session: AsyncSession, group_ids: Collection[int]) -> ShipmentSummary | None:
    """Summary of curated shipments with a group record as exporter or importer (None if there are none)."""
    if not group_ids:
        return None
    rows = list(await session.execute(_SHIPMENTS, {"ids": padded_ids(group_ids)}))
    if not rows:
        return None
    by_hs: dict[str, list[float]] = defaultdict(list)
    parties: Counter[str] = Counter()
    for s in rows:
        by_hs[s.hs_code or "unknown"].append(s.value_usd or 0.0)
        parties[s.importer_name if s.exporter_entity_id in group_ids else s.exporter_name] += 1
    values = [s.value_usd for s in rows if s.value_usd is not None]
    dates = [s.date for s in rows if s.date is not None]
    top = sorted(((hs, len(v), sum(v)) for hs, v in by_hs.items()), key=lambda t: (-t[1], -t[2]))[:5]
    cited: list[Cited] = []
    for s in rows:
        c = _cited(s, s.citation)
        if c not in cited:
            cited.append(c)
    items = [_shipment_line(s, group_ids) for s in rows] if len(rows) <= SHOW_SHIPMENTS else []
    return ShipmentSummary(
        len(rows),
        min(dates) if dates else None,
        max(dates) if dates else None,
        sum(values) if values else None,
        len(values),
        top,
        parties.most_common(5),
        cited,
        items,
    )


def _shipment_line(s: Row[Any], group_ids: Collection[int]) -> str:
    """`2022-01 · to Almaz Antey · HS 8526 · $1.2K · description` (what is known of one shipment)."""
    other = f"to {s.importer_name}" if s.exporter_entity_id in group_ids else f"from {s.exporter_name}"
    parts = [
        s.date.isoformat() if s.date else "undated",
        other,
        f"HS {s.hs_code}" if s.hs_code else None,
        f"${s.value_usd:,.0f}" if s.value_usd is not None else None,
        s.description,
    ]
    return " · ".join(p for p in parts if p)


async def figures_about(session: AsyncSession, name_keys: Collection[str]) -> list[Figure]:
    """Reported figures whose subject names the group (normalised subject equal to, or containing, a name)."""
    keys = {k for k in name_keys if len(k) >= 4}
    if not keys:
        return []
    out = []
    for f in await session.execute(_FIGURES):
        subject = f" {normalize_name(f.subject)} "
        if any(f" {k} " in subject for k in keys):
            cited = _cited(f, f.citation)
            out.append(Figure(f.subject, f.statement, f.value, f.unit, f.period, f.hs_code, cited))
    return out


async def group_links(
    session: AsyncSession,
    group_ids: Collection[int],
    name_keys: Collection[str],
    *,
    second_hop: int = 30,
    present: LinksPresent | None = None,
) -> GroupLinks:
    """Relations (and, for the chart, up to `second_hop` links of the neighbours), shipments and figures.

    Args:
        session: an open session.
        group_ids: entity ids of the records grouped as one entity.
        name_keys: their normalised names (to find reported figures by subject).
        second_hop: how many links of the neighbours to read for the network chart.
        present: `links_present` of these ids or more (ignored otherwise): what it shows empty is not read.
    """
    ids = set(group_ids)
    if present is None or not ids <= present.ids:
        present = LinksPresent(frozenset(ids), True, True, True)
    links = await relations_of(session, ids) if present.relations else []
    result = GroupLinks(links=links)
    neighbour_ids = {lk.other.entity_id for lk in links if lk.other is not None} - ids
    if neighbour_ids and second_hop:
        for link in await relations_of(session, neighbour_ids, limit=second_hop * 3):
            if link.group_entity_id is not None and (link.other is None or link.other.entity_id not in ids):
                result.second_hop.append((link.group_entity_id, link))
        result.second_hop = result.second_hop[:second_hop]
    result.shipments = await shipments_of(session, ids) if present.shipments else None
    result.figures = await figures_about(session, name_keys) if present.figures else []
    return result
