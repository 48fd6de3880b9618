"""`/top partners <commodity> [year] [reporter]`: the top 10 partners for a commodity with value, share of
the total and growth on the previous year, a bar chart and the full ranking as CSV. (`/top goods` lives in
`commands.top_goods` and is re-exported here, where the command table looks for it.)

One source answers (a complete year first; see `db.queries.trade.choose_source`). When the year is not
complete in that source, the previous year is compared over the same months. One HS level is summed per
requested code (the coarsest the source holds), so a heading and its subheadings are never both counted.
Shares are of the World row when the source has one, else of the sum of the partners it holds (and it says so).
"""

from __future__ import annotations

import functools
import textwrap
from dataclasses import replace

from commands import ranking as rk
from commands.anomalies import FLAGS_RULE, flags_by_partner
from commands.cited import no_data_reply, reported_figures_for, with_figures
from commands.context import Context
from commands.errors import InvalidInput, NoData
from commands.measures import Measure
from commands.parse import CommandLine
from commands.replies import Field, Reply
from commands.resolve import (
    YEAR_MIN,
    ResolvedCommodity,
    check_options,
    is_commodity_token,
    is_country,
    resolve_commodity,
    split_on_year,
)
from commands.top_goods import parse_top_goods, run_top_goods
from commands.trade_common import (
    chpl_summary,
    family_absent,
    flow_phrase,
    level_text,
    short_codes,
    source_choice_text,
    trade_citations,
    uniform_level,
)
from commands.trade_params import BASIS_OPTIONS, PARTNERS_USAGE, TopGoodsParams, TopPartnersParams
from db.lookups import Lookups
from db.queries import trade as tq
from db.queries import trade_sources
from db.queries.trade import AGGREGATE_PARTNERS, KeyAmount, TradeScope

__all__ = [
    "TopGoodsParams",
    "TopPartnersParams",
    "parse_top_goods",
    "parse_top_partners",
    "run_top_goods",
    "run_top_partners",
]


def parse_top_partners(line: CommandLine, lookups: Lookups) -> TopPartnersParams:
    """Parse `/top partners graphite 2023 [CN]` (words, quotes or key=value)."""
    check_options(line, ("commodity", "year", "reporter", "flow", *BASIS_OPTIONS), PARTNERS_USAGE)
    opts = line.options
    head, year, tail = (
        split_on_year(list(line.words)) if "year" not in opts else (list(line.words), opts["year"], [])
    )
    reporter = opts.get("reporter") or (" ".join(tail) if tail else None)
    if year is None and reporter is None and "commodity" not in opts:
        # `/top partners graphite CN`: a trailing country after an exact alias or HS code is the reporter.
        for i in range(len(head) - 1, 0, -1):
            if is_commodity_token(lookups, head[:i]) and is_country(lookups, head[i:]):
                head, reporter = head[:i], " ".join(head[i:])
                break
    commodity = opts.get("commodity") or " ".join(head)
    if "commodity" in opts and head:
        raise InvalidInput(f"Unexpected words: {' '.join(head)}.", f"Usage: {PARTNERS_USAGE}")
    return TopPartnersParams.build(
        commodity=commodity,
        year=year,
        reporter=reporter,
        flow=opts.get("flow"),
        lookups=lookups,
        measure=opts.get("measure"),
        vs=opts.get("vs"),
        months=opts.get("months"),
    )


def rank_partners(lookups: Lookups, rows: list[KeyAmount], window: rk.Window, measure: Measure) -> rk.Ranking:
    """Per partner and period; the World row (if any) is the denominator, aggregates are not ranked."""
    series = rk.by_key(rows)
    world = series.pop("0", None)
    for code in AGGREGATE_PARTNERS:
        series.pop(str(code), None)
    names = {k: lookups.country_name(int(k)) for k in series}
    ranking = rk.rank(
        series,
        names,
        window.basis,
        measure,
        window.chosen.freq,
        total_series=world,
        total_basis="World total",
    )
    if world:
        return ranking
    return replace(ranking, total_basis=f"sum of the {len(ranking.items)} partners in the data")


async def run_top_partners(ctx: Context, params: TopPartnersParams) -> Reply:
    """Rank the partners for a commodity.

    Raises:
        NotFound / Ambiguous / InvalidInput: commodity or year problems. NoData: nothing loaded.
    """
    commodity = await resolve_commodity(ctx.session, ctx.lookups, params.commodity)
    scope = TradeScope(params.reporter.code, params.flow, commodity.codes)
    name = commodity.name
    codes_text = "all goods" if commodity.is_total else f"HS {', '.join(commodity.codes)}"
    what = f"{commodity.alias or commodity.query} ({codes_text}), {flow_phrase(params.reporter, params.flow)}"
    opts = params.options
    cited = functools.partial(
        reported_figures_for,
        ctx,
        codes=commodity.codes,
        reporter=params.reporter,
        partners=None,
        flow=params.flow,
    )
    try:
        window = await rk.pick_window(
            ctx, scope, what, params.year, fetch=True, vs=opts.vs, months=opts.months
        )
    except NoData as exc:  # what is reported elsewhere, in place of nothing
        first, last = (params.year - 1, params.year) if params.year else (YEAR_MIN, ctx.now().year)
        title = what + (f", {params.year}" if params.year else "")
        return no_data_reply(exc, title, await cited(first_year=first, last_year=last), ctx.lookups)
    source_id, freq = window.chosen.source_id, window.chosen.freq
    present = await tq.levels_present(ctx.session, scope, source_id, freq, window.periods)
    levels = tq.coarsest_levels(present)
    rows = await tq.partner_amounts(
        ctx.session, scope, source_id, freq, levels, window.periods, volumes=opts.measure.needs_volumes
    )
    measure = opts.measure.with_unit(r.amount for r in rows)
    ranking = rank_partners(ctx.lookups, rows, window, measure)
    codes = await tq.codes_summed(ctx.session, scope, source_id, freq, levels, window.periods)
    citations = trade_citations(
        await trade_sources.snapshot_infos(ctx.session, {r.snapshot_id for r in rows}),
        params.reporter,
        None,
        year=window.year,
    )
    absent = await family_absent(ctx.session, source_id, scope, commodity, levels, codes)
    spec = _partners_spec(ctx, params, commodity, name, window, ranking, codes, present, levels, absent)
    flags = await _top_flags(ctx, scope, window, ranking, levels)
    reply = await rk.ranking_reply(
        ranking, window, citations, spec, notes=[*flags, FLAGS_RULE] if flags else ()
    )
    reply = replace(reply, numbers={**reply.numbers, "flags": flags})
    first = min(window.year, window.basis.base_year)
    return with_figures(reply, await cited(first_year=first, last_year=window.year), ctx.lookups)


async def _top_flags(
    ctx: Context, scope: TradeScope, window: rk.Window, ranking: rk.Ranking, levels: dict[str, int]
) -> list[str]:
    """Anomaly flags (commands/anomalies.py) of the top partners' monthly series, one line per flag."""
    if window.chosen.freq != "M":
        return []
    top = {int(i.key): i.name for i in ranking.top if i.key.isdigit()}
    span = window.basis.month_periods(window.year)
    found = await flags_by_partner(ctx.session, scope, window.chosen.source_id, levels, span, list(top))
    return [f"{top[p]}: {flag}" for p in top for flag in found.get(p, [])]


def _partners_spec(
    ctx: Context,
    params: TopPartnersParams,
    commodity: ResolvedCommodity,
    name: str,
    window: rk.Window,
    ranking: rk.Ranking,
    codes: list[str],
    present: dict[str, list[int]],
    levels: dict[str, int],
    absent: list[str],
) -> rk.ReplySpec:
    year, basis, measure = window.year, window.basis, ranking.total.measure
    chpl_text, tiers = chpl_summary(ctx.lookups, commodity.codes) if not commodity.is_total else ("", {})
    share_of = "world total" if ranking.total_basis == "World total" else "partners in the data"
    numbers: dict[str, object] = {
        "commodity": {
            "query": commodity.query,
            "alias": commodity.alias,
            "requested_codes": list(commodity.codes),
        },
        "reporter": {"code": params.reporter.code, "name": params.reporter.name},
        "flow": params.flow,
        "codes": codes,
        "codes_not_in_source": [a.split(" ")[0] for a in absent],
        "level": uniform_level(levels),
        "levels": levels,
        "chpl": {"tiers": tiers},
    }
    fields = [
        Field("Ranking", rk.ranking_table(ranking, basis, "Partner")),
        Field(
            "Codes summed",
            "All goods: the source's all-goods TOTAL rows."
            if commodity.is_total
            else level_text(present, levels, codes),
        ),
    ]
    if absent:
        fields.append(
            Field(
                "Not in this source",
                f"{window.chosen.source_title} holds no rows of " + "; ".join(absent[:12]) + ".",
            )
        )
    if chpl_text:
        fields.append(Field("CHPL", chpl_text))
    fields.append(Field("Source", source_choice_text(window.chosen, window.coverage, year)))
    by = "" if measure.key == "value" else f", {measure.by}"
    code_text = "all goods" if commodity.is_total else f"HS {short_codes(codes)}"
    codes_stem = "-".join(commodity.codes) if len(commodity.codes) <= 4 else f"{commodity.codes[0]}-etc"
    short = commodity.alias or (code_text if commodity.kind != "chpl" else f"CHPL {commodity.codes[0]}…")
    if commodity.kind in ("total", "chpl"):
        short = commodity.label if len(commodity.label) <= 30 else code_text
    return rk.ReplySpec(
        title=f"Top partners: {flow_phrase(params.reporter, params.flow)} of {name}, {basis.span()}{by}",
        chart_title=f"Top partners: {flow_phrase(params.reporter, params.flow)}, {basis.span()}{by}",
        subtitle=textwrap.shorten(f"{short} ({code_text}), {window.text()}", 60, placeholder="…")
        + f"; share of the {share_of}",
        fields=fields,
        numbers=numbers,
        key_name="partner_code",
        stem=f"top-partners-{params.reporter.iso2 or params.reporter.code}-{codes_stem}-{year}"
        + ("" if measure.key == "value" else f"-{measure.key}"),
    )
