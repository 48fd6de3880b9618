"""`/top partners <commodity> [year] [reporter]` and `/top goods <partner> [year] [reporter]`: the top 10
with value, share of the total and growth on the previous year, a bar chart and the full ranking as CSV.

One source answers (a complete year first; see `db.queries.trade.choose_source`). When the year is not
complete in that source, the previous year is compared over the same months. /top partners sums one HS
level per requested code; /top goods ranks HS-4 headings, or HS-6 subheadings when the source holds only
HS-6 (each heading from the coarsest level the source holds for it), so nothing is counted twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from commands import ranking as rk
from commands.context import Context
from commands.errors import InvalidInput, NoData
from commands.parse import CommandLine
from commands.replies import Attachment, Citation, Field, Reply
from commands.resolve import (
    is_commodity_token,
    is_country,
    parse_flow,
    parse_year,
    resolve_commodity,
    resolve_country,
)
from commands.trade import check_options
from commands.trade_common import (
    LEVEL_NAMES,
    chart_source_line,
    chpl_summary,
    fetch_if_possible,
    flow_phrase,
    fmt_pct,
    fmt_usd,
    level_text,
    no_data_error,
    pct_change,
    period_label,
    short_codes,
    source_choice_text,
    trade_citations,
    uniform_level,
)
from db.lookups import Country, Lookups
from db.queries import hs as hsq
from db.queries import trade as tq
from db.queries.trade import AGGREGATE_PARTNERS, SourceCoverage, TradeScope

PARTNERS_USAGE = "/top partners <commodity> [year] [reporter=CN] [flow=exports|imports]"
GOODS_USAGE = "/top goods <partner> [year] [reporter=CN] [flow=exports|imports]"


@dataclass(frozen=True)
class TopPartnersParams:
    """Validated arguments of /top partners."""

    commodity: str
    reporter: Country
    flow: str = "X"
    year: int | None = None

    @classmethod
    def build(
        cls,
        *,
        commodity: str | None,
        lookups: Lookups,
        year: int | str | None = None,
        reporter: str | None = None,
        flow: str | None = None,
    ) -> TopPartnersParams:
        """Validate the arguments (the commodity is resolved later, against the database).

        Raises:
            InvalidInput / NotFound: missing commodity, bad year or flow, unknown reporter.
        """
        text = " ".join((commodity or "").split())
        if not text:
            raise InvalidInput("The commodity is missing.", f"Usage: {PARTNERS_USAGE}")
        return cls(
            text,
            resolve_country(lookups, reporter or "CN", "reporter"),
            parse_flow(flow),
            parse_year(year) if year not in (None, "") else None,
        )


@dataclass(frozen=True)
class TopGoodsParams:
    """Validated arguments of /top goods."""

    partner: Country
    reporter: Country
    flow: str = "X"
    year: int | None = None

    @classmethod
    def build(
        cls,
        *,
        partner: str | None,
        lookups: Lookups,
        year: int | str | None = None,
        reporter: str | None = None,
        flow: str | None = None,
    ) -> TopGoodsParams:
        """Validate and resolve the arguments.

        Raises:
            InvalidInput / NotFound: missing or unknown partner or reporter, bad year or flow.
        """
        if not partner or not str(partner).strip():
            raise InvalidInput("The partner country is missing.", f"Usage: {GOODS_USAGE}")
        partner_country = resolve_country(lookups, str(partner), "partner")
        reporter_country = resolve_country(lookups, reporter or "CN", "reporter")
        if partner_country.code == reporter_country.code:
            raise InvalidInput(
                f"The partner and the reporter are both {partner_country.name}.", f"Usage: {GOODS_USAGE}"
            )
        return cls(
            partner_country,
            reporter_country,
            parse_flow(flow),
            parse_year(year) if year not in (None, "") else None,
        )


def _split_on_year(words: list[str]) -> tuple[list[str], str | None, list[str]]:
    """`graphite 2023 CN` -> (graphite, 2023, CN). The first word is never the year (it may be HS 2504)."""
    for i in range(len(words) - 1, 0, -1):
        if len(words[i]) == 4 and words[i].isdigit():
            return words[:i], words[i], words[i + 1 :]
    return words, None, []


def parse_top_partners(line: CommandLine, lookups: Lookups) -> TopPartnersParams:
    """Parse `/top partners graphite 2023 [CN]` (words, quotes or key=value)."""
    check_options(line, ("commodity", "year", "reporter", "flow"), PARTNERS_USAGE)
    opts = line.options
    head, year, tail = (
        _split_on_year(list(line.words)) if "year" not in opts else (list(line.words), opts["year"], [])
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
        commodity=commodity, year=year, reporter=reporter, flow=opts.get("flow"), lookups=lookups
    )


def parse_top_goods(line: CommandLine, lookups: Lookups) -> TopGoodsParams:
    """Parse `/top goods RU 2023 [CN]` or `/top goods Hong Kong China`."""
    check_options(line, ("partner", "year", "reporter", "flow"), GOODS_USAGE)
    opts = line.options
    words = list(line.words)
    head, year, tail = _split_on_year(words) if "year" not in opts else (words, opts["year"], [])
    if len(head) == 1 and head[0].isdigit() and len(head[0]) == 4 and year is None:
        year, head = head[0], []
    reporter = opts.get("reporter") or (" ".join(tail) if tail else None)
    if reporter is None and not is_country(lookups, head):
        for i in range(1, len(head)):
            if is_country(lookups, head[:i]) and is_country(lookups, head[i:]):
                head, reporter = head[:i], " ".join(head[i:])
                break
    partner = opts.get("partner") or " ".join(head)
    if "partner" in opts and head:
        raise InvalidInput(f"Unexpected words: {' '.join(head)}.", f"Usage: {GOODS_USAGE}")
    return TopGoodsParams.build(
        partner=partner, year=year, reporter=reporter, flow=opts.get("flow"), lookups=lookups
    )


async def _year_and_source(
    ctx: Context, scope: TradeScope, what: str, requested: int | None, *, fetch: bool
) -> tuple[int, SourceCoverage, list[SourceCoverage], list[int]]:
    """Pick the year (default: latest with data), the one source, and the periods compared."""
    year = requested
    if year is not None and year > ctx.now().year:
        raise InvalidInput(f"{year} is in the future.", f"Ask for {ctx.now().year} or earlier.")
    if year is None:
        latest = await tq.latest_period(ctx.session, scope)
        if latest is None:
            raise await no_data_error(ctx, scope, what)
        year = latest // 100
    coverage = await tq.source_coverage(ctx.session, scope, year)
    if not coverage and fetch:
        loaded, note = await fetch_if_possible(ctx, scope, [year - 1, year])
        coverage = await tq.source_coverage(ctx.session, scope, year) if loaded else []
        if not coverage:
            raise await no_data_error(ctx, scope, what, year=year, fetch_note=note)
    if not coverage:
        raise await no_data_error(ctx, scope, what, year=year)
    chosen = tq.choose_source(coverage, prefer_monthly=False)
    assert chosen is not None
    if chosen.freq == "A":
        return year, chosen, coverage, [year * 100, (year - 1) * 100]
    months = await tq.periods_present(ctx.session, scope, chosen.source_id, chosen.freq, year)
    return year, chosen, coverage, [*months, *(p - 100 for p in months)]


def _period_text(chosen: SourceCoverage, periods: list[int], year: int) -> str:
    if chosen.freq == "A":
        return f"annual totals, {year} vs {year - 1}"
    months = sorted(p for p in periods if p // 100 == year)
    if len(months) == 12:
        return f"full year {year} vs {year - 1}"
    listed = ", ".join(period_label(p)[5:] for p in months) or "none"
    return f"the {len(months)} months of {year} with data (months {listed}) vs the same months of {year - 1}"


async def run_top_partners(ctx: Context, params: TopPartnersParams) -> Reply:
    """Rank the partners for a commodity.

    Raises:
        NotFound / Ambiguous / InvalidInput: commodity or year problems. NoData: nothing loaded.
    """
    commodity = await resolve_commodity(ctx.session, ctx.lookups, params.commodity)
    scope = TradeScope(params.reporter.code, params.flow, commodity.codes)
    name = commodity.alias or f"HS {commodity.codes[0]}"
    what = f"{name} (HS {', '.join(commodity.codes)}), {flow_phrase(params.reporter, params.flow)}"
    year, chosen, coverage, periods = await _year_and_source(ctx, scope, what, params.year, fetch=True)
    present = await tq.levels_present(ctx.session, scope, chosen.source_id, chosen.freq, periods)
    levels = tq.coarsest_levels(present)
    rows = await tq.partner_values(ctx.session, scope, chosen.source_id, chosen.freq, levels, periods)
    current: dict[str, float | None] = {}
    previous: dict[str, float | None] = {}
    for row in rows:
        target = current if row.year == year else previous
        if row.value_usd is not None:
            target[str(row.partner)] = (target.get(str(row.partner)) or 0.0) + row.value_usd
    world_now, world_prev = current.pop("0", None), previous.pop("0", None)
    for code in AGGREGATE_PARTNERS:
        current.pop(str(code), None)
        previous.pop(str(code), None)
    names = {k: ctx.lookups.country_name(int(k)) for k in {*current, *previous}}
    basis = "World total" if world_now else f"sum of the {len(current)} partners in the data"
    ranking = rk.rank(current, previous, names, total=world_now, previous_total=world_prev, total_basis=basis)
    infos = await tq.snapshot_infos(ctx.session, {r.snapshot_id for r in rows})
    citations = trade_citations(infos, params.reporter, None)
    codes = await tq.codes_summed(ctx.session, scope, chosen.source_id, chosen.freq, levels, periods)
    title = f"Top partners: {flow_phrase(params.reporter, params.flow)} of {name}, {year}"
    subtitle = (
        f"HS {short_codes(codes)}, {_period_text(chosen, periods, year)}; share of the "
        f"{'world total' if world_now else 'partners in the data'}"
    )
    chpl_text, tiers = chpl_summary(ctx.lookups, commodity.codes)
    fields = [
        Field("Ranking", rk.ranking_table(ranking, year, "Partner")),
        Field("Codes summed", f"{', '.join(codes)} — {level_text(present, levels)}."),
        Field("CHPL", chpl_text),
        Field("Source", source_choice_text(chosen, coverage, year)),
    ]
    numbers = {
        "commodity": {
            "query": commodity.query,
            "alias": commodity.alias,
            "requested_codes": list(commodity.codes),
        },
        "reporter": {"code": params.reporter.code, "name": params.reporter.name},
        "flow": params.flow,
        "codes": codes,
        "level": uniform_level(levels),
        "levels": levels,
        "chpl": {"tiers": tiers},
    }
    return await _reply(
        ctx,
        ranking,
        year,
        chosen,
        periods,
        citations,
        title=title,
        subtitle=subtitle,
        fields=fields,
        numbers=numbers,
        key_name="partner_code",
        stem=f"top-partners-{params.reporter.iso2 or params.reporter.code}-{'-'.join(commodity.codes)}-{year}",
    )


def _short(name: str, width: int = 40) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _group_length(levels: list[int]) -> int | None:
    """HS-4 when the source holds headings or finer; HS-6 when it holds only HS-6 (or national lines)."""
    real = [lv for lv in levels if lv >= 2]
    finer = [lv for lv in real if lv >= 4]
    if finer:
        return min(max(4, min(finer)), 6)
    return 2 if 2 in real else None


async def run_top_goods(ctx: Context, params: TopGoodsParams) -> Reply:
    """Rank the goods (HS-4, or HS-6 where the source only has HS-6) traded with one partner.

    Raises:
        InvalidInput: bad year. NoData: nothing loaded for the pair.
    """
    scope = TradeScope(params.reporter.code, params.flow, (), params.partner.code)
    what = flow_phrase(params.reporter, params.flow, params.partner)
    year, chosen, coverage, periods = await _year_and_source(ctx, scope, what, params.year, fetch=False)
    levels = await tq.goods_levels(ctx.session, scope, chosen.source_id, chosen.freq, periods)
    group_len = _group_length(levels)
    if group_len is None:
        raise NoData(
            f"{chosen.source_title} holds only all-goods totals for {what}; no breakdown by HS code."
        )
    rows = await tq.goods_values(ctx.session, scope, chosen.source_id, chosen.freq, group_len, periods)
    coarsest: dict[str, int] = {}
    for row in rows:
        coarsest[row.group] = min(coarsest.get(row.group, row.level), row.level)
    current: dict[str, float | None] = {}
    previous: dict[str, float | None] = {}
    for row in rows:
        if row.level != coarsest[row.group] or row.value_usd is None:
            continue  # a heading's own row is used; its subheadings are not added again
        target = current if row.year == year else previous
        target[row.group] = (target.get(row.group) or 0.0) + row.value_usd
    totals = await tq.all_goods_totals(ctx.session, scope, chosen.source_id, chosen.freq, periods)
    descriptions = await hsq.get_codes(ctx.session, {*current, *previous})
    names = {
        c: f"{c} {descriptions[c].description}" if c in descriptions else c for c in {*current, *previous}
    }
    basis = "all-goods TOTAL of the source" if totals.get(year) else "sum of the goods in the data"
    ranking = rk.rank(
        current,
        previous,
        names,
        total=totals.get(year),
        previous_total=totals.get(year - 1),
        total_basis=basis,
    )
    return await _goods_reply(ctx, params, ranking, year, chosen, coverage, periods, levels, group_len, rows)


async def _goods_reply(
    ctx: Context,
    params: TopGoodsParams,
    ranking: rk.Ranking,
    year: int,
    chosen: SourceCoverage,
    coverage: list[SourceCoverage],
    periods: list[int],
    levels: list[int],
    group_len: int,
    rows: list[tq.GoodsValue],
) -> Reply:
    rolled = sorted({r.level for r in rows if r.level > group_len})
    level_note = f"Ranked at {LEVEL_NAMES[group_len]}"
    if group_len == 6 and 4 not in levels:
        level_note += " (this source holds no HS-4 headings)"
    if rolled:
        level_note += "; headings without their own row are summed from " + ", ".join(
            LEVEL_NAMES.get(lv, str(lv)) for lv in rolled
        )
    if 2 in levels and group_len > 2:
        level_note += "; HS-2 chapter rows are left out (they are not split into headings)"
    infos = await tq.snapshot_infos(ctx.session, {r.snapshot_id for r in rows})
    citations = trade_citations(infos, params.reporter, params.partner)
    what = flow_phrase(params.reporter, params.flow, params.partner)
    title = f"Top goods: {what}, {year}"
    subtitle = f"HS-{group_len}, {_period_text(chosen, periods, year)}; share of the {ranking.total_basis}"
    fields = [
        Field("Ranking", rk.ranking_table(ranking, year, f"HS-{group_len}", name_width=30)),
        Field("Level", level_note + "."),
        Field("Source", source_choice_text(chosen, coverage, year)),
    ]
    chpl = {i.key: t for i in ranking.top if (t := ctx.lookups.chpl.tiers_within(i.key))}
    if chpl:
        fields.append(Field("CHPL", "; ".join(f"{k}: tier {', '.join(v)}" for k, v in chpl.items())))
    numbers = {
        "partner": {"code": params.partner.code, "name": params.partner.name},
        "reporter": {"code": params.reporter.code, "name": params.reporter.name},
        "flow": params.flow,
        "level": group_len,
        "levels_in_source": levels,
    }
    labels = [i.name if len(i.name) <= 34 else i.name[:33] + "…" for i in ranking.top]
    return await _reply(
        ctx,
        ranking,
        year,
        chosen,
        periods,
        citations,
        title=title,
        subtitle=subtitle,
        fields=fields,
        numbers=numbers,
        key_name="hs_code",
        labels=labels,
        stem=f"top-goods-{params.reporter.iso2 or params.reporter.code}-{params.partner.iso2 or params.partner.code}-{year}",
    )


async def _reply(
    ctx: Context,
    ranking: rk.Ranking,
    year: int,
    chosen: SourceCoverage,
    periods: list[int],
    citations: list[Citation],
    *,
    title: str,
    subtitle: str,
    fields: list[Field],
    numbers: dict[str, object],
    key_name: str,
    stem: str,
    labels: list[str] | None = None,
) -> Reply:
    """The common shape of both rankings: summary, fields, chart, CSV and numbers."""
    if not ranking.items:
        raise NoData(f"No positive values for {year} in {chosen.source_title}.")
    top = ranking.top
    lines = [
        f"{year} total: {fmt_usd(ranking.total_usd)} ({ranking.total_basis}); {year - 1}: "
        f"{fmt_usd(ranking.previous_total_usd)} ({fmt_pct(pct_change(ranking.total_usd, ranking.previous_total_usd))}).",
        f"Compared: {_period_text(chosen, periods, year)}.",
        "Top 3: "
        + "; ".join(f"{_short(i.name)} {fmt_usd(i.value_usd)} ({i.share_pct or 0:.1f}%)" for i in top[:3])
        + ".",
    ]
    if ranking.total_basis.startswith("sum of the goods"):
        lines.append(
            f"This source holds only {len(ranking.items)} HS codes for this pair: shares are of those, "
            "not of all trade between the two."
        )
    if ranking.dropped:
        lines.append(f"{len(ranking.dropped)} with value in {year - 1} but none in {year} (in the CSV).")
    source_line = chart_source_line(citations, chosen.source_title)
    png = await asyncio.to_thread(
        rk.chart, ranking, title=title, subtitle=subtitle, source=source_line, labels=labels
    )
    extra = {"source": chosen.source_title, "freq": chosen.freq}
    numbers = {
        **numbers,
        "year": year,
        **ranking.to_numbers(),
        "source": {
            "key": chosen.source_key,
            "title": chosen.source_title,
            "freq": chosen.freq,
            "data_date": citations[0].data_date if citations else None,
        },
        "periods": [period_label(p) for p in sorted(periods)],
    }
    return Reply(
        title=title,
        summary=lines,
        fields=fields,
        citations=citations,
        numbers=numbers,
        attachments=[
            Attachment(f"{stem.lower()}.png", png, f"Top {len(top)}, {year}"),
            Attachment(
                f"{stem.lower()}.csv", rk.ranking_csv(ranking, year, key_name, extra), "The full ranking"
            ),
        ],
    )
