"""The reads behind /entity's card: padded id lists, the links probe and the reads it spares."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.models import Entity, Relation, Shipment
from db.queries.entities import expand_same_as, load_records, padded_ids, same_as_pairs
from db.queries.entity_links import LinksPresent, group_links, links_present
from tests.db.entity_seed import load_curated, load_ofac_subset


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        ([], []),
        ([5], [5] * 8),
        ([3, 1, 2, 3], [1, 2, 3, 3, 3, 3, 3, 3]),
        (range(8), list(range(8))),
        (range(9), [*range(9), *[8] * 7]),
        (range(40), [*range(40), *[39] * 24]),
    ],
)
def test_padded_ids(ids: list[int], expected: list[int]) -> None:
    assert padded_ids(ids) == expected


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements run on `engine` inside the block."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        seen.append(sql)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def _id(session: AsyncSession, source_key: str) -> int:
    return (await session.execute(select(Entity.id).where(Entity.source_key == source_key))).scalar_one()


async def _lonely(session: AsyncSession) -> int:
    """An OFAC record no relation or shipment touches."""
    linked = select(Relation.from_entity_id).where(Relation.from_entity_id.is_not(None))
    linked = linked.union(select(Relation.to_entity_id).where(Relation.to_entity_id.is_not(None)))
    shipped = select(Shipment.exporter_entity_id).where(Shipment.exporter_entity_id.is_not(None))
    shipped = shipped.union(
        select(Shipment.importer_entity_id).where(Shipment.importer_entity_id.is_not(None))
    )
    stmt = select(Entity.id).where(Entity.id.not_in(linked), Entity.id.not_in(shipped)).order_by(Entity.id)
    return (await session.execute(stmt.limit(1))).scalar_one()


@pytest.fixture
async def ofac_and_curated(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, tmp_path: Path
) -> None:
    """Every 200th real OFAC entry and the team's curated file (relations, shipments, reported figures)."""
    await load_ofac_subset(sessions, shared_data, tmp_path / "ofac", step=200)
    await load_curated(sessions)


@pytest.mark.usefixtures("ofac_and_curated")
async def test_probe_spares_empty_reads_and_nothing_else(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        radio, tech, lonely = (
            await _id(session, "35348"),
            await _id(session, "poly-technologies"),
            await _lonely(session),
        )
        records = await load_records(session, [radio, tech, lonely])
        keys = {i: {n.normalized for n in r.names} for i, r in records.items()}

        # relations, shipments; reported figures are loaded (the curated file has some)
        assert await links_present(session, [radio]) == LinksPresent(frozenset({radio}), True, False, True)
        assert (await links_present(session, [tech])).shipments
        quiet = await links_present(session, [lonely])
        assert quiet == LinksPresent(frozenset({lonely}), False, False, True)

        plain = await group_links(session, {lonely}, keys[lonely])
        with statements(engine) as run:
            probed = await group_links(session, {lonely}, keys[lonely], present=quiet)
        assert probed == plain
        assert not any("relations" in s or "shipments" in s for s in run)  # only the figures are read

        # A probe of other ids says nothing about these: everything is read.
        full = await group_links(session, {radio, tech}, keys[radio] | keys[tech])
        assert full.links and full.shipments
        assert await group_links(session, {radio, tech}, keys[radio] | keys[tech], present=quiet) == full


@pytest.mark.usefixtures("ofac_and_curated")
async def test_expand_same_as_from_known_pairs(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        sinno, curated_sinno = await _id(session, "38641"), await _id(session, "sinno-electronics")
        pairs = await same_as_pairs(session, [sinno, curated_sinno, await _lonely(session)])
        assert {sinno, curated_sinno} <= {x for pair in pairs for x in pair}
        with statements(engine) as read:
            expanded = await expand_same_as(session, [sinno])
        with statements(engine) as from_pairs:
            assert await expand_same_as(session, [sinno], pairs) == expanded
        assert curated_sinno in expanded
        assert len(from_pairs) == len(read) - 1  # the first hop came from the pairs
