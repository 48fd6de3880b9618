"""Brief schedules (set, remove, list) and their outbox: due slots enqueued once, then claimed like alerts.

Enqueue. Each tick of a bot process finds, for every schedule whose channel has an active watch, the latest
slot at or before now (commands.schedule), and inserts (schedule, slot) with INSERT ... ON CONFLICT DO
NOTHING: processes ticking at once make one row (PostgreSQL makes the second insert wait for the first's
commit, then skip; SQLite has one writer). Only the latest slot is ever enqueued, so a bot that was down for
days posts one brief, covering everything since the previous brief. A slot before the schedule was set or
last changed is never posted.

Claims, nonces, leases and marks are db.queries.outbox_state's, as for alerts; the nonce is `twb<id>`.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo

from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import BriefOutbox, BriefSchedule, Watch
from db.queries.outbox_state import (
    BriefDue,
    Delivery,
    as_utc,
    attempt_times,
    claim_values,
    claimable,
    rowcount,
)
from db.schedule import Slots

log = logging.getLogger(__name__)


def slots_of(schedule: BriefSchedule) -> Slots:
    """A stored schedule's rule."""
    hour, minute = schedule.at_time.split(":")
    return Slots(schedule.every, schedule.weekday, dt.time(int(hour), int(minute)), schedule.time_zone)


def _active_channel() -> ColumnElement[bool]:
    """The schedule's channel has a watch that is not paused (a paused channel gets no brief either)."""
    return exists(
        select(Watch.id).where(Watch.channel_id == BriefSchedule.channel_id, Watch.paused.is_(False))
    )


async def channel_watch(session: AsyncSession, channel_id: int, guild_id: int | None) -> Watch | None:
    """The channel's first watch (in this guild when one is given; an active one if there is one)."""
    stmt = select(Watch).where(Watch.channel_id == channel_id).order_by(Watch.paused, Watch.id).limit(1)
    if guild_id is not None:
        stmt = stmt.where(Watch.guild_id == guild_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def set_schedule(
    session: AsyncSession,
    *,
    guild_id: int,
    channel_id: int,
    slots: Slots,
    created_by: int | None,
    now: dt.datetime,
) -> BriefSchedule:
    """Create or replace the channel's schedule (one statement: two sent at once leave one row; the caller
    commits). Its first brief is the next slot after `now`."""
    values = {
        "every": slots.every,
        "weekday": slots.weekday,
        "at_time": f"{slots.at:%H:%M}",
        "time_zone": slots.time_zone,
        "created_by": created_by,
        "updated_at": now,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(BriefSchedule)
        .values(guild_id=guild_id, channel_id=channel_id, **values)
        .on_conflict_do_update(index_elements=["channel_id"], set_=values)
        .returning(BriefSchedule.id)
    )
    schedule_id = (await session.execute(stmt)).scalar_one()
    schedule = await session.get(BriefSchedule, schedule_id, populate_existing=True)
    assert schedule is not None
    return schedule


async def remove_schedule(session: AsyncSession, channel_id: int) -> bool:
    """Stop a channel's scheduled brief (the caller commits); False if it had none."""
    schedule = (
        await session.execute(select(BriefSchedule).where(BriefSchedule.channel_id == channel_id))
    ).scalar_one_or_none()
    if schedule is None:
        return False
    await session.delete(schedule)  # its outbox rows go with it (ON DELETE CASCADE)
    return True


async def list_schedules(
    session: AsyncSession, guild_id: int | None, channel_id: int | None = None
) -> list[tuple[BriefSchedule, dt.datetime | None]]:
    """The schedules of a guild (every guild: None), optionally one channel's, with their last brief posted."""
    last = (
        select(func.max(BriefOutbox.delivered_at))
        .where(BriefOutbox.schedule_id == BriefSchedule.id)
        .scalar_subquery()
    )
    stmt = select(BriefSchedule, last).order_by(BriefSchedule.id)
    if guild_id is not None:
        stmt = stmt.where(BriefSchedule.guild_id == guild_id)
    if channel_id is not None:
        stmt = stmt.where(BriefSchedule.channel_id == channel_id)
    return [(schedule, as_utc(posted)) for schedule, posted in (await session.execute(stmt)).tuples()]


async def enqueue_due(sessions: async_sessionmaker[AsyncSession], now: dt.datetime) -> int:
    """Write each active schedule's latest due slot in the outbox unless it is there; returns rows written.

    An older brief still pending for the schedule (its channel was paused) is superseded: the new one covers
    its period too.
    """
    async with sessions() as session, session.begin():
        last_slot = (
            select(func.max(BriefOutbox.slot))
            .where(BriefOutbox.schedule_id == BriefSchedule.id)
            .scalar_subquery()
        )
        schedules = (
            await session.execute(select(BriefSchedule, last_slot).where(_active_channel()))
        ).tuples()
        rows = []
        for schedule, last in schedules:
            slots = slots_of(schedule)
            try:
                slot = slots.latest(now)
            except (
                zoneinfo.ZoneInfoNotFoundError
            ):  # the zone left the installed tz database: skip, keep the rest
                log.error("brief schedule %d: unknown time zone %r", schedule.id, schedule.time_zone)
                continue
            previous = as_utc(last)
            updated = as_utc(schedule.updated_at)
            assert updated is not None
            if slot < updated or (previous is not None and slot <= previous):
                continue
            since = min(slots.previous(slot), previous or slot)
            rows.append({"schedule_id": schedule.id, "slot": slot, "since": since})
        written = 0
        for row in rows:
            written += await _insert_slot(session, row, now)
        return written


async def _insert_slot(session: AsyncSession, row: dict[str, object], now: dt.datetime) -> int:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(BriefOutbox)
        .values(**row, status="pending", attempts=0, created_at=now)
        .on_conflict_do_nothing(index_elements=["schedule_id", "slot"])
        .returning(BriefOutbox.id)
    )
    new_id = (await session.execute(stmt)).scalar_one_or_none()
    if new_id is None:
        return 0  # another process enqueued this slot first
    await session.execute(
        update(BriefOutbox)
        .where(
            BriefOutbox.schedule_id == row["schedule_id"],
            BriefOutbox.id != new_id,
            BriefOutbox.status == "pending",
        )
        .values(status="failed", error=f"superseded by the brief of {row['slot']:%Y-%m-%d %H:%M} UTC")
    )
    return 1


async def claim_briefs(
    sessions: async_sessionmaker[AsyncSession],
    *,
    worker: str,
    now: dt.datetime,
    lease: dt.timedelta,
    limit: int = 5,
) -> list[Delivery]:
    """Claim up to `limit` due briefs of active channels for this worker, in one committed transaction."""
    async with sessions() as session, session.begin():
        stmt = (
            select(BriefOutbox, BriefSchedule)
            .join(BriefSchedule, BriefSchedule.id == BriefOutbox.schedule_id)
            .where(claimable(BriefOutbox, now), _active_channel())
            .order_by(BriefOutbox.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(of=BriefOutbox, skip_locked=True)
        out = []
        for row, schedule in (await session.execute(stmt)).tuples().all():
            nonce = f"twb{row.id}"
            previous, first = attempt_times(row)
            taken = await session.execute(
                update(BriefOutbox)
                .where(BriefOutbox.id == row.id, claimable(BriefOutbox, now))
                .values(**claim_values(BriefOutbox, worker, now, lease, nonce))
                .execution_options(synchronize_session=False)
            )
            if not rowcount(taken):
                continue  # another claimer got there first (SQLite without row locks)
            slot, since = as_utc(row.slot), as_utc(row.since)
            assert slot is not None and since is not None
            out.append(
                Delivery(
                    leader_id=row.id,
                    guild_id=schedule.guild_id,
                    channel_id=schedule.channel_id,
                    nonce=nonce,
                    table=BriefOutbox,
                    outbox_ids=[row.id],
                    attempts=row.attempts + 1,
                    previous_attempt_at=previous,
                    first_attempt_at=first,
                    brief=BriefDue(schedule.id, slot, since, schedule.every, schedule.time_zone),
                )
            )
        return out
