"""The /compare reply: quotable lines, the values and multiples tables, the gap between the two reports of a
flow, what each line was summed from, the chart and the CSV. Every figure names its reporter and its basis.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from commands.compare_basis import (
    Compared,
    Line,
    basis_words,
    compare_lines,
    months_with_data,
    pairs,
    selected_months,
    year_total,
)
from commands.compare_chart import ChartLine, compare_chart
from commands.context import Context
from commands.replies import Attachment, Citation, Field, Reply
from commands.resolve import ResolvedCommodity
from commands.tables import csv_bytes, monospace_table
from commands.trade_common import FLOW_WORDS, fmt_multiple, fmt_usd, level_text, possessive
from db.queries import trade_sources

if TYPE_CHECKING:
    from commands.compare import CompareParams

GAP_NOTE = (
    "The two reports of one flow differ by valuation (exports FOB, imports CIF), timing, transit and "
    "classification; neither is added to the other."
)


def _quotable(line: Line, years: Sequence[int], base: int, months: tuple[int, int] | None) -> str:
    """`Russia (China's report): $5.25M in 2023, 1.7× 2021 (full years).`"""
    last = years[-1]
    total = year_total(line.values, last, line.freq, months)
    if line.series is None:
        return f"{line.label}: no data in {years[0]}–{last} in any loaded source."
    text = f"{line.label}: {fmt_usd(total)} in {last}"
    if line.freq == "M":
        have, want = (
            months_with_data(line.values, last, months),
            (months[1] - months[0] + 1 if months else 12),
        )
        if have < want:
            text += f" ({have} of {want} months with data)"
    if last != base:
        compared = compare_lines(line, last, line, base, months)
        if compared.multiple is not None:
            text += f", {fmt_multiple(compared.multiple)} {base} ({basis_words(compared, months)})"
        else:
            text += f"; no multiple of {base} ({basis_words(compared, months)})"
    return text + "."


def _gap_line(direct: Line, mirror: Line, year: int, months: tuple[int, int] | None) -> tuple[Compared, str]:
    compared = compare_lines(mirror, year, direct, year, months)
    who, other = possessive(mirror.reporter.name), possessive(direct.reporter.name)
    if compared.gap_pct is None:
        return (
            compared,
            f"{direct.country.name} {year}: the two reports cannot be compared ({basis_words(compared, months)}).",
        )
    side = "above" if compared.gap_pct >= 0 else "below"
    return compared, (
        f"{direct.country.name} {year}: {who} report ({fmt_usd(compared.value)}) is {abs(compared.gap_pct):,.1f}% "
        f"{side} {other} ({fmt_usd(compared.base)}), {basis_words(compared, months)}."
    )


def _value_cell(line: Line, year: int, months: tuple[int, int] | None) -> str:
    """The year's value, with `(5m)` when the source holds only 5 of the months asked for."""
    text = fmt_usd(year_total(line.values, year, line.freq, months))
    if line.freq == "M" and line.series is not None:
        have, want = months_with_data(line.values, year, months), len(selected_months(months))
        if 0 < have < want:
            text += f" ({have}m)"
    return text


def _tables(
    lines: Sequence[Line], years: Sequence[int], base: int, months: tuple[int, int] | None
) -> list[Field]:
    values = [[line.label, *(_value_cell(line, y, months) for y in years)] for line in lines]
    header = ["Flow (who reported it)", *(str(y) for y in years)]
    right = [False, *([True] * len(years))]
    span = f", months {months[0]}–{months[1]}" if months else ""
    table = monospace_table(header, values, right=right)
    if any("m)" in cell for row in values for cell in row[1:]):
        table += "\n(Nm): only N of the months asked for have data in the source; the others are missing, not zero."
    fields = [Field(f"Values (US${span})", table)]
    notes: list[str] = []
    rows = []
    for line in lines:
        cells = [line.label]
        for year in years:
            compared = compare_lines(line, year, line, base, months)
            if year == base:
                cells.append("base" if line.series is not None else "–")
                continue
            cell = fmt_multiple(compared.multiple) if compared.multiple is not None else "–"
            if compared.multiple is not None and not compared.complete and compared.months is not None:
                cell += "*"
                notes.append(f"* {line.label} {year}: {basis_words(compared, months)}")
            cells.append(cell)
        rows.append(cells)
    fields.append(Field(f"Multiple of {base}", monospace_table(header, rows, right=right)))
    if notes:
        fields.append(Field("Basis of the starred multiples", "\n".join(notes[:8])))
    return fields


def _sources(lines: Sequence[Line], first: int, last: int) -> Field:
    parts = []
    for line in lines:
        if line.series is None:
            continue
        codes = sorted({r.hs_code for r in line.series.rows})
        summed = level_text({p: [lv] for p, lv in line.series.levels.items()}, line.series.levels, codes)
        freq = "monthly" if line.freq == "M" else "annual"
        parts.append(
            f"{line.label}: {line.series.chosen.source_title} ({freq}). {summed.split(' One HS level')[0]}"
        )
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


def _csv(lines: Sequence[Line], years: Sequence[int], base: int, months: tuple[int, int] | None) -> bytes:
    """One row per line and year: value, months with data, multiple of the base and its basis, source."""
    header = ["country", "reporter", "partner", "flow", "year", "value_usd", "months_with_data",
              f"multiple_of_{base}", "multiple_basis", "source"]  # fmt: skip
    rows = []
    for line in lines:
        for year in years:
            compared = compare_lines(line, year, line, base, months)
            rows.append([
                line.country.name, line.reporter.name, line.partner.name, FLOW_WORDS[line.flow][0], year,
                year_total(line.values, year, line.freq, months),
                months_with_data(line.values, year, months) if line.freq == "M" else None,
                compared.multiple, basis_words(compared, months) if line.series else "no data",
                line.series.chosen.source_title if line.series else "",
            ])  # fmt: skip
    return csv_bytes(header, rows)


def _numbers(
    lines: Sequence[Line], years: Sequence[int], base: int, months: tuple[int, int] | None
) -> dict[str, object]:
    def one(line: Line) -> dict[str, object]:
        per_year = []
        for year in years:
            compared = compare_lines(line, year, line, base, months)
            per_year.append({
                "year": year,
                "value_usd": year_total(line.values, year, line.freq, months),
                "multiple_of_base": compared.multiple,
                "basis": basis_words(compared, months),
            })  # fmt: skip
        return {
            "country": line.country.name, "reporter": line.reporter.name, "partner": line.partner.name,
            "reporter_code": line.reporter.code, "partner_code": line.partner.code,
            "flow": line.flow, "other_side": line.mirror, "freq": line.freq,
            "source": line.series.chosen.source_key if line.series else None, "years": per_year,
        }  # fmt: skip

    gaps = []
    for direct, mirror in pairs(lines):
        for year in years:
            compared, _ = _gap_line(direct, mirror, year, months)
            gaps.append({"country": direct.country.name, "year": year, "gap_pct": compared.gap_pct,
                         "basis": basis_words(compared, months)})  # fmt: skip
    return {"years": list(years), "base_year": base, "months": list(months) if months else None,
            "lines": [one(line) for line in lines], "gaps": gaps}  # fmt: skip


def _chart_lines(
    lines: Sequence[Line], years: Sequence[int], months: tuple[int, int] | None
) -> list[ChartLine]:
    colours: dict[str, int] = {}
    out = []
    for line in lines:
        index = colours.setdefault(line.country.name, len(colours))
        values = [year_total(line.values, y, line.freq, months) for y in years]
        out.append(ChartLine(line.label, values, index, dashed=line.mirror))
    return out


async def build_reply(
    ctx: Context,
    params: CompareParams,
    commodity: ResolvedCommodity,
    lines: Sequence[Line],
    *,
    title: str,
    chart_title: str,
    first: int,
    last: int,
    base: int,
) -> Reply:
    """Assemble text, tables, chart, CSV and numbers."""
    years = sorted({*range(first, last + 1), base})  # the base year's values are shown too
    months = params.months
    summary = [_quotable(line, years, base, months) for line in lines]
    gap_lines = [_gap_line(d, m, y, months)[1] for d, m in pairs(lines) for y in years]
    if params.months and any(line.freq == "A" for line in lines):
        summary.append("Annual sources hold no months: their lines show no value for months=.")
    fields = _tables(lines, years, base, months)
    if gap_lines:
        fields.append(Field("Gap between the two reports", "\n".join(gap_lines[:12]) + "\n" + GAP_NOTE))
    fields.append(_sources(lines, first, last))
    if commodity.note:
        fields.append(Field("Commodity", f"{commodity.label}. {commodity.note}"))
    citations = await _citations(ctx, lines)
    source_line = "Source: " + "; ".join(c.text() for c in citations)
    codes = ", ".join(commodity.codes)
    subtitle = f"HS {codes}; US$ per year" + (f", months {months[0]}–{months[1]}" if months else "")
    subtitle += (
        "; dashed: the other country's report of the same flow" if any(x.mirror for x in lines) else ""
    )
    chart = await asyncio.to_thread(
        compare_chart, title=chart_title, subtitle=subtitle, source=source_line, years=years,
        lines=_chart_lines(lines, years, months),
    )  # fmt: skip
    stem = f"compare-{'-'.join(commodity.codes)}-{first}-{last}".lower()
    return Reply(
        title=title,
        summary=summary,
        fields=fields,
        citations=citations,
        attachments=[
            Attachment(f"{stem}.png", chart, f"Chart, {first}–{last}"),
            Attachment(f"{stem}.csv", _csv(lines, years, base, months), "Every line and year as CSV"),
        ],
        numbers={
            "commodity": {"query": commodity.query, "codes": list(commodity.codes)},
            **_numbers(lines, years, base, months),
        },  # fmt: skip
    )
