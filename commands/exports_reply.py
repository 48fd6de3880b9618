"""The /exports reply: summary lines a reporter can quote, the month table, detail fields, chart, CSV and the
machine-readable numbers, all in the measure asked for.

Extra notes (e.g. anomaly flags) go through `build_reply(..., notes=[...])`: they are shown in one "Notes"
field after the data's own notes.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Sequence
from typing import Protocol

from commands.basis import MISSING_MONTHS_RULE, MONTHS, fmt_times, month_list, shift
from commands.charts import annual_comparison_chart, measure_unit, monthly_comparison_chart
from commands.context import Context
from commands.replies import Attachment, Citation, Field, Reply
from commands.resolve import ResolvedCommodity
from commands.series import LoadedSeries
from commands.tables import csv_bytes, monospace_table
from commands.trade_common import (
    FLOW_WORDS,
    NOTES_FIELD,
    chart_source_line,
    chpl_summary,
    fmt_pct,
    level_text,
    period_label,
    possessive,
    short_codes,
    source_choice_text,
    uniform_level,
)
from db.lookups import Country

SUBTITLE_CHARS = 58  # one line left of the chart's legend


class ExportsParams(Protocol):
    """The flow an answer is about (commands.exports.ExportsParams has these and more)."""

    @property
    def reporter(self) -> Country: ...
    @property
    def partner(self) -> Country: ...
    @property
    def flow(self) -> str: ...


def title(params: ExportsParams, commodity: ResolvedCommodity, series: LoadedSeries) -> str:
    """`China's exports of artificial graphite (HS 380110) to Russia, 2023, by weight`."""
    noun, prep = FLOW_WORDS[params.flow]
    text = f"{possessive(params.reporter.name)} {noun} of {commodity.name} {prep} {params.partner.name}"
    text += f", {series.basis.span()}"
    return text + ("" if series.measure.key == "value" else f", {series.measure.by}")


def summary_lines(series: LoadedSeries, defaulted_year: bool) -> list[str]:
    """Totals, the quotable multiple against the base, the peak month, and the months lacking the measure."""
    c, basis, measure = series.comparison, series.basis, series.measure
    default = " (latest year with data)" if defaulted_year else ""
    n = len(basis.months)

    def cover(have: Sequence[int]) -> str:
        return " (annual total)" if series.freq == "A" else f" ({len(have)} of {n} months with data)"

    lines = [
        f"{basis.span()}{default}: {measure.fmt(c.total)}{cover(c.months_with_data)}; "
        f"{basis.span(basis.base_year)}: {measure.fmt(c.base_total)}{cover(c.base_months_with_data)}."
    ]
    if c.multiple is not None:
        lines.append(
            f"{basis.span()} = {fmt_times(c.multiple)} {basis.span(basis.base_year)} {measure.by} "
            f"({fmt_pct(c.change_pct)}), over {c.rule_words()}."
        )
    else:
        lines.append(f"No multiple of {basis.span(basis.base_year)} {measure.by}: {c.rule_words()}.")
    if series.peak is not None:
        lines.append(series.peak.words(measure))
    if series.freq == "M":
        for year in (basis.year, basis.base_year):
            absent, without = series.lacking(year)
            if absent:
                lines.append(f"No data for {month_list(absent)} {year} (shown as gaps, not zeros).")
            if without:
                lines.append(
                    f"No {measure.noun} reported for {month_list(without)} {year} (gaps, not zeros)."
                )
    return lines


def month_table(series: LoadedSeries) -> str:
    """The span's months: this year, the base year, and the multiple of the 12 months before each month."""
    basis, measure = series.basis, series.measure
    rows = []
    for m in basis.months:
        period = basis.year * 100 + m
        figure = series.figure(period)
        before = [a for k in range(1, 13) if (a := series.amounts.get(shift(period, -k))) is not None]
        average = measure.average(before)
        ratio = figure / average if figure is not None and average else None
        rows.append(
            [
                MONTHS[m - 1],
                measure.fmt(figure),
                measure.fmt(series.figure(basis.base_year * 100 + m)),
                fmt_times(ratio) if ratio is not None else "–",
            ]
        )
    header = ["Month", str(basis.year), str(basis.base_year), "x prior 12-mo avg"]
    return monospace_table(header, rows, right=[False, True, True, True])


def detail_fields(
    ctx: Context,
    commodity: ResolvedCommodity,
    series: LoadedSeries,
    absent: Sequence[str],
    notes: Sequence[str],
) -> list[Field]:
    """What was summed (and what the source does not hold), from where, its CHPL status, and notes."""
    codes = series.codes
    fields = []
    if series.freq == "M":
        unit = f" ({series.measure.axis})" if series.measure.key != "value" else " (US$)"
        fields.append(Field(f"Monthly {series.measure.noun}{unit}", month_table(series)))
    what = commodity.label + (f". {commodity.note}" if commodity.note else "")
    if commodity.corrected_from:
        what = f"Read {commodity.corrected_from!r} as {commodity.alias!r}: " + what
    fields.append(Field("Commodity", what))
    if commodity.is_total:
        fields.append(Field("Codes summed", "All goods: the source's all-goods TOTAL rows."))
    else:
        fields.append(Field("Codes summed", level_text(series.levels_present, series.levels, codes)))
    if absent:
        fields.append(
            Field(
                "Not in this source",
                f"{series.chosen.source_title} holds no rows of "
                + "; ".join(absent[:12])
                + (f" … ({len(absent)} codes)" if len(absent) > 12 else "")
                + ". They are not in this answer.",
            )
        )
    if not commodity.is_total:
        fields.append(Field("CHPL", chpl_summary(ctx.lookups, commodity.codes)[0]))
    fields.append(Field("Source", source_choice_text(series.chosen, series.coverage, series.basis.year)))
    fields.append(Field("Comparison rule", MISSING_MONTHS_RULE))
    all_notes = list(measure_notes(series)) + list(notes)
    if all_notes:
        fields.append(Field(NOTES_FIELD, "\n".join(f"• {n}" for n in all_notes)))
    if commodity.alternatives:
        fields.append(Field("Other HS codes matching the words", "; ".join(commodity.alternatives)))
    return fields


def measure_notes(series: LoadedSeries) -> list[str]:
    """What the measure rests on, when it is not plain reported values."""
    notes = []
    if series.weight_from_qty:
        notes.append("Weights are the source's quantities in kilograms (no separate net weight is reported).")
    if series.measure.key == "unit-value":
        notes.append("Unit value = value ÷ weight of the months with both, never of months with one only.")
    if series.measure.key == "quantity" and series.measure.unit is None:
        notes.append("The source does not state the unit of its quantities.")
    return notes


def series_csv(params: ExportsParams, series: LoadedSeries, source_title: str) -> bytes:
    """Both years, one row per period, the measure in total and per code; empty cells = no data."""
    codes, measure = series.codes, series.measure
    per_code = {(r.hs_code, r.period): measure.of(r.totals) for r in series.rows}
    basis = series.basis
    years = sorted({basis.base_year, basis.year})
    periods = [
        p for y in years for p in ([y * 100 + m for m in range(1, 13)] if series.freq == "M" else [y * 100])
    ]
    column = measure.column
    header = ["period", "reporter", "partner", "flow", column, *[f"{column}_hs_{c}" for c in codes], "source"]
    rows = [
        [
            period_label(p),
            params.reporter.name,
            params.partner.name,
            FLOW_WORDS[params.flow][0],
            series.figure(p),
            *[per_code.get((c, p)) for c in codes],
            source_title,
        ]
        for p in periods
    ]
    return csv_bytes(header, rows)


def chart_texts(params: ExportsParams, commodity: ResolvedCommodity, series: LoadedSeries) -> tuple[str, str]:
    """A short title (the flow and the span) and a subtitle with what the codes cover; both fit one line."""
    noun, prep = FLOW_WORDS[params.flow]
    basis, measure = series.basis, series.measure
    by = "" if measure.key == "value" else f", {measure.by}"
    base = basis.span(basis.base_year) if not basis.whole_year else str(basis.base_year)
    head = f"{possessive(params.reporter.name)} {noun} {prep} {params.partner.name}, {basis.span()} vs {base}{by}"
    codes = "all goods" if commodity.is_total else "HS " + short_codes(series.codes or list(commodity.codes))
    what = commodity.label if "HS" in commodity.label else f"{codes}: {commodity.label}"
    freq = ", monthly" if series.freq == "M" else ", annual"
    return head, _fit(what, SUBTITLE_CHARS - len(freq)) + freq


def _fit(text: str, width: int) -> str:
    """`text` cut to `width` characters at a word, keeping a closing parenthesis whole (it names the codes)."""
    if len(text) <= width:
        return text
    words, opening, codes = text.rpartition(" (")
    if opening and codes.endswith(")") and len(codes) + 12 < width:
        return textwrap.shorten(words, width=width - len(codes) - 2, placeholder="…") + " (" + codes
    return textwrap.shorten(text, width=width, placeholder="…")


def render_chart(texts: tuple[str, str], series: LoadedSeries, citation: str) -> bytes:
    """The chart PNG (CPU-bound; run in a thread): the compared months of both years, in the measure's unit
    (a `months=` span draws only its months: its peak and its base average, as the text states them)."""
    basis, measure = series.basis, series.measure
    title_text, subtitle = texts
    if series.freq == "M":
        current = [series.figure(basis.year * 100 + m) for m in basis.months]
        previous = [series.figure(basis.base_year * 100 + m) for m in basis.months]
        unit = measure_unit(measure.key, [*current, *previous], measure.unit)
        base_average = measure.average(
            [a for m in basis.months if (a := series.amounts.get(basis.base_year * 100 + m)) is not None]
        )
        whole = basis.whole_year
        return monthly_comparison_chart(
            title=title_text,
            subtitle=subtitle,
            source=citation,
            current=current,
            previous=previous,
            current_label=str(basis.year) if whole else basis.span(),
            previous_label=str(basis.base_year) if whole else basis.span(basis.base_year),
            previous_average=base_average,
            unit=unit,
            first_month=basis.first,
        )
    values = [series.figure(basis.base_year * 100), series.figure(basis.year * 100)]
    return annual_comparison_chart(
        title=title_text,
        subtitle=subtitle,
        source=citation,
        labels=[str(basis.base_year), str(basis.year)],
        values=values,
        unit=measure_unit(measure.key, values, measure.unit),
    )


def numbers(
    ctx: Context,
    params: ExportsParams,
    commodity: ResolvedCommodity,
    series: LoadedSeries,
    citations: list[Citation],
    absent: Sequence[str],
) -> dict[str, object]:
    """The machine-readable reply (`--json`)."""
    _, tiers = chpl_summary(ctx.lookups, commodity.codes) if not commodity.is_total else ("", {})
    basis = series.basis
    months = [
        {
            "period": period_label(basis.year * 100 + m),
            "figure": series.figure(basis.year * 100 + m),
            "base_figure": series.figure(basis.base_year * 100 + m),
            "value_usd": a.value_usd if (a := series.amounts.get(basis.year * 100 + m)) else None,
        }
        for m in (basis.months if series.freq == "M" else ())
    ]
    c = series.comparison
    return {
        "commodity": {
            "query": commodity.query,
            "label": commodity.label,
            "alias": commodity.alias,
            "requested_codes": list(commodity.codes),
            "match": commodity.kind,
        },
        "reporter": {"code": params.reporter.code, "name": params.reporter.name},
        "partner": {"code": params.partner.code, "name": params.partner.name},
        "flow": params.flow,
        "year": basis.year,
        "base_year": basis.base_year,
        "freq": series.freq,
        "measure": series.measure.key,
        "unit": series.measure.unit,
        "total": c.total,
        "base_total": c.base_total,
        "months_with_data": len(c.months_with_data),
        "multiple": c.multiple,
        "change_pct": c.change_pct,
        "comparison": c.to_numbers(),
        "peak": series.peak.to_numbers() if series.peak else None,
        "months": months,
        "codes": series.codes,
        "codes_not_in_source": [a.split(" ")[0] for a in absent],
        "level": uniform_level(series.levels),
        "levels": series.levels,
        "chpl": {"version": ctx.lookups.chpl.version, "tiers": tiers},
        "source": {
            "key": series.chosen.source_key,
            "title": series.chosen.source_title,
            "freq": series.freq,
            "data_date": citations[0].data_date if citations else None,
            "candidates": [c.source_key for c in series.coverage],
        },
    }


async def build_reply(
    ctx: Context,
    params: ExportsParams,
    commodity: ResolvedCommodity,
    series: LoadedSeries,
    citations: list[Citation],
    *,
    defaulted_year: bool,
    absent: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> Reply:
    """Assemble text, fields, chart, CSV and numbers (`notes`: extra lines for the Notes field)."""
    basis = series.basis
    head = title(params, commodity, series)
    citation_line = chart_source_line(citations, series.chosen.source_title)
    chart = await asyncio.to_thread(
        render_chart, chart_texts(params, commodity, series), series, citation_line
    )
    partner = params.partner.iso2 or params.partner.code
    reporter = params.reporter.iso2 or params.reporter.code
    span = "" if basis.whole_year else f"-m{basis.first:02d}-{basis.last:02d}"
    measure = "" if series.measure.key == "value" else f"-{series.measure.key}"
    codes = "-".join(commodity.codes) if len(commodity.codes) <= 4 else f"{commodity.codes[0]}-etc"
    vs = "" if basis.base_defaulted else f"-vs-{basis.base_year}"
    stem = f"{params.flow}-{reporter}-{partner}-{codes}-{basis.year}{span}{vs}{measure}".lower()
    return Reply(
        title=head,
        summary=summary_lines(series, defaulted_year),
        fields=detail_fields(ctx, commodity, series, absent, notes),
        citations=citations,
        attachments=[
            Attachment(f"{stem}.png", chart, f"Monthly chart, {basis.year} vs {basis.base_year}"),
            Attachment(
                f"{stem}.csv", series_csv(params, series, series.chosen.source_title), "The series as CSV"
            ),
        ],
        numbers=numbers(ctx, params, commodity, series, citations, absent),
    )
