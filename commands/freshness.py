"""Is a source's data out of date? Judged by its data date against how often its publisher releases, never by
when a file was imported (a 2024 file imported today is as old as it was).

A publisher with cadence (every `every_days`, released `lag_days` after the period it covers) should have
published newer data once `now` is past the end of the held data + one period + the lag. A source confirmed
current by a recent sync (the publisher's own file, unchanged) is current whatever its data date says:
`/sources` applies that first (commands/sources.py).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

# YYYY, YYYY-MM or YYYY-MM-DD; the last one in the text is the end of the data ("periods 2017-01 to 2024-12").
_DATE = re.compile(r"(?<!\d)(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(?!\d)")


def data_end(data_date: str | None) -> dt.date | None:
    """The last day the data covers: `2024` -> 2024-12-31, `2024-12` -> 2024-12-31, `2024-05-01` -> itself."""
    if not data_date:
        return None
    found = _DATE.findall(data_date)
    if not found:
        return None
    year, month, day = found[-1]
    y = int(year)
    if not month:
        return dt.date(y, 12, 31)
    m = int(month)
    if not 1 <= m <= 12:
        return None
    last = calendar.monthrange(y, m)[1]
    return dt.date(y, m, min(int(day), last) if day else last)


@dataclass(frozen=True)
class Staleness:
    """Why the data is out of date, and when newer data was due."""

    data_end: dt.date
    due: dt.date

    def words(self, cadence_words: str) -> str:
        return (
            f"data to {self.data_end.isoformat()}; the publisher releases {cadence_words}, so newer data was due "
            f"by {self.due.isoformat()}"
        )


def data_staleness(
    data_date: str | None, every_days: int, lag_days: int, now: dt.datetime
) -> Staleness | None:
    """Staleness of data ending at `data_date` for a publisher releasing every `every_days`, `lag_days` late.

    Returns:
        None when current, or when the data date is unknown (nothing to judge by).
    """
    end = data_end(data_date)
    if end is None:
        return None
    due = end + dt.timedelta(days=every_days + lag_days)
    return Staleness(end, due) if now.date() > due else None
