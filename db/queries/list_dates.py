"""How current each loaded list is: the data date of every entity source's latest snapshot.

An entity card (and a screening result) says "on no loaded sanctions list" only together with the lists it
searched and their dates, so that a designation newer than a loaded file is not read as a clean bill.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import Entity, Snapshot, Source

CURATED_KEY = "curated"  # the team's curated files: dated fact by fact by their citations, not by a file


@dataclass(frozen=True)
class ListDate:
    """A source holding entities and the data date of its latest loaded snapshot."""

    key: str
    title: str
    data_date: str | None
    loaded_at: dt.datetime | None

    @property
    def curated(self) -> bool:
        return self.key == CURATED_KEY

    def text(self) -> str:
        """`OFAC SDN List: data 2024-05-01` (or the load date when the file gave no data date)."""
        if self.data_date:
            return f"{self.title}: data {self.data_date}"
        loaded = f" (loaded {self.loaded_at.date().isoformat()})" if self.loaded_at else ""
        return f"{self.title}: data date unknown{loaded}"


_LATER = aliased(Snapshot)
_LIST_DATES = (
    select(Source.key, Source.title, Snapshot.data_date, Snapshot.fetched_at)
    .join(Snapshot, Snapshot.source_id == Source.id)
    .where(
        Snapshot.id
        == select(func.max(_LATER.id))
        .where(_LATER.source_id == Source.id)
        .correlate(Source)
        .scalar_subquery(),
        # uq_entities_source_key leads with source_id: one index probe per source, not a scan
        select(Entity.id).where(Entity.source_id == Source.id).exists(),
    )
    .order_by(Source.key)
)


async def list_dates(session: AsyncSession) -> list[ListDate]:
    """Every source that holds entities, with its latest snapshot's data date, by key."""
    return [ListDate(*row) for row in await session.execute(_LIST_DATES)]
