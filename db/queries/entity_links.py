"""The links of an entity group: relations both ways, curated shipments and reported figures, with sources.

Read by `/entity` for its card and network chart. A relation row (kind K, from A, to B) reads "B is A's K"
(`SINNO ELECTRONICS` --linked_to--> `RADIOAVTOMATIKA LLC`, from OFAC's remark on SINNO; a curated
`China Poly Group` --subsidiary--> `Poly Technologies`); the card shows outgoing and incoming links alike,
each with the source that states it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Designation, Entity, Relation, ReportedFigure, Shipment, Snapshot, Source
from db.names import normalize_name

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
    items = citation.get("citations") if isinstance(citation.get("citations"), list) else [citation]
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


async def _cited_by_snapshot(
    session: AsyncSession, snapshot_ids: Collection[int]
) -> dict[int, tuple[Any, ...]]:
    if not snapshot_ids:
        return {}
    stmt = (
        select(Snapshot.id, Source.title, Source.publisher, Snapshot.data_date, Source.url)
        .join(Source, Source.id == Snapshot.source_id)
        .where(Snapshot.id.in_(sorted(snapshot_ids)))
    )
    return {row[0]: tuple(row[1:]) for row in (await session.execute(stmt)).all()}


async def neighbours(session: AsyncSession, entity_ids: Collection[int]) -> dict[int, Neighbour]:
    """Name, type, source and listing labels of the entities at the other end of links."""
    if not entity_ids:
        return {}
    ids = sorted(entity_ids)
    labels: dict[int, list[str]] = defaultdict(list)
    stmt = select(Designation.entity_id, Designation.list_name, Designation.program).where(
        Designation.entity_id.in_(ids)
    )
    for entity_id, list_name, program in (await session.execute(stmt)).all():
        label = f"{list_name} ({program})" if program else list_name
        if label not in labels[entity_id]:
            labels[entity_id].append(label)
    stmt2 = (
        select(Entity.id, Entity.name, Entity.schema, Source.key, Entity.active)
        .join(Source, Source.id == Entity.source_id)
        .where(Entity.id.in_(ids))
    )
    return {
        i: Neighbour(i, name, schema, key, bool(active), tuple(labels.get(i, ())))
        for i, name, schema, key, active in (await session.execute(stmt2)).all()
    }


async def _relation_rows(session: AsyncSession, ids: Sequence[int], limit: int) -> list[Relation]:
    stmt = (
        select(Relation)
        .where(or_(Relation.from_entity_id.in_(ids), Relation.to_entity_id.in_(ids)))
        .order_by(Relation.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def relations_of(
    session: AsyncSession, group_ids: Collection[int], *, limit: int = MAX_RELATIONS
) -> list[Link]:
    """Links touching the group (both directions), links inside the group left out."""
    ids = sorted(group_ids)
    if not ids:
        return []
    rows = [
        r
        for r in await _relation_rows(session, ids, limit)
        if not (r.from_entity_id in group_ids and r.to_entity_id in group_ids)
    ]
    cited = await _cited_by_snapshot(session, {r.snapshot_id for r in rows})
    others = {r.to_entity_id if r.from_entity_id in group_ids else r.from_entity_id for r in rows}
    known = await neighbours(session, {o for o in others if o is not None})
    links = []
    for r in rows:
        outgoing = r.from_entity_id in group_ids
        other_id = r.to_entity_id if outgoing else r.from_entity_id
        title, publisher, data_date, url = cited.get(r.snapshot_id, ("?", "?", None, None))
        links.append(
            Link(
                r.id,
                r.kind,
                outgoing,
                r.from_entity_id if outgoing else r.to_entity_id,
                r.to_name if outgoing else r.from_name,
                known.get(other_id) if other_id else None,
                r.details,
                Cited(title, publisher, data_date, url, r.citation),
            )
        )
    return links


async def shipments_of(session: AsyncSession, group_ids: Collection[int]) -> ShipmentSummary | None:
    """Summary of curated shipments with a group record as exporter or importer (None if there are none)."""
    ids = sorted(group_ids)
    stmt = (
        select(Shipment)
        .where(or_(Shipment.exporter_entity_id.in_(ids), Shipment.importer_entity_id.in_(ids)))
        .order_by(Shipment.date, Shipment.id)
    )
    rows = list((await session.execute(stmt)).scalars())
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
    cited_rows = await _cited_by_snapshot(session, {s.snapshot_id for s in rows})
    cited: list[Cited] = []
    for s in rows:
        title, publisher, data_date, url = cited_rows.get(s.snapshot_id, ("?", "?", None, None))
        c = Cited(title, publisher, data_date, url, s.citation)
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


def _shipment_line(s: Shipment, group_ids: Collection[int]) -> str:
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
    rows = list(
        (
            await session.execute(select(ReportedFigure).order_by(ReportedFigure.id).limit(MAX_FIGURES))
        ).scalars()
    )
    matched = []
    for f in rows:
        subject = f" {normalize_name(f.subject)} "
        if any(f" {k} " in subject for k in keys):
            matched.append(f)
    cited = await _cited_by_snapshot(session, {f.snapshot_id for f in matched})
    out = []
    for f in matched:
        title, publisher, data_date, url = cited.get(f.snapshot_id, ("?", "?", None, None))
        out.append(
            Figure(
                f.subject,
                f.statement,
                f.value,
                f.unit,
                f.period,
                f.hs_code,
                Cited(title, publisher, data_date, url, f.citation),
            )
        )
    return out


async def group_links(
    session: AsyncSession, group_ids: Collection[int], name_keys: Collection[str], *, second_hop: int = 30
) -> GroupLinks:
    """Relations (and, for the chart, up to `second_hop` links of the neighbours), shipments and figures.

    Args:
        session: an open session.
        group_ids: entity ids of the records grouped as one entity.
        name_keys: their normalised names (to find reported figures by subject).
        second_hop: how many links of the neighbours to read for the network chart.
    """
    ids = set(group_ids)
    links = await relations_of(session, ids)
    result = GroupLinks(links=links)
    neighbour_ids = {lk.other.entity_id for lk in links if lk.other is not None} - ids
    if neighbour_ids and second_hop:
        for link in await relations_of(session, neighbour_ids, limit=second_hop * 3):
            if link.group_entity_id is not None and (link.other is None or link.other.entity_id not in ids):
                result.second_hop.append((link.group_entity_id, link))
        result.second_hop = result.second_hop[:second_hop]
    result.shipments = await shipments_of(session, ids)
    result.figures = await figures_about(session, name_keys)
    return result
