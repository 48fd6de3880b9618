"""What an alert shows: the detected changes with their listing facts, and enrichment from the database.

Enrichment answers a reporter's first questions about a newly listed (or delisted) entity: is it on other
lists, who owns it or whom does it own, do our curated files hold shipments of it, and how large is the
trade in the HS codes of those shipments. Every item carries the source it came from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import (
    Designation,
    Entity,
    EntityName,
    ListChange,
    Relation,
    Shipment,
    Snapshot,
    Source,
    TradeFlow,
)

_CHUNK = 900


@dataclass(frozen=True)
class Listing:
    """One designation of the entity as its source states it."""

    authority: str
    list_name: str
    program: str | None = None
    listed_on: str | None = None
    reference: str | None = None
    source_url: str | None = None


@dataclass
class ChangeView:
    """One detected change with everything an alert states about it."""

    change_id: int
    change: str  # added, removed, amended
    entity_key: str
    name: str
    detected_at: dt.datetime
    source_key: str
    source_title: str
    publisher: str
    source_url: str | None
    data_date: str | None
    previous_data_date: str | None
    entity_id: int | None = None
    schema: str | None = None
    countries: list[str] = field(default_factory=list)  # ISO2, upper case
    aliases: list[str] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)
    listings: list[Listing] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


async def load_changes(session: AsyncSession, change_ids: Sequence[int]) -> list[ChangeView]:
    """The changes with their source, snapshot dates, entity facts, aliases and designations.

    Args:
        session: an open session.
        change_ids: `list_changes` ids; unknown ids are skipped.
    Returns:
        One `ChangeView` per change found, ordered by change id.
    """
    previous = aliased(Snapshot)
    views: list[ChangeView] = []
    for chunk in _chunks(sorted(set(change_ids))):
        stmt = (
            select(ListChange, Source, Snapshot.data_date, previous.data_date, Entity)
            .join(Source, Source.id == ListChange.source_id)
            .join(Snapshot, Snapshot.id == ListChange.snapshot_id)
            .outerjoin(previous, previous.id == ListChange.previous_snapshot_id)
            .outerjoin(Entity, Entity.id == ListChange.entity_id)
            .where(ListChange.id.in_(chunk))
            .order_by(ListChange.id)
        )
        for change, source, data_date, previous_date, entity in (await session.execute(stmt)).tuples():
            views.append(_view(change, source, data_date, previous_date, entity))
    await _add_names_and_listings(session, views)
    return views


def _view(
    change: ListChange,
    source: Source,
    data_date: str | None,
    previous_date: str | None,
    entity: Entity | None,
) -> ChangeView:
    details = dict(change.details or {})
    view = ChangeView(
        change_id=change.id,
        change=change.change,
        entity_key=change.entity_key,
        name=change.name,
        detected_at=change.detected_at,
        source_key=source.key,
        source_title=source.title,
        publisher=source.publisher,
        source_url=source.url,
        data_date=data_date,
        previous_data_date=previous_date,
        entity_id=change.entity_id,
        details=details,
    )
    if entity is not None:
        view.schema = entity.schema
        view.countries = sorted({c.upper() for c in entity.countries or [] if c})
        view.properties = {k: v for k, v in (entity.properties or {}).items() if not k.startswith("_")}
    schema = details.get("schema")
    view.schema = view.schema or (schema if isinstance(schema, str) else None)
    if not view.countries:
        view.countries = sorted({str(c).upper() for c in _list(details.get("countries")) if c})
    view.programs = [str(p) for p in _list(view.properties.get("programs")) or _list(details.get("programs"))]
    return view


def _list(value: object) -> list[Any]:
    """A JSON value that should be a list, or [] (stored JSON is not typed)."""
    return list(value) if isinstance(value, list) else []


async def _add_names_and_listings(session: AsyncSession, views: list[ChangeView]) -> None:
    by_entity = {v.entity_id: v for v in views if v.entity_id is not None}
    ids = sorted(by_entity)
    for chunk in _chunks(ids):
        names = select(EntityName.entity_id, EntityName.name).where(
            EntityName.entity_id.in_(chunk), EntityName.kind != "primary"
        )
        for entity_id, name in (await session.execute(names.order_by(EntityName.id))).tuples():
            if name not in by_entity[entity_id].aliases and name != by_entity[entity_id].name:
                by_entity[entity_id].aliases.append(name)
        listings = select(Designation).where(Designation.entity_id.in_(chunk)).order_by(Designation.id)
        for d in (await session.execute(listings)).scalars():
            by_entity[d.entity_id].listings.append(
                Listing(
                    d.authority,
                    d.list_name,
                    d.program,
                    d.listed_on.isoformat() if d.listed_on else None,
                    d.reference,
                    d.source_url,
                )
            )
    for view in views:  # a delisted entry may have lost its rows: fall back to what the change recorded
        if not view.listings:
            view.listings = [
                _listing_from(d) for d in view.details.get("designations") or [] if isinstance(d, dict)
            ]
        if not view.aliases:
            view.aliases = [str(a) for a in view.details.get("aliases") or []]


def _listing_from(d: dict[str, Any]) -> Listing:
    return Listing(
        str(d.get("authority") or ""),
        str(d.get("list") or ""),
        d.get("program"),
        d.get("listed_on"),
        d.get("reference"),
        d.get("source_url"),
    )


# --- enrichment -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OtherListing:
    """The same name (and country, when both say) in another record: another list, or the same list again."""

    source_title: str
    name: str
    entity_key: str
    programs: tuple[str, ...]
    active: bool
    data_date: str | None


@dataclass(frozen=True)
class RelationView:
    """A link to another entity, read from the entity's side: `owned by X`, `parent of Y`, `linked to Z`."""

    kind: str
    outgoing: bool  # True: this entity -> other (as the source states it)
    other_name: str
    source_title: str


@dataclass(frozen=True)
class ShipmentSummary:
    """The curated shipments naming the entity as exporter or importer."""

    count: int
    total_usd: float | None
    first_date: str | None
    last_date: str | None
    hs_codes: tuple[str, ...]
    source_title: str


@dataclass(frozen=True)
class TradeTotal:
    """Exports of one HS code by the entity's country to one partner, in the latest year on file."""

    hs_code: str
    reporter: int
    partner: int
    year: int
    months: int
    value_usd: float
    source_title: str
    publisher: str
    data_date: str | None


@dataclass
class Enrichment:
    """Everything the database knows around one entity (empty lists when it knows nothing)."""

    other_listings: list[OtherListing] = field(default_factory=list)
    relations: list[RelationView] = field(default_factory=list)
    shipments: list[ShipmentSummary] = field(default_factory=list)
    trade: list[TradeTotal] = field(default_factory=list)


async def load_enrichment(
    session: AsyncSession, view: ChangeView, *, reporter_codes: Sequence[int] = (), limit: int = 8
) -> Enrichment:
    """Other listings, relations, curated shipments and trade in the shipments' HS codes.

    Args:
        session: an open session.
        view: the change (its entity id, names and countries are used).
        reporter_codes: UN Comtrade codes of the entity's countries (for the trade totals).
        limit: at most this many items of each kind.
    """
    out = Enrichment()
    if view.entity_id is None:
        return out
    out.other_listings = await _other_listings(session, view, limit)
    out.relations = await _relations(session, view.entity_id, limit)
    out.shipments = await _shipments(session, view.entity_id)
    codes = sorted({c for s in out.shipments for c in s.hs_codes})[:3]
    if codes and reporter_codes:
        out.trade = await _trade_totals(session, codes, reporter_codes)
    return out


async def _other_listings(session: AsyncSession, view: ChangeView, limit: int) -> list[OtherListing]:
    own = select(EntityName.normalized).where(
        EntityName.entity_id == view.entity_id, EntityName.normalized != ""
    )
    same_name = select(EntityName.entity_id).where(EntityName.normalized.in_(own))
    stmt = (
        select(Entity, Source.title, Snapshot.data_date)
        .join(Source, Source.id == Entity.source_id)
        .join(Snapshot, Snapshot.id == Entity.snapshot_id)
        .where(Entity.id.in_(same_name), Entity.id != view.entity_id)
        .order_by(Entity.id)
        .limit(limit * 4)
    )
    found: list[OtherListing] = []
    wanted = set(view.countries)
    for entity, title, data_date in (await session.execute(stmt)).tuples():
        theirs = {c.upper() for c in entity.countries or []}
        if wanted and theirs and not wanted & theirs:
            continue  # same name, different country: likely someone else
        programs = tuple(str(p) for p in _list((entity.properties or {}).get("programs")))
        found.append(OtherListing(title, entity.name, entity.source_key, programs, entity.active, data_date))
        if len(found) >= limit:
            break
    return found


async def _relations(session: AsyncSession, entity_id: int, limit: int) -> list[RelationView]:
    stmt = (
        select(Relation, Source.title)
        .join(Source, Source.id == Relation.source_id)
        .where(or_(Relation.from_entity_id == entity_id, Relation.to_entity_id == entity_id))
        .order_by(Relation.id)
        .limit(limit)
    )
    out = []
    for rel, title in (await session.execute(stmt)).tuples():
        outgoing = rel.from_entity_id == entity_id
        out.append(RelationView(rel.kind, outgoing, rel.to_name if outgoing else rel.from_name, title))
    return out


async def _shipments(session: AsyncSession, entity_id: int) -> list[ShipmentSummary]:
    party = or_(Shipment.exporter_entity_id == entity_id, Shipment.importer_entity_id == entity_id)
    stmt = (
        select(
            Source.title,
            func.count(Shipment.id),
            func.sum(Shipment.value_usd),
            func.min(Shipment.date),
            func.max(Shipment.date),
        )
        .join(Source, Source.id == Shipment.source_id)
        .where(party)
        .group_by(Source.title)
    )
    out = []
    for title, count, total, first, last in (await session.execute(stmt)).tuples():
        codes_stmt = select(Shipment.hs_code).where(party, Shipment.hs_code.is_not(None)).distinct().limit(10)
        codes = tuple(sorted(c for c in (await session.execute(codes_stmt)).scalars() if c))
        out.append(ShipmentSummary(int(count), total, _iso(first), _iso(last), codes, title))
    return out


def _iso(value: dt.date | str | None) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, dt.date) else str(value)[:10]


async def _trade_totals(
    session: AsyncSession, hs_codes: Sequence[str], reporters: Sequence[int], per_code: int = 3
) -> list[TradeTotal]:
    year = TradeFlow.period // 100
    stmt = (
        select(
            TradeFlow.hs_code,
            TradeFlow.reporter,
            TradeFlow.partner,
            year.label("year"),
            func.count(TradeFlow.id),
            func.sum(TradeFlow.value_usd),
            Source.title,
            Source.publisher,
            func.max(Snapshot.data_date),
        )
        .join(Source, Source.id == TradeFlow.source_id)
        .join(Snapshot, Snapshot.id == TradeFlow.snapshot_id)
        .where(
            TradeFlow.hs_code.in_(list(hs_codes)),
            TradeFlow.reporter.in_(list(reporters)),
            TradeFlow.flow == "X",
            TradeFlow.freq == "M",
            TradeFlow.partner != 0,  # 0 is "World", a total, not a partner
        )
        .group_by(
            TradeFlow.hs_code, TradeFlow.reporter, TradeFlow.partner, year, Source.title, Source.publisher
        )
        .order_by(year.desc(), func.sum(TradeFlow.value_usd).desc())
        .limit(500)
    )
    latest_year: dict[tuple[str, int], int] = {}
    out: list[TradeTotal] = []
    for code, reporter, partner, yr, months, total, title, publisher, data_date in (
        await session.execute(stmt)
    ).tuples():
        key = (code, reporter)
        if total is None or latest_year.setdefault(key, int(yr)) != int(yr):
            continue
        if sum(1 for t in out if (t.hs_code, t.reporter) == key) < per_code:
            out.append(
                TradeTotal(
                    code, reporter, partner, int(yr), int(months), float(total), title, publisher, data_date
                )
            )
    return out
