"""The claim / mark cycle every outbox shares: watch alerts (db.queries.watch) and scheduled briefs
(db.queries.brief_schedule), both tables with the `OutboxState` columns.

A row is claimable when pending and due, or when its claim's lease ran out (its claimer died). A claim sets
status `sending`, a lease, the deterministic nonce and the attempt times in one UPDATE guarded by the same
condition, so of two claimers racing without row locks (SQLite) only one gets the row. The marks then settle
the claimed rows: sent (with the message id), back to pending for a retry, or failed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Result, Update, and_, func, or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AlertOutbox, BriefOutbox
from db.models.watch import OutboxState

OutboxTable = type[AlertOutbox] | type[BriefOutbox]
OUTBOXES: tuple[OutboxTable, ...] = (AlertOutbox, BriefOutbox)


@dataclass(frozen=True)
class BriefDue:
    """What a scheduled brief covers: list changes since `since`, for the slot `slot` (both UTC)."""

    schedule_id: int
    slot: dt.datetime
    since: dt.datetime
    every: str
    time_zone: str


@dataclass
class Delivery:
    """One message to post: the outbox rows it settles, where it goes and the nonce it carries.

    An alert names its watch and changes (a digest settles every row of its group); a scheduled brief
    carries `brief` instead.
    """

    leader_id: int
    guild_id: int
    channel_id: int
    nonce: str
    table: OutboxTable = AlertOutbox
    outbox_ids: list[int] = field(default_factory=list)
    attempts: int = 1
    # When the previous attempt started, if there was one that may have reached Discord.
    previous_attempt_at: dt.datetime | None = None
    # When the first attempt started (None: this is it). A message an earlier attempt posted is newer.
    first_attempt_at: dt.datetime | None = None
    watch_id: int | None = None
    is_digest: bool = False
    change_ids: list[int] = field(default_factory=list)
    brief: BriefDue | None = None


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (its result is a CursorResult at run time)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored timestamp as an aware UTC datetime (SQLite hands them back naive)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def claimable(table: OutboxTable, now: dt.datetime) -> ColumnElement[bool]:
    """Pending and due, or claimed with a lease that ran out."""
    return or_(
        and_(table.status == "pending", or_(table.next_attempt_at.is_(None), table.next_attempt_at <= now)),
        and_(table.status == "sending", table.lease_until < now),
    )


def claim_values(
    table: OutboxTable, worker: str, now: dt.datetime, lease: dt.timedelta, nonce: str
) -> dict[str, Any]:
    """The columns a claim sets (first_attempt_at only on the first claim: the look-back starts there)."""
    return {
        "status": "sending",
        "claimed_by": worker,
        "lease_until": now + lease,
        "last_attempt_at": now,
        "first_attempt_at": func.coalesce(table.first_attempt_at, now),
        "attempts": table.attempts + 1,
        "nonce": nonce,
    }


def attempt_times(row: OutboxState) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(previous, first) attempt of a row about to be claimed again."""
    previous = as_utc(row.last_attempt_at)
    return previous, as_utc(row.first_attempt_at) or previous


async def mark_sent(
    sessions: async_sessionmaker[AsyncSession], delivery: Delivery, message_id: int, now: dt.datetime
) -> int:
    """Record that a delivery's message exists (its id); returns the rows settled now."""
    table = delivery.table
    async with sessions() as session, session.begin():
        result = await session.execute(
            update(table)
            .where(table.id.in_(delivery.outbox_ids), table.status != "sent")
            .values(status="sent", message_id=message_id, delivered_at=now, lease_until=None, error=None)
        )
        return rowcount(result)


async def mark_retry(
    sessions: async_sessionmaker[AsyncSession], delivery: Delivery, error: str, next_attempt_at: dt.datetime
) -> None:
    """Put a delivery back to pending, to be tried again at `next_attempt_at`."""
    async with sessions() as session, session.begin():
        await session.execute(settle(delivery, "pending", error, next_attempt_at=next_attempt_at))


async def mark_failed(sessions: async_sessionmaker[AsyncSession], delivery: Delivery, error: str) -> None:
    """Give up on a delivery that retrying cannot fix (e.g. Discord rejects its content)."""
    async with sessions() as session, session.begin():
        await session.execute(settle(delivery, "failed", error))


def settle(delivery: Delivery, status: str, error: str, **values: Any) -> Update:
    """The statement that ends this process's claim on a delivery with `status` (pending or failed)."""
    table = delivery.table
    return (
        update(table)
        .where(table.id.in_(delivery.outbox_ids), table.status == "sending")
        .values(status=status, lease_until=None, claimed_by=None, error=error[:1000], **values)
    )


async def release_claims(sessions: async_sessionmaker[AsyncSession], now: dt.datetime) -> int:
    """End every outstanding claim now (SQLite's single delivering process, at start: its predecessor died).

    Returns:
        The number of rows whose claim was released.
    """
    released = 0
    async with sessions() as session, session.begin():
        for table in OUTBOXES:
            result = await session.execute(
                update(table).where(table.status == "sending").values(lease_until=now)
            )
            released += rowcount(result)
    return released
