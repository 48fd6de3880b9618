"""What users type for a brief schedule (`every`, `day`, `time`, `tz`), checked with clear errors.

The slot maths is db.schedule's; bot.config checks the default time zone with `parse_time_zone` too.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from commands.errors import InvalidInput
from db.schedule import EVERY, WEEKDAYS

DEFAULT_DAY = "monday"
DEFAULT_TIME = "08:00"
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_every(text: str) -> str:
    """`daily`, `weekly` or `off` (case-insensitive)."""
    value = text.strip().lower()
    if value not in (*EVERY, "off"):
        raise InvalidInput(
            f"every={text!r} is not a schedule.", "Use every=daily, every=weekly or every=off."
        )
    return value


def parse_day(text: str | None, every: str) -> int | None:
    """The weekday (0 = Monday) of a weekly schedule; Monday when not given. A daily schedule takes none."""
    if every == "daily":
        if text:
            raise InvalidInput("A daily brief takes no day.", "Leave day out, or use every=weekly.")
        return None
    value = (text or DEFAULT_DAY).strip().lower()
    matches = [i for i, name in enumerate(WEEKDAYS) if len(value) >= 2 and name.startswith(value)]
    if len(matches) != 1:
        raise InvalidInput(f"day={text!r} is not a day of the week.", "Use monday, tuesday, ... sunday.")
    return matches[0]


def parse_time(text: str | None) -> dt.time:
    """`HH:MM` on a 24-hour clock (08:00 when not given)."""
    value = (text or DEFAULT_TIME).strip()
    match = _TIME.match(value)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise InvalidInput(
            f"time={text!r} is not a time of day.", "Use HH:MM on a 24-hour clock, e.g. 08:00."
        )
    return dt.time(int(match.group(1)), int(match.group(2)))


def parse_time_zone(text: str) -> str:
    """An IANA time zone name as zoneinfo knows it (`Europe/Berlin`, `UTC`); its canonical spelling."""
    value = text.strip()
    shown = value if len(value) <= 60 else value[:59] + "…"  # the echo is bounded like the input
    if not value or len(value) > 60:
        raise InvalidInput(
            f"tz={shown!r} is not a time zone.", "Use an IANA name, e.g. Europe/Berlin or UTC."
        )
    try:
        zoneinfo.ZoneInfo(value)
        return value
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        pass
    known = {name.lower(): name for name in zoneinfo.available_timezones()}
    if value.lower() in known:  # `europe/berlin` -> `Europe/Berlin`
        return known[value.lower()]
    raise InvalidInput(
        f"tz={shown!r} is not a time zone zoneinfo knows.", "Use an IANA name, e.g. Europe/Berlin or UTC."
    )
