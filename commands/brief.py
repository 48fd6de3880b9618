"""`/brief [since=7d|YYYY-MM-DD]`: one reply for the editorial meeting.

(a) list changes since the date (counts per list and kind, focus entries by name: commands.changes);
(b) trade movers of the focus commodities to the focus partners (commands.movers, rule in commands.anomalies);
(c) sources stale, failing or held (the /sources answer, commands.sources).
One chart (the movers) and one CSV of everything. The focus is config [focus] (commands.focus).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from commands.anomalies import rule_words
from commands.basis import fmt_times
from commands.changes import (
    ChangeSet,
    change_citations,
    collect_changes,
    entry_countries,
    entry_programs,
    official_link,
    parse_since,
    row_numbers,
)
from commands.context import Context
from commands.errors import InvalidInput
from commands.focus import Focus
from commands.movers import Mover, MoversResult, find_movers
from commands.parse import CommandLine
from commands.replies import Attachment, Field, Reply
from commands.sources import SourcesParams, run_sources
from commands.tables import csv_bytes

DEFAULT_SINCE_DAYS = 7
FOCUS_NAMES_SHOWN = 25
FIELD_CHARS = 1000


@dataclass(frozen=True)
class BriefParams:
    since: str | None = None


def parse_brief(line: CommandLine, lookups: Any = None) -> BriefParams:
    """`/brief [7d|YYYY-MM-DD]` or `/brief since=...`."""
    unknown = sorted(set(line.options) - {"since"})
    if unknown or len(line.words) > 1:
        raise InvalidInput(
            "/brief takes one option, since=.", "Try /brief since=7d or /brief since=2024-04-27."
        )
    return BriefParams(line.options.get("since") or (line.words[0] if line.words else None))


def _fit(lines: list[str], more: str = "") -> str:
    out: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + len(more) + 20 > FIELD_CHARS:
            out.append(f"... and {len(lines) - len(out)} more{more}")
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out) or "none"


def changes_field(changes: ChangeSet) -> Field:
    counts = changes.count_lines() or ["no list changes"]
    names = [
        f"{r.change} · {r.name[:70]} ({', '.join(entry_countries(r)[:3]) or '-'}; {r.source})"
        for r in changes.focus_rows[:FOCUS_NAMES_SHOWN]
    ]
    value = "\n".join(counts)
    if names:
        value += f"\nFocus entries ({len(changes.focus_rows):,}):\n" + _fit(names, " in the CSV")
    return Field("List changes", value[:FIELD_CHARS])


def mover_line(mover: Mover, cite: str) -> str:
    return "· " + mover.words() + (f" [{cite}]" if cite else "")


def movers_fields(movers: MoversResult) -> list[Field]:
    if not movers.all:
        return [Field("Trade movers", " ".join(movers.notes)[:FIELD_CHARS] or "no trade data for the focus")]
    return [
        Field(
            "Biggest rises",
            _fit([mover_line(m, movers.cite) for m in movers.rises]) if movers.rises else "none",
        ),
        Field(
            "Biggest falls",
            _fit([mover_line(m, movers.cite) for m in movers.falls]) if movers.falls else "none",
        ),
    ]


def sources_field(flagged: list[dict[str, Any]]) -> Field:
    if not flagged:
        return Field("Sources", "None stale, failing or held.")
    lines = [
        f"{s['key']}: {', '.join(flag for flag, on in (('stale', s.get('stale')), ('sync failing', s.get('last_outcome') == 'failed'), ('update held', s.get('held'))) if on)}"
        + (f" ({s['stale_reason']})" if s.get("stale_reason") else "")
        for s in flagged
    ]  # fmt: skip
    return Field("Sources stale, failing or held", _fit(lines))


def movers_chart(movers: MoversResult, subtitle: str, source: str) -> bytes | None:
    """Horizontal bars of the movers' multiples of their trailing average (log scale); None without movers."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    from commands.charts import _frame, figure_png, new_figure

    shown = [*movers.rises, *reversed(movers.falls)]
    if not shown:
        return None
    fig = new_figure()
    ax = _frame(fig, "Trade movers: latest months vs trailing 12-month average", subtitle, source, left=0.30)
    labels = [f"{m.group.key[:28]} → {m.partner_name[:22]}" for m in shown]
    values = [m.trailing_multiple or 1.0 for m in shown]
    colours = ["#1f4e79" if v >= 1 else "#c0504d" for v in values]
    ys = list(range(len(shown)))[::-1]
    ax.barh(ys, [v - 1.0 for v in values], left=1.0, color=colours)  # bars grow from 1× (no change)
    ax.set_xscale("log")
    low, high = min([*values, 1.0]), max([*values, 1.0])
    ax.set_xlim(low / 1.6, high * 1.6)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: fmt_times(x)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.axvline(1.0, color="#404040", linewidth=0.8)
    ax.set_yticks(ys, labels, fontsize=8)
    for y, v in zip(ys, values, strict=True):
        ax.text(
            v,
            y,
            f" {fmt_times(v)} " if v >= 1 else f" {fmt_times(v)} ",
            va="center",
            fontsize=8,
            ha="left" if v >= 1 else "right",
        )
    ax.set_xlabel("multiple of the average of the 12 months before (log scale)", fontsize=8)
    return figure_png(fig)


def brief_csv(changes: ChangeSet, movers: MoversResult, flagged: list[dict[str, Any]]) -> bytes:
    """Every row of the brief: list changes, movers (every commodity and partner), flagged sources."""
    focus_ids = {r.id for r in changes.focus_rows}
    rows: list[list[object]] = []
    for r in [*changes.focus_rows, *changes.other_rows]:
        rows.append(["list_change", r.source, r.change, r.name, "yes" if r.id in focus_ids else "no",
                     "; ".join(entry_countries(r)), "; ".join(entry_programs(r)), r.data_date, None, None, None,
                     None, official_link(r)])  # fmt: skip
    for m in movers.all:
        rows.append(["trade_mover", m.group.key, m.comparison.basis.span(), m.group.label, None, m.partner_name,
                     None, None, m.span_average, m.trailing_average, m.trailing_multiple, m.base_multiple,
                     None])  # fmt: skip
    for s in flagged:
        rows.append(["source", s["key"], ", ".join(k for k in ("stale", "flagged") if s.get(k)), s["title"], None,
                     None, None, s.get("data_date"), None, None, None, None, s.get("url")])  # fmt: skip
    header = ["section", "list_or_key", "kind_or_span", "name", "focus", "countries_or_partner", "programs",
              "data_date", "average_month_usd", "trailing_average_usd", "multiple_of_trailing_average",
              "multiple_of_base_year", "link"]  # fmt: skip
    return csv_bytes(header, rows)


async def run_brief(ctx: Context, params: BriefParams) -> Reply:
    """Answer /brief (see the module docstring)."""
    focus = ctx.focus or Focus()
    since = parse_since(params.since, ctx.now().date(), DEFAULT_SINCE_DAYS)
    assert since is not None  # a default is given
    changes = await collect_changes(ctx, source=None, since=since)
    movers = await find_movers(ctx, focus)
    sources = await run_sources(ctx, SourcesParams())
    flagged = [s for s in sources.numbers["sources"] if s["flagged"]]
    latest = movers.latest_period
    latest_text = f"{latest // 100}-{latest % 100:02d}" if latest else "none"
    source_line = "; ".join(c.text() for c in movers.citations) or "no trade source"
    summary = [
        f"Since {since.isoformat()}: {len(changes.rows):,} list change(s), {len(changes.focus_rows):,} of them focus "
        f"entries; trade data to {latest_text}; {len(flagged)} source(s) stale, failing or held.",
        focus.describe(),
        rule_words(),
        *movers.notes,
    ]
    attachments = []
    chart = await asyncio.to_thread(
        movers_chart,
        movers,
        f"{focus.reporter} exports of the focus commodities, data to {latest_text}",
        source_line,
    )
    if chart is not None:
        attachments.append(
            Attachment("brief_movers.png", chart, "Trade movers against the trailing 12-month average")
        )
    attachments.append(
        Attachment("brief.csv", brief_csv(changes, movers, flagged), "Everything in the brief")
    )
    return Reply(
        title=f"Editorial brief since {since.isoformat()}",
        summary=summary,
        fields=[changes_field(changes), *movers_fields(movers), sources_field(flagged)],
        citations=[*movers.citations, *change_citations(changes.rows)],
        attachments=attachments,
        numbers={
            "since": since.isoformat(),
            "focus": focus.to_numbers(),
            "changes": {
                "counts": {s: dict(c) for s, c in changes.counts.items()},
                "total": len(changes.rows),
                "focus_total": len(changes.focus_rows),
                "focus_entries": [row_numbers(r) for r in changes.focus_rows[:500]],
            },
            "movers": {
                "latest_period": latest_text if latest else None,
                "rises": [m.to_numbers() for m in movers.rises],
                "falls": [m.to_numbers() for m in movers.falls],
                "notes": movers.notes,
            },
            "sources_flagged": flagged,
        },
    )
