"""When a scheduled brief is due: `daily` or `weekly` at a local time in an IANA time zone (zoneinfo).

Slots are computed in the schedule's zone, then stored as UTC instants (the brief outbox's unique key with
the schedule). Around daylight-saving changes the local time rules: 08:00 Europe/Berlin is 07:00 UTC in
winter and 06:00 UTC in summer. A local time that does not exist that day (clocks jump forward over it) is
posted when it would have been, one hour later by the new clock; a local time that happens twice (clocks go
back) is posted at its first occurrence. Pure maths: commands.schedule parses what users type into it.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

EVERY = ("daily", "weekly")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Slots:
    """A schedule's rule: `every` daily or weekly, on `weekday` (0 = Monday; weekly only), at local `at`."""

    every: str
    weekday: int | None
    at: dt.time
    time_zone: str

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def _on(self, day: dt.date) -> dt.datetime | None:
        """The slot on a local day as a UTC instant, or None if the schedule skips that day."""
        if self.every == "weekly" and day.weekday() != self.weekday:
            return None
        # fold=0: a repeated local time is its first occurrence; a skipped one keeps the offset before the jump.
        return dt.datetime.combine(day, self.at, tzinfo=self.zone).astimezone(dt.UTC)

    def _days(self, now: dt.datetime, offsets: range) -> list[dt.datetime]:
        today = now.astimezone(self.zone).date()
        slots = (self._on(today + dt.timedelta(days=n)) for n in offsets)
        return [slot for slot in slots if slot is not None]

    def latest(self, now: dt.datetime) -> dt.datetime:
        """The last slot at or before `now` (UTC)."""
        return max(s for s in self._days(now, range(-8, 2)) if s <= now)

    def following(self, now: dt.datetime) -> dt.datetime:
        """The first slot after `now` (UTC)."""
        return min(s for s in self._days(now, range(-1, 9)) if s > now)

    def previous(self, slot: dt.datetime) -> dt.datetime:
        """The slot before `slot`: a day or a week earlier by the local clock."""
        return self.latest(slot - dt.timedelta(seconds=1))

    def local(self, instant: dt.datetime) -> str:
        """`Mon 2026-12-14 08:00 CET` in the schedule's zone."""
        return instant.astimezone(self.zone).strftime("%a %Y-%m-%d %H:%M %Z")

    def describe(self) -> str:
        """`weekly, Monday 08:00 Europe/Berlin` or `daily 07:30 UTC`."""
        when = f"{self.at:%H:%M} {self.time_zone}"
        if self.every == "weekly" and self.weekday is not None:
            return f"weekly, {WEEKDAYS[self.weekday].capitalize()} {when}"
        return f"daily {when}"
