"""Hand-made rows for outbox and claim tests: a source, two snapshots, entities and their changes.

Every name here is invented for the tests (no real listing is implied), in the shapes the importers store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Entity, EntityName, ListChange, Snapshot, Source, Watch

NOW = dt.datetime(2022, 9, 30, 19, 0, tzinfo=dt.UTC)


@dataclass
class Seed:
    source: Source
    baseline: Snapshot
    snapshot: Snapshot


async def seed_source(session: AsyncSession, key: str = "ofac_sdn") -> Seed:
    """A source with a baseline snapshot and a newer one the changes belong to."""
    source = Source(
        key=key, title=f"{key} (test)", publisher="test publisher", url="https://example.test/list"
    )
    session.add(source)
    await session.flush()
    snaps = []
    for i, day in enumerate(("2022-09-29", "2022-09-30")):
        snap = Snapshot(
            source_id=source.id,
            sha256=f"{key}-{i}".ljust(64, "0"),
            file_name=f"{day}.csv",
            fetched_at=NOW - dt.timedelta(days=1 - i),
            data_date=day,
        )
        session.add(snap)
        snaps.append(snap)
    await session.flush()
    return Seed(source, snaps[0], snaps[1])


async def add_entity(
    session: AsyncSession,
    seed: Seed,
    key: str,
    name: str,
    *,
    schema: str = "Organization",
    countries: list[str] | None = None,
    aliases: list[str] | None = None,
) -> Entity:
    entity = Entity(
        source_id=seed.source.id,
        source_key=key,
        snapshot_id=seed.snapshot.id,
        schema=schema,
        name=name,
        countries=countries,
        properties={"programs": ["RUSSIA-EO14024"]},
        content_hash=key.ljust(64, "0"),
        active=True,
    )
    session.add(entity)
    await session.flush()
    for i, alias in enumerate([name, *(aliases or [])]):
        session.add(
            EntityName(
                entity_id=entity.id,
                name=alias,
                normalized=alias.lower(),
                script="Latin",
                kind="primary" if i == 0 else "aka",
            )
        )
    await session.flush()
    return entity


async def add_change(
    session: AsyncSession,
    seed: Seed,
    entity: Entity | None,
    *,
    change: str = "added",
    name: str | None = None,
    key: str | None = None,
    details: dict[str, object] | None = None,
) -> ListChange:
    row = ListChange(
        source_id=seed.source.id,
        snapshot_id=seed.snapshot.id,
        previous_snapshot_id=seed.baseline.id,
        entity_key=key or (entity.source_key if entity else "x"),
        entity_id=entity.id if entity else None,
        change=change,
        name=name or (entity.name if entity else "?"),
        details=details,
        detected_at=NOW,
    )
    session.add(row)
    await session.flush()
    return row


async def add_watch(session: AsyncSession, channel_id: int = 500, **filters: list[str] | None) -> Watch:
    watch = Watch(guild_id=1, channel_id=channel_id, created_at=NOW, paused=False, **filters)
    session.add(watch)
    await session.flush()
    return watch
