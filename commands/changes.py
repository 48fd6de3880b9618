"""`/changes [source] [since] [country] [program] [change]`: list changes, counts first, focus entries first.

A change is an entry added to, removed from or amended on a list between two snapshots of it (db/ingest/
changes.py). `since` holds against the publisher's data date of the snapshot that brought the change (the
detection date when the publisher stated none): "changes since 2024-04-27" are those of the lists published
since then, whenever they were loaded. Focus entries (tied to a focus country or listed under a focus program,
config [focus]) come first; the CSV attachment holds every change that matched.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from commands.context import Context
from commands.errors import InvalidInput, NoData
from commands.focus import Focus
from commands.parse import CommandLine
from commands.replies import Attachment, Citation, Field, Reply
from commands.tables import csv_bytes
from db.queries.changes import MAX_CHANGES, ChangeRow, list_changes

CHANGE_KINDS = ("added", "removed", "amended")
MAX_SINCE_DAYS = 3660
FIELD_CHARS = 1000
SHOWN_ENTRIES = 15  # per field; the CSV has all
_DAYS = re.compile(r"^(\d{1,4})d$")


def parse_since(text: str | None, today: dt.date, default_days: int | None = None) -> dt.date | None:
    """`7d` (days back from today), `YYYY-MM-DD`, or None (`default_days` back, or no limit).

    Raises:
        InvalidInput: anything else, or more than ten years back.
    """
    if text in (None, ""):
        return None if default_days is None else today - dt.timedelta(days=default_days)
    value = text.strip().lower()
    days = _DAYS.match(value)
    if days:
        n = int(days.group(1))
        if not 0 < n <= MAX_SINCE_DAYS:
            raise InvalidInput(
                f"since={text} is out of range.", "Use 1d to 3660d, or a date such as 2024-04-27."
            )
        return today - dt.timedelta(days=n)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"since={text!r} is neither a number of days nor a date.",
            "Use e.g. since=7d or since=2024-04-27.",
        ) from None


@dataclass(frozen=True)
class ChangesParams:
    source: str | None = None
    since: str | None = None
    country: str | None = None
    program: str | None = None
    change: str | None = None


def parse_changes(line: CommandLine, lookups: Any = None) -> ChangesParams:
    """`/changes [SOURCE] [since=7d|YYYY-MM-DD] [country=CN] [program=RUSSIA-EO14024] [change=added]`."""
    known = {"source", "since", "country", "program", "change"}
    unknown = sorted(set(line.options) - known)
    if unknown:
        raise InvalidInput(
            f"Unknown option {unknown[0]}=.", "Options: " + ", ".join(f"{k}=" for k in sorted(known))
        )
    if len(line.words) > 1:
        raise InvalidInput("/changes takes at most one source.", "Try /changes ofac_sdn since=2024-04-27.")
    source = line.options.get("source") or (line.words[0] if line.words else None)
    return ChangesParams(
        source.lower() if source else None,
        line.options.get("since"),
        line.options.get("country"),
        line.options.get("program"),
        line.options.get("change"),
    )


def entry_countries(row: ChangeRow) -> list[str]:
    return [str(c).upper() for c in row.details.get("countries") or []]


def entry_programs(row: ChangeRow) -> list[str]:
    programs = [str(p) for p in row.details.get("programs") or []]
    programs += [str(d["program"]) for d in row.details.get("designations") or [] if d.get("program")]
    return list(dict.fromkeys(programs))


def official_link(row: ChangeRow) -> str | None:
    """The designation's own page when the publisher gives one, else the list's."""
    for designation in row.details.get("designations") or []:
        if designation.get("source_url"):
            return str(designation["source_url"])
    return row.source_url


def _country_code(text: str, ctx: Context) -> str:
    found = ctx.lookups.country(text)
    if found is None or not found.iso2:
        if len(text) == 2 and text.isalpha():
            return text.upper()
        raise InvalidInput(
            f"country={text!r} is not a country I know.", "Use an ISO2 code or name, e.g. country=CN."
        )
    return found.iso2.upper()


@dataclass(frozen=True)
class ChangeSet:
    """The changes that matched, split into focus entries and the rest, with counts by list and kind."""

    rows: list[ChangeRow]
    focus_rows: list[ChangeRow]
    other_rows: list[ChangeRow]
    counts: dict[str, Counter[str]]
    truncated: bool
    focus_countries: Counter[str]  # focus entries per focus country (an entry tied to two counts for both)
    focus_program_only: int  # focus entries by program alone

    def focus_line(self, focus: Focus) -> str:
        """`22 focus entries: CN 10, HK 12 ...` in the configured order of the focus countries."""
        parts = [
            f"{code} {self.focus_countries[code]:,}" for code in focus.countries if self.focus_countries[code]
        ]
        if self.focus_program_only:
            parts.append(f"focus programs only {self.focus_program_only:,}")
        return (
            f"{len(self.focus_rows):,} focus entries"
            + (f" (tied to {', '.join(parts)})" if parts else "")
            + "."
        )

    def count_lines(self) -> list[str]:
        lines = []
        for source, counts in self.counts.items():
            parts = ", ".join(f"{counts[k]:,} {k}" for k in CHANGE_KINDS if counts.get(k))
            lines.append(f"{source}: {parts}")
        return lines


async def collect_changes(
    ctx: Context,
    *,
    source: str | None,
    since: dt.date | None,
    country: str | None = None,
    program: str | None = None,
    change: str | None = None,
) -> ChangeSet:
    """The changes matching the filters (shared by /changes and /brief)."""
    if change is not None and change not in CHANGE_KINDS:
        raise InvalidInput(
            f"change={change!r} is not a kind of change.", "Use change=added, removed or amended."
        )
    focus = ctx.focus or Focus()
    rows = await list_changes(
        ctx.session, source=source, since=since, limit=MAX_CHANGES, change=change, since_data_date=True
    )
    truncated = len(rows) >= MAX_CHANGES
    if country:
        code = _country_code(country, ctx)
        rows = [r for r in rows if code in entry_countries(r)]
    if program:
        wanted = program.strip().upper()
        rows = [r for r in rows if any(wanted in p.upper() for p in entry_programs(r))]
    counts: dict[str, Counter[str]] = {}
    for row in rows:
        counts.setdefault(row.source, Counter())[row.change] += 1
    ranked = [
        (rank, i, r)
        for i, r in enumerate(rows)
        if (rank := focus.rank(entry_countries(r), entry_programs(r))) is not None
    ]
    focus_rows = [r for _, _, r in sorted(ranked, key=lambda t: (t[0], t[1]))]
    focus_ids = {r.id for r in focus_rows}
    by_country: Counter[str] = Counter()
    for row in focus_rows:
        by_country.update(focus.countries_hit(entry_countries(row)))
    program_only = sum(1 for r in focus_rows if not focus.countries_hit(entry_countries(r)))
    return ChangeSet(
        rows,
        focus_rows,
        [r for r in rows if r.id not in focus_ids],
        counts,
        truncated,
        by_country,
        program_only,
    )


def entry_line(row: ChangeRow) -> str:
    """`added · KING-PAI TECHNOLOGY ... · ofac_sdn RUSSIA-EO14024 · HK · data 2024-05-01 · <link>`."""
    programs = ", ".join(entry_programs(row)[:3]) or "no program stated"
    countries = ", ".join(entry_countries(row)[:4]) or "no country stated"
    link = official_link(row)
    return (
        f"{row.change} · {row.name[:80]} · {row.source} {programs} · {countries} · "
        f"data {row.data_date or 'not stated'}" + (f" · <{link}>" if link else "")
    )


def entries_field(title: str, rows: list[ChangeRow]) -> Field:
    """Up to SHOWN_ENTRIES lines within Discord's field size; the rest is counted (the CSV has them)."""
    lines: list[str] = []
    used = 0
    for row in rows[:SHOWN_ENTRIES]:
        line = entry_line(row)
        if used + len(line) + 40 > FIELD_CHARS:
            break
        lines.append(line)
        used += len(line) + 1
    if len(rows) > len(lines):
        lines.append(f"... and {len(rows) - len(lines):,} more in the CSV")
    return Field(f"{title} ({len(rows):,})", "\n".join(lines))


def changes_csv(changes: ChangeSet) -> bytes:
    focus_ids = {r.id for r in changes.focus_rows}
    return csv_bytes(
        ["focus", "list", "change", "name", "entity_key", "programs", "countries", "data_date", "detected_at",
         "fields_changed", "official_link"],
        (
            ["yes" if r.id in focus_ids else "no", r.source, r.change, r.name, r.entity_key,
             "; ".join(entry_programs(r)), "; ".join(entry_countries(r)), r.data_date,
             r.detected_at.isoformat(), "; ".join(r.fields), official_link(r)]
            for r in [*changes.focus_rows, *changes.other_rows]
        ),
    )  # fmt: skip


def change_citations(rows: list[ChangeRow]) -> list[Citation]:
    """One citation per list and data date."""
    seen: dict[tuple[str, str | None], Citation] = {}
    for row in rows:
        seen.setdefault(
            (row.source, row.data_date),
            Citation(row.source, "", row.data_date or "not stated", row.source_url),
        )
    return list(seen.values())[:10]


def row_numbers(row: ChangeRow) -> dict[str, Any]:
    return {
        "list": row.source,
        "change": row.change,
        "name": row.name,
        "entity_key": row.entity_key,
        "programs": entry_programs(row),
        "countries": entry_countries(row),
        "data_date": row.data_date,
        "official_link": official_link(row),
    }


async def run_changes(ctx: Context, params: ChangesParams) -> Reply:
    """Answer /changes: counts by list and kind, focus entries, other entries, the CSV of all."""
    focus = ctx.focus or Focus()
    since = parse_since(params.since, ctx.now().date())
    changes = await collect_changes(
        ctx,
        source=params.source,
        since=since,
        country=params.country,
        program=params.program,
        change=params.change.lower() if params.change else None,
    )
    filters = ", ".join(
        f"{k}={v}"
        for k, v in (
            ("source", params.source), ("since", since.isoformat() if since else None),
            ("country", params.country), ("program", params.program), ("change", params.change),
        )
        if v
    )  # fmt: skip
    if not changes.rows:
        raise NoData(
            "No list changes recorded" + (f" for {filters}" if filters else "") + ".",
            "The first snapshot of a list is its baseline and records none; changes appear once a newer snapshot "
            "is loaded (`tradewatch sync` or `tradewatch import`). Try a wider since= or fewer filters.",
        )
    summary = [f"{len(changes.rows):,} change(s)" + (f" ({filters})" if filters else "") + ":"]
    summary += changes.count_lines()
    summary += [changes.focus_line(focus), focus.describe()]
    if changes.truncated:
        summary.append(f"Only the newest {MAX_CHANGES:,} changes were read; narrow the filters for the rest.")
    fields = []
    if changes.focus_rows:
        fields.append(entries_field("Focus entries", changes.focus_rows))
    if changes.other_rows:
        fields.append(entries_field("Other entries", changes.other_rows))
    return Reply(
        title="List changes" + (f" since {since.isoformat()}" if since else ""),
        summary=summary,
        fields=fields,
        citations=change_citations(changes.rows),
        attachments=[
            Attachment("changes.csv", changes_csv(changes), "Every change that matched, focus first")
        ],
        numbers={
            "counts": {s: dict(c) for s, c in changes.counts.items()},
            "total": len(changes.rows),
            "focus_total": len(changes.focus_rows),
            "focus_by_country": dict(changes.focus_countries),
            "focus": focus.to_numbers(),
            "since": since.isoformat() if since else None,
            "focus_entries": [row_numbers(r) for r in changes.focus_rows[:500]],
        },
    )
