"""/watch schedule's logic (commands/watch_schedule.py): set, change, stop, list; the brief a slot posts."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from commands.context import Context
from commands.errors import InvalidInput, NotFound
from commands.watch import WatchListParams, run_watch_list
from commands.watch_schedule import WatchScheduleParams, run_watch_schedule, scheduled_brief
from db.lookups import Lookups
from db.queries.outbox_state import BriefDue
from tests.db.watch_seed import add_change, add_entity, add_watch, seed_source

# Friday 2026-10-23, two days before Berlin's clocks go back.
FRIDAY = dt.datetime(2026, 10, 23, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def ctx(session: AsyncSession, lookups: Lookups) -> Context:
    return Context(session=session, lookups=lookups, now=lambda: FRIDAY)


async def test_schedule_list_and_stop(ctx: Context) -> None:
    await add_watch(ctx.session, 500)
    weekly = WatchScheduleParams(
        1, 500, "weekly", "UTC", day="mon", time="08:00", tz="europe/berlin", user_id=9
    )
    reply = await run_watch_schedule(ctx, weekly)
    schedule = reply.numbers["schedule"]
    assert (schedule["every"], schedule["day"], schedule["time"], schedule["time_zone"]) == (
        "weekly",
        "monday",
        "08:00",
        "Europe/Berlin",
    )
    # The first Monday after the clocks go back: 08:00 CET is 07:00 UTC (it was 06:00 UTC the week before).
    assert schedule["next_utc"] == "2026-10-26T07:00:00+00:00"
    assert schedule["next_local"] == "2026-10-26T08:00:00+01:00"
    listed = await run_watch_list(ctx, WatchListParams(1))
    assert listed.numbers["briefs"] == [schedule]
    field = next(f for f in listed.fields if f.name == "Brief in <#500>")
    assert field.value == "weekly, Monday 08:00 Europe/Berlin; next Mon 2026-10-26 08:00 CET"
    # Another guild sees nothing; the command line (no guild) sees every guild.
    assert (await run_watch_list(ctx, WatchListParams(2))).numbers["watches"] == []
    assert len((await run_watch_list(ctx, WatchListParams(None))).numbers["briefs"]) == 1

    daily = await run_watch_schedule(ctx, WatchScheduleParams(None, 500, "daily", "America/New_York"))
    assert daily.numbers["schedule"]["time_zone"] == "America/New_York"
    assert daily.numbers["schedule"]["next_local"] == "2026-10-24T08:00:00-04:00"
    stopped = await run_watch_schedule(ctx, WatchScheduleParams(1, 500, "off", "UTC"))
    assert stopped.title == "Scheduled brief stopped"
    assert (await run_watch_list(ctx, WatchListParams(1))).numbers["briefs"] == []


async def test_refusals(ctx: Context) -> None:
    with pytest.raises(NotFound, match="has no watch"):
        await run_watch_schedule(ctx, WatchScheduleParams(1, 500, "weekly", "UTC"))
    await add_watch(ctx.session, 500)
    with pytest.raises(NotFound, match="has no watch"):  # the channel's watch is another guild's
        await run_watch_schedule(ctx, WatchScheduleParams(2, 500, "weekly", "UTC"))
    for params, message in [
        (WatchScheduleParams(1, 500, "hourly", "UTC"), "is not a schedule"),
        (WatchScheduleParams(1, 500, "weekly", "UTC", day="someday"), "not a day of the week"),
        (WatchScheduleParams(1, 500, "weekly", "UTC", time="8.00"), "not a time of day"),
        (WatchScheduleParams(1, 500, "weekly", "UTC", tz="Europe/Atlantis"), "not a time zone"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            await run_watch_schedule(ctx, params)


async def test_a_slot_posts_the_brief_since_the_previous_one(ctx: Context) -> None:
    """The SYNTHETIC seed's change belongs to a list published 2022-09-30: the week's brief counts it, the next
    week's does not."""
    seed = await seed_source(ctx.session)
    await add_change(ctx.session, seed, await add_entity(ctx.session, seed, "38600", "TEST CO LTD"))
    monday = dt.datetime(2022, 10, 3, 6, 0, tzinfo=dt.UTC)  # 08:00 CEST
    week = BriefDue(1, monday, monday - dt.timedelta(days=7), "weekly", "Europe/Berlin")
    reply = await scheduled_brief(ctx, week)
    assert reply.title == "Weekly brief, Mon 2022-10-03 08:00 CEST: since 2022-09-26"
    assert reply.numbers["since"] == "2022-09-26" and reply.numbers["changes"]["total"] == 1
    assert not reply.ephemeral and any(a.filename == "brief.csv" for a in reply.attachments)
    later = BriefDue(1, monday + dt.timedelta(days=7), monday, "weekly", "Europe/Berlin")
    assert (await scheduled_brief(ctx, later)).numbers["changes"]["total"] == 0
