"""Slot maths of brief schedules (db/schedule.py): local times across daylight-saving changes, one slot a day."""

from __future__ import annotations

import datetime as dt

import pytest

from db.schedule import Slots

BERLIN_DAILY_0230 = Slots("daily", None, dt.time(2, 30), "Europe/Berlin")
BERLIN_MONDAY_0800 = Slots("weekly", 0, dt.time(8, 0), "Europe/Berlin")


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_weekly_monday_0800_berlin_follows_the_clock_change() -> None:
    # Clocks go forward on Sunday 2026-03-29: 08:00 is 07:00 UTC before, 06:00 UTC after.
    first = BERLIN_MONDAY_0800.following(utc(2026, 3, 17, 12))
    second = BERLIN_MONDAY_0800.following(first)
    assert (first, second) == (utc(2026, 3, 23, 7), utc(2026, 3, 30, 6))
    assert BERLIN_MONDAY_0800.previous(second) == first  # 167 hours apart: a week by the local clock
    assert BERLIN_MONDAY_0800.local(second) == "Mon 2026-03-30 08:00 CEST"
    # ... and back on Sunday 2026-10-25.
    assert BERLIN_MONDAY_0800.following(utc(2026, 10, 20)) == utc(2026, 10, 26, 7)


def test_a_local_time_skipped_by_the_clock_is_posted_an_hour_later() -> None:
    """02:30 does not exist in Berlin on 2026-03-29 (02:00 -> 03:00): that day's brief comes at 03:30 CEST."""
    slots, at = [], utc(2026, 3, 27, 12)
    for _ in range(3):
        at = BERLIN_DAILY_0230.following(at)
        slots.append(at)
    assert slots == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]
    assert [BERLIN_DAILY_0230.local(s)[4:] for s in slots] == [
        "2026-03-28 02:30 CET",
        "2026-03-29 03:30 CEST",
        "2026-03-30 02:30 CEST",
    ]


def test_a_local_time_that_happens_twice_is_posted_once() -> None:
    """02:30 happens twice in Berlin on 2026-10-25: ticking every 5 minutes through the night finds one slot."""
    tick, end = utc(2026, 10, 24, 12), utc(2026, 10, 26, 12)
    due = set()
    while tick < end:
        due.add(BERLIN_DAILY_0230.latest(tick))
        tick += dt.timedelta(minutes=5)
    assert sorted(due) == [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC"])
def test_latest_and_following_bracket_now_all_year(zone: str) -> None:
    weekly = Slots("weekly", 4, dt.time(23, 45), zone)
    now = utc(2026, 1, 1, 3, 7)
    while now < utc(2027, 1, 1):
        latest, following = weekly.latest(now), weekly.following(now)
        assert latest <= now < following
        assert weekly.following(latest) == following
        local = following.astimezone(weekly.zone)
        assert (local.weekday(), local.hour, local.minute) == (4, 23, 45)
        assert dt.timedelta(days=6, hours=22) <= following - latest <= dt.timedelta(days=7, hours=2)
        now += dt.timedelta(hours=29)


def test_describe() -> None:
    assert BERLIN_MONDAY_0800.describe() == "weekly, Monday 08:00 Europe/Berlin"
    assert BERLIN_DAILY_0230.describe() == "daily 02:30 Europe/Berlin"
