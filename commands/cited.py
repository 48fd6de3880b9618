"""Figures other people published about a flow (the team's curated "reported figures"), shown under the data.

`reported_figures_for` finds the figures about the goods, countries, flow and years of an answer; `cited_fields`
renders them, each with its publisher, date and link, as fields of their own: they are never added to a series,
a table or a chart. When the database holds no rows, `no_data_reply` answers with what is reported and how to
get the data instead of a bare "no data".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from commands.context import Context
from commands.errors import NoData
from commands.replies import Field, Reply
from commands.trade_common import FLOW_WORDS, possessive
from db.lookups import Country, Lookups
from db.queries.reported_figures import FigureRow, trade_figures

MAX_SHOWN = 3  # a Discord answer keeps room for its data; the JSON and the CLI carry the same three
FIELD_PREFIX = "Reported elsewhere"
ALL_CODES = ("",)  # every HS code (/top goods: all the goods of a pair)


@dataclass(frozen=True)
class CitedFigure:
    """A matching figure, and whether it speaks of the asked flow or of its mirror (the partner's report)."""

    row: FigureRow
    mirror: bool


def _codes_overlap(figure_code: str, codes: Iterable[str]) -> bool:
    """HS 8542 matches a question about 854231 and one about 85; 2504 does not match 281820."""
    return any(figure_code.startswith(c) or c.startswith(figure_code) for c in codes)


def _same(value: str | None, wanted: set[str] | None) -> bool:
    """An unset side of the figure or of the question matches anything."""
    return value is None or wanted is None or value in wanted


def match(
    row: FigureRow, codes: Sequence[str], reporter: str | None, partners: set[str] | None, flow: str
) -> CitedFigure | None:
    """The figure as it relates to the question: the same flow, its mirror (reporter and partner swapped, the
    opposite flow, as the partner reports it), or None."""
    if not codes or not _codes_overlap(row.hs_code, codes):
        return None
    reporters = {reporter} if reporter else None
    if (row.flow in (None, flow)) and _same(row.reporter, reporters) and _same(row.partner, partners):
        return CitedFigure(row, mirror=False)
    opposite = "M" if flow == "X" else "X"
    if row.flow == opposite and _same(row.partner, reporters) and _same(row.reporter, partners):
        return CitedFigure(row, mirror=True)
    return None


async def reported_figures_for(
    ctx: Context,
    *,
    codes: Sequence[str],
    reporter: Country,
    partners: Sequence[Country] | None,
    flow: str,
    first_year: int,
    last_year: int,
) -> list[CitedFigure]:
    """The curated figures about these HS codes, countries and flow whose period overlaps the years.

    Args:
        partners: the partners of the answer; None for every partner (/top partners).
    """
    rows = await trade_figures(ctx.session, first_year * 100 + 1, last_year * 100 + 12)
    wanted = None if partners is None else {p.iso2 for p in partners if p.iso2}
    found = [match(r, codes, reporter.iso2, wanted, flow) for r in rows]
    return [f for f in found if f is not None]


def _publisher_line(row: FigureRow) -> str:
    cites = row.citations or [{}]
    parts = []
    for c in cites:
        text = c.get("publisher", "unknown publisher")
        if c.get("date"):
            text += f", {c['date']}"
        if c.get("title"):
            text += f', "{c["title"]}"'
        if c.get("url"):
            text += f" <{c['url']}>"
        parts.append(text)
    return "; ".join(parts)


def _about(figure: CitedFigure, lookups: Lookups) -> str:
    """What the figure speaks of, in the figure's own terms (who reported which flow, when, which goods)."""
    row = figure.row

    def name(iso2: str | None) -> str:
        country = lookups.country(iso2) if iso2 else None
        return country.name if country else (iso2 or "?")

    if row.reporter and row.flow:
        noun, prep = FLOW_WORDS[row.flow]
        flow = f"{possessive(name(row.reporter))} {noun}" + (
            f" {prep} {name(row.partner)}" if row.partner else ""
        )
    else:
        flow = row.subject
    goods = f'"{row.commodity}" (HS {row.hs_code})' if row.commodity else f"HS {row.hs_code}"
    text = f"About {flow}, {goods}, period {row.period}"
    if figure.mirror:
        text += f"; the same goods as {name(row.reporter)} reported them, the mirror of the flow asked"
    return text + "."


def cited_fields(figures: Sequence[CitedFigure], lookups: Lookups) -> list[Field]:
    """One field per figure (at most `MAX_SHOWN`): the words as published, who published them and when."""
    fields = []
    for figure in figures[:MAX_SHOWN]:
        row = figure.row
        cites = row.citations[0] if row.citations else {}
        name = f"{FIELD_PREFIX}: {cites.get('publisher', 'unknown publisher')}"
        if cites.get("date"):
            name += f", {cites['date']}"
        value = f"“{row.statement}”\n{_about(figure, lookups)}"
        if row.hs_note:
            value += f" {row.hs_note}"
        value += f"\nSource: {_publisher_line(row)}. Cited, not part of the loaded data."
        fields.append(Field(name, value))
    if len(figures) > MAX_SHOWN:
        fields.append(
            Field(f"{FIELD_PREFIX}: more", f"{len(figures) - MAX_SHOWN} more cited figure(s); see --json.")
        )
    return fields


def figures_numbers(figures: Sequence[CitedFigure]) -> list[dict[str, object]]:
    """The machine-readable form (`--json`), kept apart from the series' numbers."""
    return [
        {
            "id": f.row.key,
            "statement": f.row.statement,
            "value": f.row.value,
            "unit": f.row.unit,
            "period": f.row.period,
            "hs_code": f.row.hs_code,
            "commodity": f.row.commodity,
            "reporter": f.row.reporter,
            "partner": f.row.partner,
            "flow": f.row.flow,
            "mirror": f.mirror,
            "citations": f.row.citations,
        }
        for f in figures
    ]


def with_figures(reply: Reply, figures: Sequence[CitedFigure], lookups: Lookups) -> Reply:
    """The reply with the figures as fields after its own (the data's) fields, and in its numbers apart."""
    if not figures:
        return reply
    return replace(
        reply,
        fields=[*reply.fields, *cited_fields(figures, lookups)],
        numbers={**reply.numbers, "reported_figures": figures_numbers(figures)},
    )


def no_data_reply(error: NoData, title: str, figures: Sequence[CitedFigure], lookups: Lookups) -> Reply:
    """A no-data answer that shows what is reported elsewhere, and how to get the data.

    Raises:
        NoData: `error` itself, when no figure matches (the short private "no data" message).
    """
    if not figures:
        raise error
    fields = cited_fields(figures, lookups)
    if error.hint:
        fields.append(Field("How to get the data", error.hint))
    return Reply(
        title=f"No loaded data: {title}",
        summary=[error.message, "What is reported elsewhere is shown below; it is not part of any series."],
        fields=fields,
        numbers={"no_data": error.message, "reported_figures": figures_numbers(figures)},
    )
