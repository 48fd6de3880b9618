"""`/watch schedule channel every [day] [time] [tz]`: the editorial brief posted in a watch channel on a schedule.

Transport-free, like commands.watch: the Discord cog and `tradewatch watch schedule` build the params. The
slot maths is db.schedule's; the due briefs are enqueued and posted exactly once by the alert loop
(bot/alerts.py, db.queries.brief_schedule), and each is the /brief answer since the previous brief.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from commands.brief import BriefParams, run_brief
from commands.context import Context
from commands.errors import NotFound
from commands.replies import Field, Reply
from commands.schedule import parse_day, parse_every, parse_time, parse_time_zone
from db.models import BriefSchedule, Watch
from db.queries.brief_schedule import channel_watch, list_schedules, remove_schedule, set_schedule, slots_of
from db.queries.outbox_state import BriefDue
from db.schedule import WEEKDAYS, Slots


@dataclass(frozen=True)
class WatchScheduleParams:
    """The channel, the schedule as typed, and the configured zone used when `tz` is not given.

    `guild_id` None (the command line, run by the operator): the channel's own guild.
    """

    guild_id: int | None
    channel_id: int
    every: str
    default_time_zone: str
    day: str | None = None
    time: str | None = None
    tz: str | None = None
    user_id: int | None = None


def _channel(channel_id: int) -> str:
    return f"<#{channel_id}>"


def schedule_words(schedule: BriefSchedule, last_posted: dt.datetime | None, now: dt.datetime) -> str:
    """`weekly, Monday 08:00 Europe/Berlin; next Mon 2026-12-14 08:00 CET; last posted ...`."""
    slots = slots_of(schedule)
    text = f"{slots.describe()}; next {slots.local(slots.following(now))}"
    if last_posted is not None:
        text += f"; last posted {slots.local(last_posted)}"
    return text


def schedule_numbers(schedule: BriefSchedule, now: dt.datetime) -> dict[str, Any]:
    slots = slots_of(schedule)
    following = slots.following(now)
    return {
        "channel_id": schedule.channel_id,
        "every": schedule.every,
        "day": WEEKDAYS[schedule.weekday] if schedule.weekday is not None else None,
        "time": schedule.at_time,
        "time_zone": schedule.time_zone,
        "next_utc": following.isoformat(),
        "next_local": following.astimezone(slots.zone).isoformat(),
    }


async def schedule_fields(ctx: Context, guild_id: int | None, channel_id: int | None) -> list[Field]:
    """One field per scheduled channel, for /watch list."""
    now = ctx.now()
    return [
        Field(f"Brief in {_channel(s.channel_id)}", schedule_words(s, last, now))
        for s, last in await list_schedules(ctx.session, guild_id, channel_id)
    ]


async def listed_schedules(
    ctx: Context, guild_id: int | None, channel_id: int | None
) -> list[dict[str, Any]]:
    now = ctx.now()
    return [schedule_numbers(s, now) for s, _ in await list_schedules(ctx.session, guild_id, channel_id)]


async def _channel_watch(ctx: Context, params: WatchScheduleParams) -> Watch:
    watch = await channel_watch(ctx.session, params.channel_id, params.guild_id)
    if watch is None:
        raise NotFound(
            f"{_channel(params.channel_id)} has no watch, so it gets no brief.",
            hint="Add one with /watch add channel:... first; the brief goes to watch channels.",
        )
    return watch


async def run_watch_schedule(ctx: Context, params: WatchScheduleParams) -> Reply:
    """Set, change or stop (`every=off`) a watch channel's scheduled brief (the caller commits).

    Raises:
        InvalidInput: an unknown schedule, day, time or time zone.
        NotFound: the channel has no watch.
    """
    every = parse_every(params.every)
    if every == "off":
        await _channel_watch(ctx, params)
        removed = await remove_schedule(ctx.session, params.channel_id)
        return Reply(
            title="Scheduled brief stopped" if removed else "No scheduled brief",
            summary=[
                f"{_channel(params.channel_id)} gets no brief on a schedule"
                + (" any more." if removed else "; it had none.")
            ],
            numbers={"channel_id": params.channel_id, "schedule": None},
            ephemeral=True,
        )
    slots = Slots(
        every,
        parse_day(params.day, every),
        parse_time(params.time),
        parse_time_zone(params.tz or params.default_time_zone),
    )
    watch = await _channel_watch(ctx, params)
    schedule = await set_schedule(
        ctx.session,
        guild_id=watch.guild_id,
        channel_id=params.channel_id,
        slots=slots,
        created_by=params.user_id,
        now=ctx.now(),
    )
    now = ctx.now()
    paused = [] if not watch.paused else ["Its watches are paused: no brief is posted until /watch resume."]
    return Reply(
        title=f"Brief scheduled in {_channel(params.channel_id)}",
        summary=[
            f"The editorial brief is posted {slots.describe()}; the first at {slots.local(slots.following(now))}.",
            "Each covers the list changes since the previous brief (a day or a week), with the trade movers, "
            "stale sources, chart and CSV, as /brief. A brief missed while the bot was down is posted once, late.",
            *paused,
        ],
        numbers={"channel_id": params.channel_id, "schedule": schedule_numbers(schedule, now)},
        ephemeral=True,
    )


async def scheduled_brief(ctx: Context, due: BriefDue) -> Reply:
    """The brief a due slot posts: /brief since the local date the period starts, labelled with its schedule."""
    zone = Slots(due.every, None, dt.time(), due.time_zone).zone
    since = due.since.astimezone(zone).date()
    reply = await run_brief(ctx, BriefParams(since.isoformat()))
    slot = due.slot.astimezone(zone)
    return dataclasses.replace(
        reply,
        title=f"{due.every.capitalize()} brief, {slot:%a %Y-%m-%d %H:%M %Z}: since {since.isoformat()}",
        summary=[
            f"Scheduled brief ({due.every}, /watch schedule) covering the list changes since {since.isoformat()}.",
            *reply.summary,
        ],
        ephemeral=False,
    )
