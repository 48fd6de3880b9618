"""The /compare reply: quotable lines, the figures and multiples tables, the gap between the two reports of a
flow, what each line was summed from, the chart and the CSV, all in the measure asked for. Every figure names
its reporter, and every multiple the months it rests on (`commands.basis`, the rule /exports and /top use).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from commands.basis import MISSING_MONTHS_RULE, Basis, fmt_times
from commands.compare_basis import (
    Line,
    against_base,
    gap,
    gap_words,
    month_span,
    months_with,
    pairs,
    year_figure,
)
from commands.compare_chart import ChartLine, compare_chart
from commands.context import Context
from commands.measures import Measure
from commands.replies import Attachment, Citation, Field, Reply
from commands.resolve import ResolvedCommodity
from commands.tables import csv_bytes, monospace_table
from commands.trade_common import FLOW_WORDS, level_text, possessive
from db.queries import trade_sources

GAP_NOTE = (
    "The two reports of one flow differ by valuation (exports FOB, imports CIF), timing, transit and "
    "classification; neither is added to the other."
)


@dataclass(frozen=True)
class View:
    """What every part of the reply shares: the years shown, the base year, the months and the measure."""

    years: list[int]
    base: int
    months: tuple[int, int] | None
    measure: Measure

    def span(self, year: int) -> str:
        """`2023`, or `Jan–May 2023` when months are asked for."""
        first, last = self.months or (1, 12)
        return Basis(year, self.base, first, last).span(year)


def _quotable(line: Line, view: View) -> str:
    """`Russia (China's report): $8.41M in 2023, 2.1× 2021 by value (all 12 months in both years).`"""
    last, measure = view.years[-1], view.measure
    if line.series is None:
        return f"{line.label}: no data in {view.years[0]}–{last} in any loaded source."
    text = f"{line.label}: {measure.fmt(year_figure(line, last, view.months, measure))} in {view.span(last)}"
    if line.freq == "M":
        have, want = months_with(line, last, view.months, measure), len(month_span(view.months))
        if have < want:
            text += f" ({have} of {want} months with the {measure.noun})"
    comparison = against_base(line, last, view.base, view.months, measure)
    if comparison is not None:
        text += ", " + comparison.quote()
    elif last != view.base:
        text += f"; no multiple of {view.base} (an annual source has no months)"
    return text + "."


def _gap_line(direct: Line, other: Line, year: int, view: View) -> str:
    comparison = gap(direct, other, year, view.months, view.measure)
    head = f"{direct.country.name} {view.span(year)}"
    if comparison is None or comparison.change_pct is None:
        why = gap_words(comparison) if comparison else "an annual total against part of a year"
        return f"{head}: the two reports cannot be set side by side ({why})."
    who, asked = possessive(other.reporter.name), possessive(direct.reporter.name)
    side = "above" if comparison.change_pct >= 0 else "below"
    fmt = view.measure.fmt
    return (
        f"{head}: {who} report ({fmt(comparison.total_compared)}) is {abs(comparison.change_pct):,.1f}% {side} "
        f"{asked} ({fmt(comparison.base_compared)}), {gap_words(comparison)}."
    )


def _figure_cell(line: Line, year: int, view: View) -> str:
    """The year's figure, with `(5m)` when the source holds the measure for only 5 of the months asked for."""
    text = view.measure.fmt(year_figure(line, year, view.months, view.measure))
    if line.freq == "M":
        have = months_with(line, year, view.months, view.measure)
        if 0 < have < len(month_span(view.months)):
            text += f" ({have}m)"
    return text


def _tables(lines: Sequence[Line], view: View) -> list[Field]:
    header = ["Flow (who reported it)", *(str(y) for y in view.years)]
    right = [False, *([True] * len(view.years))]
    figures = [[line.label, *(_figure_cell(line, y, view) for y in view.years)] for line in lines]
    table = monospace_table(header, figures, right=right)
    if any("m)" in cell for row in figures for cell in row[1:]):
        table += "\n(Nm): the source has the figure for only N of the months asked for; the rest are missing."
    span = f", months {view.months[0]}–{view.months[1]}" if view.months else ""
    fields = [Field(f"{view.measure.noun.capitalize()} ({view.measure.axis}{span})", table)]
    notes: list[str] = []
    rows = []
    for line in lines:
        cells = [line.label]
        for year in view.years:
            comparison = against_base(line, year, view.base, view.months, view.measure)
            if year == view.base:
                cells.append("base" if line.series is not None else "–")
            elif comparison is None or comparison.multiple is None:
                cells.append("–")
            elif comparison.all_months_compared:
                cells.append(fmt_times(comparison.multiple))
            else:
                cells.append(fmt_times(comparison.multiple) + "*")
                notes.append(f"* {line.label} {year}: {comparison.rule_words()}")
        rows.append(cells)
    fields.append(
        Field(f"Multiple of {view.base} {view.measure.by}", monospace_table(header, rows, right=right))
    )
    fields.append(Field("Months compared", "\n".join([*notes[:8], MISSING_MONTHS_RULE])))
    return fields


def _sources(lines: Sequence[Line]) -> Field:
    """Per source and codes: the lines it answers (lines that share both are listed together)."""
    groups: dict[str, list[str]] = {}
    for line in lines:
        if line.series is None:
            continue
        codes = sorted({r.hs_code for r in line.series.rows})
        summed = level_text({p: [lv] for p, lv in line.series.levels.items()}, line.series.levels, codes)
        freq = "monthly" if line.freq == "M" else "annual"
        what = f"{line.series.chosen.source_title} ({freq}). {summed.split(' One HS level')[0]}"
        groups.setdefault(what, []).append(line.label)
    parts = [f"{', '.join(labels)}: {what}" for what, labels in groups.items()]
    text = (
        "\n".join(parts)
        + "\nEach line comes from one source for all its years; sources are never added together."
    )
    return Field("What each line sums", text)


async def _citations(ctx: Context, lines: Sequence[Line]) -> list[Citation]:
    """One citation per source and reporter: a line's figures are labelled by who reported them."""
    snapshots = {r.snapshot_id for line in lines if line.series for r in line.series.rows}
    infos = {i.snapshot_id: i for i in await trade_sources.snapshot_infos(ctx.session, snapshots)}
    out: dict[tuple[str, str], Citation] = {}
    for line in lines:
        if line.series is None:
            continue
        used = sorted({r.snapshot_id for r in line.series.rows}, reverse=True)
        for info in (infos[s] for s in used if s in infos):
            key = (info.source_key, line.reporter.name)
            if key not in out:
                date = info.data_date or f"loaded {info.fetched_at}"
                note = f"{line.reporter.name}'s report of its {FLOW_WORDS[line.flow][0]}"
                out[key] = Citation(info.source_title, info.publisher, date, info.url, note)
    return list(out.values())


def _csv(lines: Sequence[Line], view: View) -> bytes:
    """One row per line and year: the figure, months with it, the multiple of the base and its months, source."""
    header = ["country", "reporter", "partner", "flow", "year", view.measure.column, "months_with_data",
              f"multiple_of_{view.base}", "months_compared", "source"]  # fmt: skip
    rows = []
    for line in lines:
        for year in view.years:
            comparison = against_base(line, year, view.base, view.months, view.measure)
            rows.append([
                line.country.name, line.reporter.name, line.partner.name, FLOW_WORDS[line.flow][0], year,
                year_figure(line, year, view.months, view.measure),
                months_with(line, year, view.months, view.measure) if line.freq == "M" else None,
                comparison.multiple if comparison else None,
                comparison.rule_words() if comparison else ("base year" if year == view.base else ""),
                line.series.chosen.source_title if line.series else "no data",
            ])  # fmt: skip
    return csv_bytes(header, rows)


def _numbers(lines: Sequence[Line], view: View) -> dict[str, object]:
    def one(line: Line) -> dict[str, object]:
        per_year = []
        for year in view.years:
            comparison = against_base(line, year, view.base, view.months, view.measure)
            per_year.append({
                "year": year,
                "figure": year_figure(line, year, view.months, view.measure),
                "multiple_of_base": comparison.multiple if comparison else None,
                "months_compared": list(comparison.compared) if comparison else [],
                "basis": comparison.rule_words() if comparison else None,
            })  # fmt: skip
        return {
            "country": line.country.name, "reporter": line.reporter.name, "partner": line.partner.name,
            "reporter_code": line.reporter.code, "partner_code": line.partner.code,
            "flow": line.flow, "other_side": line.mirror, "freq": line.freq,
            "source": line.series.chosen.source_key if line.series else None, "years": per_year,
        }  # fmt: skip

    gaps = []
    for direct, other in pairs(lines):
        for year in view.years:
            comparison = gap(direct, other, year, view.months, view.measure)
            gaps.append({"country": direct.country.name, "year": year,
                         "gap_pct": comparison.change_pct if comparison else None,
                         "basis": gap_words(comparison) if comparison else None})  # fmt: skip
    return {"years": view.years, "base_year": view.base, "months": list(view.months) if view.months else None,
            "measure": view.measure.key, "unit": view.measure.unit, "rule": MISSING_MONTHS_RULE,
            "lines": [one(line) for line in lines], "gaps": gaps}  # fmt: skip


def _chart_lines(lines: Sequence[Line], view: View) -> list[ChartLine]:
    colours: dict[str, int] = {}
    out = []
    for line in lines:
        index = colours.setdefault(line.country.name, len(colours))
        values = [year_figure(line, y, view.months, view.measure) for y in view.years]
        out.append(ChartLine(line.label, values, index, dashed=line.mirror))
    return out


async def build_reply(
    ctx: Context,
    commodity: ResolvedCommodity,
    lines: Sequence[Line],
    view: View,
    *,
    title: str,
    chart_title: str,
) -> Reply:
    """Assemble text, tables, chart, CSV and numbers."""
    summary = [_quotable(line, view) for line in lines]
    gap_lines = [_gap_line(d, o, y, view) for d, o in pairs(lines) for y in view.years]
    if view.months and any(line.freq == "A" for line in lines):
        summary.append("Annual sources hold no months: their lines show nothing for months=.")
    fields = _tables(lines, view)
    if gap_lines:
        fields.append(Field("Gap between the two reports", "\n".join(gap_lines[:12]) + "\n" + GAP_NOTE))
    fields.append(_sources(lines))
    if commodity.note:
        fields.append(Field("Commodity", f"{commodity.label}. {commodity.note}"))
    citations = await _citations(ctx, lines)
    source_line = "Source: " + "; ".join(c.text() for c in citations)
    span = f", months {view.months[0]}–{view.months[1]}" if view.months else ""
    subtitle = f"HS {', '.join(commodity.codes)}; {view.measure.noun} per year{span}"
    subtitle += (
        "; dashed: the other country's report of the same flow" if any(x.mirror for x in lines) else ""
    )
    chart = await asyncio.to_thread(
        compare_chart, title=chart_title, subtitle=subtitle, source=source_line, years=view.years,
        lines=_chart_lines(lines, view), measure=view.measure,
    )  # fmt: skip
    stem = f"compare-{'-'.join(commodity.codes)}-{view.years[0]}-{view.years[-1]}".lower()
    return Reply(
        title=title,
        summary=summary,
        fields=fields,
        citations=citations,
        attachments=[
            Attachment(f"{stem}.png", chart, f"Chart, {view.years[0]}–{view.years[-1]}"),
            Attachment(f"{stem}.csv", _csv(lines, view), "Every line and year as CSV"),
        ],
        numbers={
            "commodity": {"query": commodity.query, "codes": list(commodity.codes)},
            **_numbers(lines, view),
        },  # fmt: skip
    )
