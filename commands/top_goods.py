"""`/top goods <partner> [year] [reporter]`: the top 10 goods traded with one partner, with value, share
and growth, a bar chart and the full ranking as CSV.

Goods are ranked at HS-4 headings, or at HS-6 when the source holds only HS-6 (the reply says which). Each
heading's value comes from the coarsest level the source holds for it (its own row, else its subheadings
summed), so nothing is counted twice; the source's all-goods TOTAL row, when it has one, is the denominator.
"""

from __future__ import annotations

from dataclasses import replace

from commands import ranking as rk
from commands.anomalies import FLAGS_RULE, anomaly_flags
from commands.cited import ALL_CODES, reported_figures_for, with_figures
from commands.context import Context
from commands.errors import InvalidInput, NoData
from commands.parse import CommandLine
from commands.replies import Field, Reply
from commands.resolve import check_options, is_country, split_on_year
from commands.trade_common import LEVEL_NAMES, flow_phrase, source_choice_text, trade_citations
from commands.trade_params import BASIS_OPTIONS, GOODS_USAGE, TopGoodsParams
from db.lookups import Lookups
from db.queries import hs as hsq
from db.queries import trade as tq
from db.queries import trade_sources
from db.queries.trade import Amount, KeyAmount, TradeScope


def parse_top_goods(line: CommandLine, lookups: Lookups) -> TopGoodsParams:
    """Parse `/top goods RU 2023 [CN]` or `/top goods Hong Kong China`."""
    check_options(line, ("partner", "year", "reporter", "flow", *BASIS_OPTIONS), GOODS_USAGE)
    opts = line.options
    words = list(line.words)
    head, year, tail = split_on_year(words) if "year" not in opts else (words, opts["year"], [])
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
        partner=partner,
        year=year,
        reporter=reporter,
        flow=opts.get("flow"),
        lookups=lookups,
        measure=opts.get("measure"),
        vs=opts.get("vs"),
        months=opts.get("months"),
    )


def _group_length(levels: list[int]) -> int | None:
    """HS-4 when the source holds headings or finer; HS-6 when it holds only HS-6 (or national lines)."""
    real = [lv for lv in levels if lv >= 2]
    finer = [lv for lv in real if lv >= 4]
    if finer:
        return min(max(4, min(finer)), 6)
    return 2 if 2 in real else None


def coarsest_per_group(rows: list[KeyAmount]) -> dict[str, dict[int, Amount]]:
    """Per HS group, per period: the amount from the group's coarsest level only."""
    coarsest: dict[str, int] = {}
    for row in rows:
        coarsest[row.key] = min(coarsest.get(row.key, row.level), row.level)
    return rk.by_key(
        r for r in rows if r.level == coarsest[r.key]
    )  # a heading's own row, never again its subheadings


async def run_top_goods(ctx: Context, params: TopGoodsParams) -> Reply:
    """Rank the goods (HS-4, or HS-6 where the source only has HS-6) traded with one partner.

    Raises:
        InvalidInput: bad year. NoData: nothing loaded for the pair.
    """
    scope = TradeScope(params.reporter.code, params.flow, (), params.partner.code)
    what = flow_phrase(params.reporter, params.flow, params.partner)
    opts = params.options
    window = await rk.pick_window(ctx, scope, what, params.year, fetch=False, vs=opts.vs, months=opts.months)
    source_id, freq, year = window.chosen.source_id, window.chosen.freq, window.year
    levels = await tq.goods_levels(ctx.session, scope, source_id, freq, window.periods)
    group_len = _group_length(levels)
    if group_len is None:
        raise NoData(
            f"{window.chosen.source_title} holds only all-goods totals for {what}; no breakdown by HS code."
        )
    measure = params.options.measure
    volumes = measure.needs_volumes
    rows = await tq.goods_amounts(
        ctx.session, scope, source_id, freq, group_len, window.periods, volumes=volumes
    )
    measure = measure.with_unit(r.amount for r in rows)
    series = coarsest_per_group(rows)
    totals = await tq.all_goods_amounts(ctx.session, scope, source_id, freq, window.periods, volumes=volumes)
    descriptions = await hsq.get_codes(ctx.session, set(series))
    names = {c: f"{c} {descriptions[c].description}" if c in descriptions else c for c in series}
    has_total = any(measure.of(totals.get(p)) is not None for p in window.basis.month_periods(year))
    if freq == "A":
        has_total = measure.of(totals.get(year * 100)) is not None
    basis = "all-goods TOTAL of the source" if has_total else "sum of the goods in the data"
    ranking = rk.rank(
        series,
        names,
        window.basis,
        measure,
        freq,
        total_series=totals if has_total else None,
        total_basis=basis,
    )
    citations = trade_citations(
        await trade_sources.snapshot_infos(ctx.session, {r.snapshot_id for r in rows}),
        params.reporter,
        params.partner,
        year=year,
    )
    spec = _goods_spec(ctx, params, window, ranking, levels, group_len, rows)
    flags = await _goods_flags(ctx, scope, window, ranking, group_len)
    reply = await rk.ranking_reply(
        ranking, window, citations, spec, notes=[*flags, FLAGS_RULE] if flags else ()
    )
    reply = replace(reply, numbers={**reply.numbers, "flags": flags})
    cited = await reported_figures_for(
        ctx, codes=ALL_CODES, reporter=params.reporter, partners=[params.partner], flow=params.flow,
        first_year=window.basis.base_year, last_year=year,
    )  # fmt: skip
    return with_figures(reply, cited, ctx.lookups)


async def _goods_flags(
    ctx: Context, scope: TradeScope, window: rk.Window, ranking: rk.Ranking, group_len: int
) -> list[str]:
    """Anomaly flags (commands/anomalies.py) of the top goods' monthly series, one line per flag.

    Each month of a good's history is summed from that month's coarsest level, as the ranking sums its span.
    """
    if window.chosen.freq != "M":
        return []
    top = {i.key: rk.short(i.name, 40) for i in ranking.top if i.key.isdigit()}
    span = window.basis.month_periods(window.year)
    if not top or not span:
        return []
    narrow = TradeScope(scope.reporter, scope.flow, tuple(sorted(top)), scope.partner)
    rows = await tq.goods_amounts(
        ctx.session, narrow, window.chosen.source_id, "M", group_len, (0, max(span))
    )
    coarsest: dict[tuple[str, int], int] = {}
    for row in rows:
        coarsest[row.key, row.period] = min(coarsest.get((row.key, row.period), row.level), row.level)
    history: dict[str, dict[int, float]] = {}
    for row in rows:
        if row.level == coarsest[row.key, row.period] and row.amount.value_usd is not None:
            months = history.setdefault(row.key, {})
            months[row.period] = months.get(row.period, 0.0) + row.amount.value_usd
    return [f"{top[k]}: {flag}" for k in top for flag in anomaly_flags(history.get(k, {}), span)]


def _level_note(levels: list[int], group_len: int, rows: list[KeyAmount]) -> str:
    rolled = sorted({r.level for r in rows if r.level > group_len})
    note = f"Ranked at {LEVEL_NAMES[group_len]}"
    if group_len == 6 and 4 not in levels:
        note += " (this source holds no HS-4 headings)"
    if rolled:
        note += "; headings without their own row are summed from " + ", ".join(
            LEVEL_NAMES.get(lv, str(lv)) for lv in rolled
        )
    if 2 in levels and group_len > 2:
        note += "; HS-2 chapter rows are left out (they are not split into headings)"
    return note + "."


def _goods_spec(
    ctx: Context,
    params: TopGoodsParams,
    window: rk.Window,
    ranking: rk.Ranking,
    levels: list[int],
    group_len: int,
    rows: list[KeyAmount],
) -> rk.ReplySpec:
    year, basis, measure = window.year, window.basis, ranking.total.measure
    fields = [
        Field("Ranking", rk.ranking_table(ranking, basis, f"HS-{group_len}", name_width=26)),
        Field("Level", _level_note(levels, group_len, rows)),
        Field("Source", source_choice_text(window.chosen, window.coverage, year)),
    ]
    chpl = {i.key: t for i in ranking.top if (t := ctx.lookups.chpl.tiers_within(i.key))}
    if chpl:
        fields.append(Field("CHPL", "; ".join(f"{k}: tier {', '.join(v)}" for k, v in chpl.items())))
    reporter, partner = params.reporter, params.partner
    return rk.ReplySpec(
        title=f"Top goods: {flow_phrase(reporter, params.flow, partner)}, {basis.span()}"
        + ("" if measure.key == "value" else f", {measure.by}"),
        subtitle=f"HS-{group_len}, {window.text()}; share of the {ranking.total_basis}",
        fields=fields,
        numbers={
            "partner": {"code": partner.code, "name": partner.name},
            "reporter": {"code": reporter.code, "name": reporter.name},
            "flow": params.flow,
            "level": group_len,
            "levels_in_source": levels,
        },
        key_name="hs_code",
        labels=[rk.short(i.name, 34) for i in ranking.top],
        stem=f"top-goods-{reporter.iso2 or reporter.code}-{partner.iso2 or partner.code}-{year}"
        + ("" if measure.key == "value" else f"-{measure.key}"),
    )
