"""Brief schedules and their outbox (db/queries/brief_schedule.py) on both backends: one row per due slot
however many processes tick at once, one brief after days down, nothing for paused channels, claims once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import BriefOutbox, BriefSchedule, Watch
from db.queries.brief_schedule import (
    _insert_slot,
    claim_briefs,
    enqueue_due,
    list_schedules,
    remove_schedule,
    set_schedule,
)
from db.queries.outbox_state import as_utc, mark_sent
from db.queries.watch import delete_watch
from db.schedule import Slots
from tests.db.watch_seed import add_watch

WEEKLY = Slots("weekly", 0, dt.time(8, 0), "Europe/Berlin")  # Monday 08:00 Berlin
SET_AT = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)  # a Wednesday
MONDAY = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)  # 08:00 CET
LEASE = dt.timedelta(seconds=60)


async def _schedule(sessions: async_sessionmaker[AsyncSession], channel: int = 500) -> int:
    async with sessions() as session, session.begin():
        await add_watch(session, channel)
        schedule = await set_schedule(
            session, guild_id=1, channel_id=channel, slots=WEEKLY, created_by=7, now=SET_AT
        )
        return schedule.id


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[dt.datetime, dt.datetime, str]]:
    async with sessions() as session:
        rows = await session.execute(
            select(BriefOutbox.slot, BriefOutbox.since, BriefOutbox.status).order_by(BriefOutbox.id)
        )
        return [(as_utc(slot), as_utc(since), status) for slot, since, status in rows.tuples()]  # type: ignore[misc]


async def test_set_replace_list_and_remove(sessions: async_sessionmaker[AsyncSession]) -> None:
    first = await _schedule(sessions)
    async with sessions() as session, session.begin():
        daily = Slots("daily", None, dt.time(7, 30), "UTC")
        again = await set_schedule(session, guild_id=1, channel_id=500, slots=daily, created_by=8, now=SET_AT)
        assert again.id == first and (again.every, again.weekday, again.at_time) == ("daily", None, "07:30")
    async with sessions() as session:
        [(schedule, last)] = await list_schedules(session, 1)
        assert (schedule.channel_id, schedule.time_zone, last) == (500, "UTC", None)
        assert await list_schedules(session, 2) == [] and len(await list_schedules(session, None)) == 1
    async with sessions() as session, session.begin():
        assert await remove_schedule(session, 500) is True
        assert await remove_schedule(session, 500) is False


async def test_a_due_slot_is_enqueued_once_with_its_period(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _schedule(sessions)
    assert (
        await enqueue_due(sessions, MONDAY - dt.timedelta(minutes=1)) == 0
    )  # the Monday before was before SET_AT
    assert await enqueue_due(sessions, MONDAY) == 1
    assert await enqueue_due(sessions, MONDAY + dt.timedelta(minutes=5)) == 0
    assert await _rows(sessions) == [(MONDAY, MONDAY - dt.timedelta(days=7), "pending")]
    # The next Monday covers the week since this one.
    assert await enqueue_due(sessions, MONDAY + dt.timedelta(days=7, minutes=1)) == 1
    assert (await _rows(sessions))[1][:2] == (MONDAY + dt.timedelta(days=7), MONDAY)


async def test_processes_ticking_at_once_make_one_row(sessions: async_sessionmaker[AsyncSession]) -> None:
    schedule_id = await _schedule(sessions)
    written = await asyncio.gather(*(enqueue_due(sessions, MONDAY) for _ in range(6)))
    assert sum(written) == 1 and len(await _rows(sessions)) == 1

    # The constraint itself: two transactions insert the same next slot at the same time (both computed it).
    row = {"schedule_id": schedule_id, "slot": MONDAY + dt.timedelta(days=7), "since": MONDAY}

    async def insert() -> int:
        async with sessions() as session, session.begin():
            return await _insert_slot(session, row, MONDAY)

    assert sorted(await asyncio.gather(insert(), insert(), insert())) == [0, 0, 1]
    assert len(await _rows(sessions)) == 2


async def test_days_down_give_one_brief_since_the_previous_one(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _schedule(sessions)
    assert await enqueue_due(sessions, MONDAY) == 1
    later = MONDAY + dt.timedelta(days=23)  # three Mondays missed
    assert await enqueue_due(sessions, later) == 1
    rows = await _rows(sessions)
    assert [r[0] for r in rows] == [MONDAY, MONDAY + dt.timedelta(days=21)]
    assert rows[1][1] == MONDAY  # covers everything since the previous brief, not only its week
    assert rows[0][2] == "failed"  # the older one, never posted (still pending), is superseded


async def test_paused_channels_get_no_brief(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _schedule(sessions)
    assert await enqueue_due(sessions, MONDAY) == 1
    async with sessions() as session, session.begin():
        await session.execute(update(Watch).values(paused=True, paused_reason="gone"))
    assert await claim_briefs(sessions, worker="a", now=MONDAY, lease=LEASE) == []
    assert await enqueue_due(sessions, MONDAY + dt.timedelta(days=7)) == 0


async def test_claimed_once_and_sent_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    for channel in range(500, 510):
        await _schedule(sessions, channel)
    assert await enqueue_due(sessions, MONDAY) == 10

    async def claimer(n: int) -> list[int]:
        got = []
        while batch := await claim_briefs(sessions, worker=f"w{n}", now=MONDAY, lease=LEASE, limit=2):
            got.extend(d.leader_id for d in batch)
            assert all(d.nonce == f"twb{d.leader_id}" and d.brief is not None for d in batch)
        return got

    counts = Counter(i for ids in await asyncio.gather(*(claimer(n) for n in range(4))) for i in ids)
    assert len(counts) == 10 and set(counts.values()) == {1}
    # A lease that ran out is taken over with the same nonce; a sent brief is never claimed again.
    [again] = await claim_briefs(sessions, worker="x", now=MONDAY + 2 * LEASE, lease=LEASE, limit=1)
    assert again.attempts == 2 and again.first_attempt_at == MONDAY and again.brief is not None
    assert again.brief.since == MONDAY - dt.timedelta(days=7) and again.brief.time_zone == "Europe/Berlin"
    assert await mark_sent(sessions, again, 99, MONDAY) == 1
    later = await claim_briefs(sessions, worker="y", now=MONDAY + 4 * LEASE, lease=LEASE, limit=20)
    assert again.leader_id not in {d.leader_id for d in later} and len(later) == 9


async def test_the_last_watch_removed_takes_the_schedule(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _schedule(sessions)
    async with sessions() as session, session.begin():
        second = await add_watch(session, 500, sources=["ofac_sdn"])
    async with sessions() as session, session.begin():
        assert await delete_watch(session, second.id, 1)
    async with sessions() as session, session.begin():
        assert len((await session.execute(select(BriefSchedule))).all()) == 1
        first = (await session.execute(select(Watch.id))).scalar_one()
        assert await delete_watch(session, first, 1)
    async with sessions() as session:
        assert (await session.execute(select(BriefSchedule))).all() == []


async def test_a_zone_gone_from_the_tz_database_skips_only_its_schedule(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await _schedule(sessions, 500)
    await _schedule(sessions, 501)
    async with sessions() as session, session.begin():
        await session.execute(
            update(BriefSchedule).where(BriefSchedule.id == first).values(time_zone="Mars/Olympus")
        )
    assert await enqueue_due(sessions, MONDAY) == 1
