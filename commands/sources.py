"""`/sources`: how fresh every source is: last sync, data date, rows, last change, next sync; stale ones flagged.

Staleness is judged by the data, never by when a file was imported (a 2024 file imported today is as old as it
was). A synced source is current while a sync from its publisher (even an unchanged one) confirmed it within its
`stale_hours` (`[sync.<source>]` config); otherwise, and for sources loaded only by `tradewatch import`, its data
date is held against its publisher's release cadence (db/sources registry, commands/freshness.py). Sources
without a cadence (Comtrade fetched per question, curated files) are listed but not judged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from commands.context import Context
from commands.errors import InvalidInput, NotFound
from commands.freshness import data_end, data_staleness
from commands.parse import CommandLine
from commands.replies import Citation, Field, Reply
from db.queries.sources import HoldRow, SourceRow, SyncRow, import_holds, source_rows, sync_rows
from db.sources import (
    Cadence,
    SourceSettings,
    SyncSource,
    cadence_of,
    default_settings,
    loaded_source_key,
    sync_sources,
)


@dataclass(frozen=True)
class SourcesParams:
    """Which sources to show (all when empty), by key, e.g. `ofac_sdn`."""

    only: tuple[str, ...] = ()


@dataclass
class SourceStatus:
    """One source as `/sources` shows it."""

    key: str
    title: str
    publisher: str = ""
    url: str | None = None
    data_date: str | None = None
    rows: int | None = None
    rows_label: str = ""
    last_sync_at: dt.datetime | None = None
    last_success_at: dt.datetime | None = None
    last_outcome: str | None = None
    last_error: str | None = None
    last_change_at: dt.datetime | None = None
    change_counts: dict[str, int] = field(default_factory=dict)
    change_note: str | None = None
    next_sync_at: dt.datetime | None = None
    scheduled: bool = False
    sync_enabled: bool = False
    stale_reason: str | None = None
    held: str | None = None  # why the mass-change guard holds the latest file back

    @property
    def flagged(self) -> bool:
        return bool(self.flags())

    def flags(self) -> list[str]:
        """`stale` and/or `sync failing`."""
        return [
            flag
            for flag, on in (
                ("stale", self.stale_reason is not None),
                ("sync failing", self.last_outcome == "failed"),
                ("update held", self.held is not None),
            )
            if on
        ]


def parse_sources(line: CommandLine, lookups: Any = None) -> SourcesParams:
    """`/sources [SOURCE ...]`; options are not accepted (they would be silently ignored otherwise)."""
    if line.options:
        raise InvalidInput("/sources takes no options.", "Try /sources, or /sources ofac_sdn for one source.")
    return SourcesParams(tuple(dict.fromkeys(w.lower() for w in line.words)))


def _age(delta: dt.timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    if minutes < 90:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"


def when(moment: dt.datetime | None, now: dt.datetime) -> str:
    """`2026-11-29 06:15 UTC (3 h ago)` / `(in 40 min)`; `never` for None."""
    if moment is None:
        return "never"
    text = moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    delta = now - moment
    return f"{text} ({_age(delta)} ago)" if delta >= dt.timedelta(0) else f"{text} (in {_age(delta)})"


def stale_reason(
    status: SourceStatus,
    synced_at: dt.datetime | None,
    hours: float | None,
    cadence: Cadence | None,
    now: dt.datetime,
) -> str | None:
    """Why a source is flagged as stale, or None when it is current (see the module docstring).

    Args:
        synced_at: the last successful sync from the publisher (None: never synced; imports do not count).
        hours: the sync confirmation window (`stale_hours`); None for sources that are not synced.
        cadence: the publisher's release cadence; None when it cannot be judged.
    """
    if synced_at is not None and hours is not None and now - synced_at <= dt.timedelta(hours=hours):
        return None  # the publisher's current file, whatever its data date
    if not status.rows_label and status.scheduled:
        return "never loaded" + ("" if status.sync_enabled else " (sync disabled)")
    unconfirmed = (
        f"not confirmed by a sync for {_age(now - synced_at)} (limit {hours:g} h)"
        if synced_at is not None and hours is not None
        else "loaded from a file, not confirmed by a sync"
        if status.scheduled
        else None
    )
    if cadence is None:
        return unconfirmed
    if data_end(status.data_date) is None:
        return f"data date unknown; {unconfirmed}" if unconfirmed else None
    staleness = data_staleness(status.data_date, cadence.every_days, cadence.lag_days, now)
    if staleness is None:
        return None
    return staleness.words(cadence.words) + (f"; {unconfirmed}" if unconfirmed else "")


def _apply_row(status: SourceStatus, row: SourceRow) -> None:
    status.publisher, status.url = row.publisher, row.url
    if row.latest is not None:
        status.data_date = row.latest.data_date
        if row.active_entities:
            status.rows, status.rows_label = row.active_entities, f"{row.active_entities:,} entries listed"
        else:
            status.rows, status.rows_label = (
                row.latest.rows_read,
                f"{row.latest.rows_read:,} rows in the last file",
            )
    if row.last_change_at is not None:
        status.last_change_at, status.change_counts = row.last_change_at, dict(row.last_change_counts)
    elif row.latest is not None:
        # No entry-level changes recorded (a baseline, or a source without change detection): the last change
        # is the last new file loaded.
        status.last_change_at, status.change_note = row.latest.fetched_at, "new file loaded"


def _scheduled_status(
    spec: SyncSource, row: SourceRow | None, sync: SyncRow | None, settings: SourceSettings, now: dt.datetime
) -> SourceStatus:
    status = SourceStatus(
        spec.key,
        row.title if row else spec.title,
        scheduled=True,
        sync_enabled=settings.enabled,
        url=settings.urls[0] if settings.urls else None,
    )
    if row is not None:
        _apply_row(status, row)
        if spec.mode == "record":
            status.rows, status.rows_label = None, "change file recorded (not imported)"
    if sync is not None:
        status.last_sync_at, status.last_success_at = sync.last_attempt_at, sync.last_success_at
        status.last_outcome, status.last_error = sync.last_outcome, sync.last_error
        status.next_sync_at = sync.next_sync_at
    synced_at = sync.last_success_at if sync else None
    status.stale_reason = stale_reason(status, synced_at, settings.stale_hours, cadence_of(spec.key), now)
    return status


def build_statuses(
    rows: list[SourceRow],
    syncs: Mapping[str, SyncRow],
    settings: Mapping[str, SourceSettings],
    now: dt.datetime,
) -> list[SourceStatus]:
    """Scheduled sources first (registry order), then every other loaded source."""
    by_key = {r.key: r for r in rows}
    out = []
    for spec in sync_sources().values():
        own = settings.get(spec.key, spec.defaults)
        row = by_key.pop(loaded_source_key(spec.key, own), None)
        out.append(_scheduled_status(spec, row, syncs.get(spec.key), own, now))
    for row in by_key.values():
        status = SourceStatus(row.key, row.title)
        _apply_row(status, row)
        status.stale_reason = stale_reason(status, None, None, cadence_of(row.key), now)
        out.append(status)
    return out


def _field(status: SourceStatus, now: dt.datetime) -> Field:
    lines = []
    if status.scheduled:
        outcome = f" ({status.last_outcome})" if status.last_outcome else ""
        lines.append(f"Last sync: {when(status.last_sync_at, now)}{outcome}")
    if status.rows_label:
        lines.append(f"Data date: {status.data_date or 'not stated by the publisher'} · {status.rows_label}")
    else:
        lines.append("Data: not loaded yet")
    counts = (
        ", ".join(f"{n:,} {kind}" for kind, n in sorted(status.change_counts.items())) or status.change_note
    )
    lines.append(f"Last change: {when(status.last_change_at, now)}" + (f" ({counts})" if counts else ""))
    if status.scheduled:
        if not status.sync_enabled:
            lines.append("Next sync: off (disabled in the [sync] config)")
        elif status.next_sync_at is None:
            lines.append("Next sync: when the schedule starts (`tradewatch serve` or `tradewatch sync`)")
        else:
            due = "due now" if status.next_sync_at <= now else when(status.next_sync_at, now)
            lines.append(f"Next sync: {due}")
    else:
        lines.append("Not synced: loaded with `tradewatch import`")
    if status.last_outcome == "failed":
        lines.append(f"Last error: {(status.last_error or 'unknown')[:400]}")
        lines.append(f"Last good sync: {when(status.last_success_at, now)}")
    if status.stale_reason:
        lines.append(f"STALE: {status.stale_reason}")
    if status.held:
        lines.append(f"HELD: {status.held}")
    flags = ", ".join(f.upper() for f in status.flags())
    return Field(f"{status.title} [{status.key}]" + (f" — {flags}" if flags else ""), "\n".join(lines)[:1024])


def mark_holds(statuses: list[SourceStatus], holds: Mapping[str, HoldRow], now: dt.datetime) -> None:
    """Flag each source whose latest file the mass-change guard holds back, with how to apply it."""
    by_key = {s.key: s for s in statuses}
    for key, hold in holds.items():
        status = by_key.get(key)
        if status is None:
            status = by_key[key] = SourceStatus(key, key)
            statuses.append(status)
        status.held = (
            f"{hold.file_name}, {when(hold.held_at, now)}: {hold.reason}. Not applied, no alerts sent; if the "
            f"publisher really changed this much, apply it with `tradewatch sync SOURCE --accept-mass-change` "
            "(or `tradewatch import ... --accept-mass-change` for a local file)"
        )


def _summary(statuses: list[SourceStatus]) -> list[str]:
    flagged = [s for s in statuses if s.flagged]
    loaded = sum(1 for s in statuses if s.rows_label)
    if not flagged:
        return [f"{_plural(len(statuses), 'source')}, {loaded} loaded; none is stale or failing."]
    names = ", ".join(f"{s.key} ({', '.join(s.flags())})" for s in flagged)
    return [f"{_plural(len(statuses), 'source')}, {loaded} loaded; {len(flagged)} flagged: {names}."]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _numbers(status: SourceStatus) -> dict[str, Any]:
    data = asdict(status)
    for key in ("last_sync_at", "last_success_at", "last_change_at", "next_sync_at"):
        data[key] = data[key].isoformat() if data[key] else None
    data["stale"] = status.stale_reason is not None
    data["flagged"] = status.flagged
    return data


async def run_sources(ctx: Context, params: SourcesParams) -> Reply:
    """Answer `/sources`.

    Args:
        ctx: session, clock and the per-source sync settings (the registry's defaults when it has none).
        params: the sources to show.
    Returns:
        A Reply with one field per source and `numbers["sources"]` for --json.
    Raises:
        NotFound: a named source is neither scheduled nor loaded.
    """
    now = ctx.now()
    statuses = build_statuses(
        await source_rows(ctx.session),
        await sync_rows(ctx.session),
        ctx.sync_settings or default_settings(),
        now,
    )
    mark_holds(statuses, await import_holds(ctx.session), now)
    if params.only:
        known = {s.key: s for s in statuses}
        missing = [k for k in params.only if k not in known]
        if missing:
            raise NotFound(f"No source called {', '.join(missing)}.", sorted(known))
        statuses = [known[k] for k in params.only]
    citations = [Citation(s.title, s.publisher, s.data_date, s.url) for s in statuses if s.rows_label]
    return Reply(
        title="Sources: freshness and sync",
        summary=_summary(statuses),
        fields=[_field(s, now) for s in statuses][:25],
        citations=citations,
        numbers={
            "sources": [_numbers(s) for s in statuses],
            "flagged": [s.key for s in statuses if s.flagged],
        },
    )
