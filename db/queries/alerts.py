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

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import (
    Designation,
    Entity,
    EntityName,
    ListChange,
    Snapshot,
    Source,
    TradeFlow,
)
from db.queries.entities import EntityRecord, expand_same_as, group_records, load_records, same_as_pairs
from db.queries.entity_links import Link, ShipmentSummary, relations_of, shipments_of

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
# The same grouping, relations and shipments as the /entity card (db.queries.entities, entity_links), so an
# alert and a later /entity lookup agree on what is "the same entity".


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
    """Everything the database knows around one entity (empty when it knows nothing)."""

    other_listings: list[EntityRecord] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    shipments: ShipmentSummary | None = None
    trade: list[TradeTotal] = field(default_factory=list)


async def load_enrichment(
    session: AsyncSession, view: ChangeView, *, reporter_codes: Sequence[int] = (), limit: int = 8
) -> Enrichment:
    """Other listings of the same entity, its relations, curated shipments and trade in their HS codes.

    Args:
        session: an open session.
        view: the change (its entity id is used).
        reporter_codes: UN Comtrade codes of the entity's countries (for the trade totals).
        limit: at most this many other listings and links.
    """
    out = Enrichment()
    if view.entity_id is None:
        return out
    group = await same_entity_group(session, view.entity_id)
    out.other_listings = [r for r in group if r.entity_id != view.entity_id][:limit]
    group_ids = {r.entity_id for r in group} | {view.entity_id}
    out.links = (await relations_of(session, group_ids, limit=limit * 3))[:limit]
    out.shipments = await shipments_of(session, group_ids)
    codes = [hs for hs, _, _ in out.shipments.top_hs if hs != "unknown"][:3] if out.shipments else []
    if codes and reporter_codes:
        out.trade = await _trade_totals(session, codes, reporter_codes)
    return out


async def same_entity_group(
    session: AsyncSession, entity_id: int, candidates: int = 200
) -> list[EntityRecord]:
    """The records grouped with this one by /entity's rules (shared identifier, name and country, same_as).

    Candidates are the records sharing one of its normalised names, and its curated same_as links.
    """
    own = select(EntityName.normalized).where(EntityName.entity_id == entity_id, EntityName.normalized != "")
    stmt = select(EntityName.entity_id).where(EntityName.normalized.in_(own)).distinct().limit(candidates)
    ids = set((await session.execute(stmt)).scalars()) | await expand_same_as(session, [entity_id])
    records = await load_records(session, ids | {entity_id})
    if entity_id not in records:
        return []
    ordered = [records[entity_id], *(records[i] for i in sorted(ids) if i != entity_id and i in records)]
    pairs = await same_as_pairs(session, sorted(records))
    for group in group_records(ordered, pairs):
        if group[0].entity_id == entity_id:
            return group
    return [records[entity_id]]


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
