"""`/exports <commodity> <partner> [year] [reporter=CN] [flow=exports|imports]`: a year of monthly trade
against the year before, with total, year-on-year change, peak month, the multiple of the previous year's
monthly average, the codes summed, the CHPL tier, a chart and the series as CSV.

Answers come from one source (see `db.queries.trade.choose_source`) and one HS level per requested code
(the coarsest the source holds), so nothing is counted twice. Missing months are shown as missing.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass

from commands.charts import MONTHS, annual_comparison_chart, monthly_comparison_chart
from commands.cited import no_data_reply, reported_figures_for, with_figures
from commands.context import Context
from commands.errors import InvalidInput, NoData
from commands.parse import CommandLine
from commands.replies import Attachment, Citation, Field, Reply
from commands.resolve import (
    YEAR_MIN,
    ResolvedCommodity,
    check_options,
    is_country,
    parse_flow,
    resolve_commodity,
    split_trailing_country,
)
from commands.series import SeriesStats, annual_stats, monthly_stats, sum_by_period
from commands.tables import csv_bytes, monospace_table
from commands.trade_common import (
    FLOW_WORDS,
    chart_source_line,
    chpl_summary,
    fetch_if_possible,
    flow_phrase,
    fmt_multiple,
    fmt_pct,
    fmt_usd,
    level_text,
    no_data_error,
    period_label,
    possessive,
    short_codes,
    source_choice_text,
    trade_citations,
    uniform_level,
)
from commands.trade_params import commodity_text, optional_year, partner_and_reporter
from db.lookups import Country, Lookups
from db.queries import trade as tq
from db.queries import trade_sources
from db.queries.trade import CodeValue, SourceCoverage, TradeScope

USAGE = "/exports <commodity> <partner> [year] [reporter=CN] [flow=exports|imports]"
OPTIONS = ("commodity", "partner", "year", "reporter", "flow")


@dataclass(frozen=True)
class ExportsParams:
    """Validated arguments of /exports (the Discord cog builds the same from its typed options)."""

    commodity: str
    partner: Country
    reporter: Country
    flow: str = "X"
    year: int | None = None

    @classmethod
    def build(
        cls,
        *,
        commodity: str | None,
        partner: str | None,
        lookups: Lookups,
        year: int | str | None = None,
        reporter: str | None = None,
        flow: str | None = None,
    ) -> ExportsParams:
        """Validate and resolve the arguments (the commodity is resolved later, against the database).

        Raises:
            InvalidInput: missing commodity or partner, bad year or flow, partner equal to reporter.
            NotFound: unknown partner or reporter (with the closest country names).
        """
        text = commodity_text(commodity, USAGE)
        partner_country, reporter_country = partner_and_reporter(
            lookups,
            partner,
            reporter,
            usage=USAGE,
            same_hint="Name the other country of the flow, e.g. /exports chips RU reporter=CN.",
        )
        return cls(text, partner_country, reporter_country, parse_flow(flow), optional_year(year))


def take_trailing_year(lookups: Lookups, words: list[str]) -> tuple[list[str], str | None]:
    """Take a four-digit year off the end of the words (an HS code comes first, so `/exports 2504 RU` works).

    Raises:
        InvalidInput: a trailing number after a country that cannot be a year (`/exports chips RU 22`).
    """
    if len(words) >= 3 and words[-1].isdigit():
        if len(words[-1]) == 4:
            return words[:-1], words[-1]
        if any(is_country(lookups, words[i:-1]) for i in range(1, len(words) - 1)):
            raise InvalidInput(f"{words[-1]!r} is not a year.", "Give a four-digit year, e.g. 2023.")
    return words, None


def parse_exports(line: CommandLine, lookups: Lookups) -> ExportsParams:
    """Parse `/exports aluminium oxide Hong Kong 2022` (words, quotes or key=value) into `ExportsParams`."""
    check_options(line, OPTIONS, USAGE)
    opts = line.options
    words, year = list(line.words), opts.get("year")
    if year is None:
        words, year = take_trailing_year(lookups, words)
    commodity, partner = opts.get("commodity"), opts.get("partner")
    if commodity is None and partner is None:
        if len(words) < 2:
            raise InvalidInput(
                "/exports needs a commodity and a partner.", f"Usage: {USAGE}, e.g. /exports graphite RU 2023"
            )
        commodity_words, partner_words = split_trailing_country(lookups, words)
        commodity, partner = " ".join(commodity_words), " ".join(partner_words)
    elif commodity is None:
        commodity = " ".join(words)
    elif partner is None:
        partner = " ".join(words)
    elif words:
        raise InvalidInput(f"Unexpected words: {' '.join(words)}.", f"Usage: {USAGE}")
    return ExportsParams.build(
        commodity=commodity,
        partner=partner,
        year=year,
        reporter=opts.get("reporter"),
        flow=opts.get("flow"),
        lookups=lookups,
    )


def what_text(params: ExportsParams, commodity: ResolvedCommodity) -> str:
    return f"{commodity.alias or commodity.query} (HS {', '.join(commodity.codes)}), " + flow_phrase(
        params.reporter, params.flow, params.partner
    )


async def _pick_year(ctx: Context, scope: TradeScope, what: str, requested: int | None) -> int:
    if requested is not None:
        if requested > ctx.now().year:
            raise InvalidInput(f"{requested} is in the future.", f"Ask for {ctx.now().year} or earlier.")
        return requested
    latest = await tq.latest_period(ctx.session, scope)
    if latest is None:
        this_year = ctx.now().year
        loaded, note = await fetch_if_possible(ctx, scope, [this_year - 2, this_year - 1])
        latest = await tq.latest_period(ctx.session, scope) if loaded else None
        if latest is None:
            raise await no_data_error(ctx, scope, what, fetch_note=note)
    return latest // 100


async def _coverage(ctx: Context, scope: TradeScope, what: str, year: int) -> list[SourceCoverage]:
    coverage = await tq.source_coverage(ctx.session, scope, year)
    if not coverage:
        loaded, note = await fetch_if_possible(ctx, scope, [year - 1, year])
        coverage = await tq.source_coverage(ctx.session, scope, year) if loaded else []
        if not coverage:
            raise await no_data_error(ctx, scope, what, year=year, fetch_note=note)
    return coverage


@dataclass(frozen=True)
class LoadedSeries:
    chosen: SourceCoverage
    coverage: list[SourceCoverage]
    levels_present: dict[str, list[int]]
    levels: dict[str, int]
    rows: list[CodeValue]
    stats: SeriesStats


async def load_series(
    ctx: Context, scope: TradeScope, year: int, coverage: list[SourceCoverage]
) -> LoadedSeries:
    """Choose the source, apply the level rule and compute the stats for `year` and the year before."""
    chosen = tq.choose_source(coverage, prefer_monthly=True)
    assert chosen is not None
    periods = ((year - 1) * 100, year * 100 + 12)
    present = await tq.levels_present(ctx.session, scope, chosen.source_id, chosen.freq, periods)
    levels = tq.coarsest_levels(present)
    rows = await tq.series_by_code(ctx.session, scope, chosen.source_id, chosen.freq, levels, periods)
    values = sum_by_period(rows)
    stats = monthly_stats(values, year) if chosen.freq == "M" else annual_stats(values, year)
    return LoadedSeries(chosen, coverage, present, levels, rows, stats)


async def run_exports(ctx: Context, params: ExportsParams) -> Reply:
    """Answer /exports from the database (fetching from UN Comtrade first if configured and data is missing).

    Raises:
        NotFound / Ambiguous / InvalidInput: commodity or year problems, with suggestions.
        NoData: nothing loaded for this series; says what is loaded and how to get the data.
    """
    commodity = await resolve_commodity(ctx.session, ctx.lookups, params.commodity)
    scope = TradeScope(params.reporter.code, params.flow, commodity.codes, params.partner.code)
    what = what_text(params, commodity)
    cited = functools.partial(
        reported_figures_for,
        ctx,
        codes=commodity.codes,
        reporter=params.reporter,
        partners=[params.partner],
        flow=params.flow,
    )
    try:
        year = await _pick_year(ctx, scope, what, params.year)
        coverage = await _coverage(ctx, scope, what, year)
    except NoData as exc:  # what is reported elsewhere, in place of nothing
        first, last = (params.year - 1, params.year) if params.year else (YEAR_MIN, ctx.now().year)
        title = what + (f", {params.year}" if params.year else "")
        return no_data_reply(exc, title, await cited(first_year=first, last_year=last), ctx.lookups)
    series = await load_series(ctx, scope, year, coverage)
    infos = await trade_sources.snapshot_infos(ctx.session, {r.snapshot_id for r in series.rows})
    citations = trade_citations(infos, params.reporter, params.partner)
    reply = await build_reply(ctx, params, commodity, series, citations, defaulted_year=params.year is None)
    return with_figures(reply, await cited(first_year=year - 1, last_year=year), ctx.lookups)


def _codes_summed(series: LoadedSeries) -> list[str]:
    return sorted({r.hs_code for r in series.rows})


def _title(params: ExportsParams, commodity: ResolvedCommodity, year: int) -> str:
    noun, prep = FLOW_WORDS[params.flow]
    name = commodity.alias or (f"HS {commodity.codes[0]}" if commodity.kind != "alias" else commodity.label)
    return f"{possessive(params.reporter.name)} {noun} of {name} {prep} {params.partner.name}, {year}"


def summary_lines(params: ExportsParams, series: LoadedSeries, defaulted_year: bool) -> list[str]:
    """The lines a reporter reads first: total and change, peak and multiple."""
    s = series.stats
    year, prev = s.year, s.year - 1
    cover = f" ({s.months_with_data} of 12 months with data)" if s.freq == "M" else " (annual total)"
    default = " (latest year with data)" if defaulted_year else ""
    lines = [
        f"{year}{default}: {fmt_usd(s.total_usd)}{cover}; {prev}: {fmt_usd(s.previous_total_usd)}"
        + (
            f" ({s.previous_months_with_data} of 12 months)"
            if s.freq == "M" and s.previous_months_with_data < 12
            else ""
        )
    ]
    if s.yoy_change_pct is not None:
        lines.append(f"Year-on-year change: {fmt_pct(s.yoy_change_pct)} ({s.yoy_basis}).")
    else:
        lines.append(f"Year-on-year change: not computable ({s.yoy_basis or 'no data for ' + str(prev)}).")
    if s.peak_period is not None:
        month = MONTHS[s.peak_period % 100 - 1]
        peak = f"Peak month: {month} {year} at {fmt_usd(s.peak_value_usd)}"
        if s.multiple_of_previous_monthly_average is not None:
            peak += (
                f", {fmt_multiple(s.multiple_of_previous_monthly_average)} the {prev} monthly average "
                f"({fmt_usd(s.previous_monthly_average_usd)})"
            )
        lines.append(peak + ".")
    missing = [MONTHS[m.month - 1] for m in s.months if m.value_usd is None]
    if s.freq == "M" and missing:
        lines.append(f"No data for {year}: {', '.join(missing)} (shown as gaps, not zeros).")
    return lines


def month_table(stats: SeriesStats) -> str:
    """The 12 months as a monospace table: this year, last year, multiple of last year's monthly average."""
    rows = [
        [
            MONTHS[m.month - 1],
            fmt_usd(m.value_usd),
            fmt_usd(m.previous_value_usd),
            fmt_multiple(m.multiple_of_previous_monthly_average) if m.value_usd is not None else "–",
        ]
        for m in stats.months
    ]
    header = ["Month", str(stats.year), str(stats.year - 1), f"x {stats.year - 1} avg"]
    return monospace_table(header, rows, right=[False, True, True, True])


def detail_fields(
    ctx: Context, params: ExportsParams, commodity: ResolvedCommodity, series: LoadedSeries
) -> list[Field]:
    """What was summed, from where, and its CHPL status."""
    codes = _codes_summed(series)
    chpl_text, _ = chpl_summary(ctx.lookups, commodity.codes)
    summed = level_text(series.levels_present, series.levels, codes)
    missing = [c for c in commodity.codes if c not in series.levels]
    if missing:
        summed += f" No rows for {', '.join(missing)} in this source."
    fields = []
    if series.stats.freq == "M":
        fields.append(Field("Monthly values (US$)", month_table(series.stats)))
    what = f"{commodity.label}" + (f". {commodity.note}" if commodity.note else "")
    if commodity.corrected_from:
        what = f"Read {commodity.corrected_from!r} as {commodity.alias!r}: " + what
    fields += [
        Field("Commodity", what),
        Field("Codes summed", summed),
        Field("CHPL", chpl_text),
        Field("Source", source_choice_text(series.chosen, series.coverage, series.stats.year)),
    ]
    if commodity.alternatives:
        fields.append(Field("Other HS codes matching the words", "; ".join(commodity.alternatives)))
    return fields


def series_csv(params: ExportsParams, series: LoadedSeries, source_title: str) -> bytes:
    """Both years, one row per period, with the total and each code's value; empty cells = no data."""
    codes = _codes_summed(series)
    per_code = {(r.hs_code, r.period): r.value_usd for r in series.rows}
    totals = sum_by_period(series.rows)
    s = series.stats
    periods = [
        p
        for y in (s.year - 1, s.year)
        for p in ([y * 100 + m for m in range(1, 13)] if s.freq == "M" else [y * 100])
    ]
    header = ["period", "reporter", "partner", "flow", "value_usd", *[f"hs_{c}" for c in codes], "source"]
    rows = [
        [
            period_label(p),
            params.reporter.name,
            params.partner.name,
            FLOW_WORDS[params.flow][0],
            totals.get(p),
            *[per_code.get((c, p)) for c in codes],
            source_title,
        ]
        for p in periods
    ]
    return csv_bytes(header, rows)


def render_chart(
    params: ExportsParams, commodity: ResolvedCommodity, series: LoadedSeries, citation: str
) -> bytes:
    """The chart PNG (CPU-bound; run in a thread)."""
    s = series.stats
    codes = short_codes(_codes_summed(series) or list(commodity.codes))
    level = uniform_level(series.levels)
    subtitle = (
        f"HS {codes}" + (f" (HS-{level})" if level else "") + (", monthly" if s.freq == "M" else ", annual")
    )
    title = _title(params, commodity, s.year) + (f" vs {s.year - 1}" if s.freq == "M" else "")
    if s.freq == "M":
        return monthly_comparison_chart(
            title=title,
            subtitle=subtitle,
            source=citation,
            current=[m.value_usd for m in s.months],
            previous=[m.previous_value_usd for m in s.months],
            current_label=str(s.year),
            previous_label=str(s.year - 1),
            previous_average=s.previous_monthly_average_usd,
        )
    return annual_comparison_chart(
        title=title,
        subtitle=subtitle,
        source=citation,
        labels=[str(s.year - 1), str(s.year)],
        values=[s.previous_total_usd, s.total_usd],
    )


def numbers(
    ctx: Context,
    params: ExportsParams,
    commodity: ResolvedCommodity,
    series: LoadedSeries,
    citations: list[Citation],
) -> dict[str, object]:
    """The machine-readable reply (`--json`)."""
    _, tiers = chpl_summary(ctx.lookups, commodity.codes)
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
        "year": series.stats.year,
        **series.stats.to_numbers(),
        "codes": _codes_summed(series),
        "level": uniform_level(series.levels),
        "levels": series.levels,
        "chpl": {"version": ctx.lookups.chpl.version, "tiers": tiers},
        "source": {
            "key": series.chosen.source_key,
            "title": series.chosen.source_title,
            "freq": series.chosen.freq,
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
) -> Reply:
    """Assemble text, fields, chart, CSV and numbers."""
    year = series.stats.year
    citation_line = chart_source_line(citations, series.chosen.source_title)
    chart = await asyncio.to_thread(render_chart, params, commodity, series, citation_line)
    stem = f"{params.flow.lower()}-{params.reporter.iso2 or params.reporter.code}-{params.partner.iso2 or params.partner.code}-{'-'.join(commodity.codes)}-{year}".lower()
    return Reply(
        title=_title(params, commodity, year),
        summary=summary_lines(params, series, defaulted_year),
        fields=detail_fields(ctx, params, commodity, series),
        citations=citations,
        attachments=[
            Attachment(f"{stem}.png", chart, f"Monthly chart, {year} vs {year - 1}"),
            Attachment(
                f"{stem}.csv", series_csv(params, series, series.chosen.source_title), "The series as CSV"
            ),
        ],
        numbers=numbers(ctx, params, commodity, series, citations),
    )
