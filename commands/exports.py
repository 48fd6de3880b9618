"""`/exports <commodity> <partner> [year] [reporter=CN] [flow=exports|imports] [measure=..] [vs=YEAR]
[months=FROM-TO]`: a year (or a span of its months) of one flow against a base year, in value, weight,
quantity or unit value: totals, the multiple against the base (commands.basis: one rule for missing months),
the peak month against the 12 months before it, the codes summed, the CHPL tier, a chart and the CSV.

Answers come from one source (see `db.queries.trade.choose_source`) and one HS level per requested code
(the coarsest the source holds), so nothing is counted twice. Missing months are shown as missing.
The reply itself is assembled in commands.exports_reply.
"""

from __future__ import annotations

import dataclasses
import functools

from commands.anomalies import FLAGS_RULE, flags_by_partner
from commands.basis import make_basis
from commands.cited import no_data_reply, reported_figures_for, with_figures
from commands.context import Context
from commands.errors import InvalidInput, NoData
from commands.exports_reply import build_reply
from commands.parse import CommandLine
from commands.replies import Reply
from commands.resolve import (
    YEAR_MIN,
    ResolvedCommodity,
    check_options,
    is_country,
    resolve_commodity,
    split_trailing_country,
)
from commands.series import load_series
from commands.trade_common import (
    family_absent,
    fetch_if_possible,
    flow_phrase,
    no_data_error,
    trade_citations,
)
from commands.trade_params import BASIS_OPTIONS, USAGE, ExportsParams
from db.lookups import Lookups
from db.queries import trade as tq
from db.queries import trade_sources
from db.queries.trade import SourceCoverage, TradeScope

OPTIONS = ("commodity", "partner", "year", "reporter", "flow", *BASIS_OPTIONS)


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
        measure=opts.get("measure"),
        vs=opts.get("vs"),
        months=opts.get("months"),
    )


def what_text(params: ExportsParams, commodity: ResolvedCommodity) -> str:
    codes = "all goods" if commodity.is_total else f"HS {', '.join(commodity.codes)}"
    name = commodity.alias or commodity.query
    return f"{name} ({codes}), " + flow_phrase(params.reporter, params.flow, params.partner)


async def _pick_year(
    ctx: Context, scope: TradeScope, what: str, requested: int | None, commodity: str | None = None
) -> int:
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
            raise await no_data_error(ctx, scope, what, fetch_note=note, commodity=commodity)
    return latest // 100


async def _coverage(
    ctx: Context, scope: TradeScope, what: str, year: int, commodity: str | None = None
) -> list[SourceCoverage]:
    coverage = await tq.source_coverage(ctx.session, scope, year)
    if not coverage:
        loaded, note = await fetch_if_possible(ctx, scope, [year - 1, year])
        coverage = await tq.source_coverage(ctx.session, scope, year) if loaded else []
        if not coverage:
            raise await no_data_error(ctx, scope, what, year=year, fetch_note=note, commodity=commodity)
    return coverage


async def run_exports(ctx: Context, params: ExportsParams) -> Reply:
    """Answer /exports from the database (fetching from UN Comtrade first if configured and data is missing).

    Raises:
        NotFound / Ambiguous / InvalidInput: commodity, year or option problems, with suggestions.
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
        year = await _pick_year(ctx, scope, what, params.year, params.commodity)
        coverage = await _coverage(ctx, scope, what, year, params.commodity)
    except NoData as exc:  # what is reported elsewhere, in place of nothing
        first, last = (params.year - 1, params.year) if params.year else (YEAR_MIN, ctx.now().year)
        title = what + (f", {params.year}" if params.year else "")
        return no_data_reply(exc, title, await cited(first_year=first, last_year=last), ctx.lookups)
    opts = params.options
    basis = make_basis(year, opts.vs, opts.months)
    series = await load_series(ctx, scope, basis, coverage, opts.measure)
    if series.freq == "A" and opts.months is not None:
        raise NoData(
            f"{series.chosen.source_title} holds only annual totals for {what}: months={basis.first}-{basis.last} "
            "cannot be answered from it.",
            "Ask for the whole year (leave out months=), or load monthly data for this flow.",
        )
    infos = await trade_sources.snapshot_infos(ctx.session, {r.snapshot_id for r in series.rows})
    citations = trade_citations(infos, params.reporter, params.partner, year=year)
    absent = await family_absent(
        ctx.session, series.chosen.source_id, scope, commodity, series.levels, series.codes
    )
    flags: list[str] = []
    if series.freq == "M":
        found = await flags_by_partner(
            ctx.session, scope, series.chosen.source_id, series.levels, basis.month_periods(year)
        )
        flags = found.get(params.partner.code, [])
    reply = await build_reply(
        ctx, params, commodity, series, citations, defaulted_year=params.year is None, absent=absent,
        notes=[*flags, FLAGS_RULE] if flags else (),
    )  # fmt: skip
    reply = dataclasses.replace(reply, numbers={**reply.numbers, "flags": flags})
    first = min(year, basis.base_year)
    return with_figures(reply, await cited(first_year=first, last_year=year), ctx.lookups)
