"""Trade-flow queries for /exports and /top: coverage, source choice, the level rule, series and rankings.

Every query is a `select()` with bound parameters and a LIMIT cap. HS prefixes are ranges
(`hs_code >= '8542' AND hs_code < '8543'`), never LIKE, so the indexes of `db.models.trade` answer them:
- one pair (reporter, partner, flow, HS range, periods): `uq_trade_flows_natural_key`;
- all partners of a reporter (reporter, flow, HS range, periods): `ix_trade_flows_goods`.

No double counting. Sources are never added together: a question is answered from one source (and one
frequency), chosen by `choose_source`. Within that source a heading and its own subheadings are never both
summed: for each requested prefix only one level is used, the coarsest level the source holds under that
prefix in the question's scope (a heading's own row is the most complete figure; finer rows may be partial).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, SupportsFloat

from sqlalchemy import ColumnElement, and_, case, distinct, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Source, TradeFlow
from db.queries.hs import prefix_upper_bound
from db.queries.trade_shapes import Amount as Amount
from db.queries.trade_shapes import CodeValue as CodeValue
from db.queries.trade_shapes import KeyAmount as KeyAmount
from db.queries.trade_shapes import SourceCoverage as SourceCoverage
from db.queries.trade_shapes import TradeScope as TradeScope
from db.queries.trade_shapes import add_amounts as add_amounts
from db.sources import trade_preference

# Row caps: far above what one question returns (36 months x a few hundred codes or 1,300 headings), low
# enough to bound memory.
MAX_SERIES_ROWS = 50_000
MAX_RANKING_ROWS = 200_000
# Partner codes that are aggregates, not countries: 0 is "World" in UN Comtrade, 97 the EU aggregate.
AGGREGATE_PARTNERS = frozenset({0, 97})
ALL_GOODS_CODE = "TOTAL"
# Periods are either a (first, last) range tuple or an explicit list of YYYYMM / YYYY00 values.
Periods = tuple[int, int] | list[int]


def year_bounds(year: int) -> tuple[int, int]:
    """The period range of a year: YYYY00 (annual rows) to YYYY12."""
    return year * 100, year * 100 + 12


def _prefix_range(prefix: str) -> ColumnElement[bool]:
    if prefix == ALL_GOODS_CODE:  # the all-goods rows are asked for by name ("total"), never by a digit range
        return TradeFlow.hs_code == ALL_GOODS_CODE
    return and_(TradeFlow.hs_code >= prefix, TradeFlow.hs_code < prefix_upper_bound(prefix))


def _base_filters(scope: TradeScope) -> list[ColumnElement[bool]]:
    """Reporter, flow and partner (if any): the equality columns the indexes start with."""
    filters: list[ColumnElement[bool]] = [TradeFlow.reporter == scope.reporter, TradeFlow.flow == scope.flow]
    if scope.partner is not None:
        filters.append(TradeFlow.partner == scope.partner)
    return filters


def _scope_filters(scope: TradeScope) -> list[ColumnElement[bool]]:
    filters = _base_filters(scope)
    if scope.prefixes:
        filters.append(or_(*(_prefix_range(p) for p in scope.prefixes)))
    else:
        # Every real HS code is digits; "TOTAL" sorts after them, so a range excludes it and stays indexable.
        filters.append(and_(TradeFlow.hs_code >= "0", TradeFlow.hs_code < ":"))
    return filters


def _level_filters(levels: dict[str, int]) -> ColumnElement[bool]:
    """Rows of the chosen level under each prefix (the no-double-counting rule)."""
    return or_(*(and_(_prefix_range(p), TradeFlow.hs_level == lvl) for p, lvl in levels.items()))


def month_runs(periods: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive months of one year as (first, last) runs; any other period is a run of its own.

    `[202001..202012, 202101..202112]` -> `[(202001, 202012), (202101, 202112)]`. A run never crosses a year,
    so `BETWEEN first AND last` holds exactly the months of the run (YYYY00, the annual rows, sorts before
    YYYY01 and is never inside one).
    """
    runs: list[tuple[int, int]] = []
    for period in sorted(set(periods)):
        month = period % 100
        if runs and 1 < month <= 12 and runs[-1][1] == period - 1:
            runs[-1] = (runs[-1][0], period)
        else:
            runs.append((period, period))
    return runs


def _period_filter(periods: Periods) -> ColumnElement[bool]:
    """A tuple (first, last) is a range; a list is an explicit set of periods.

    An explicit set is sent as month ranges: PostgreSQL (before 17) runs one index descent per element of
    `period IN (...)` after the hs_code range of ix_trade_flows_goods (24 for a two-year window), which was
    most of /top's time at 20M rows; two ranges cost two.
    """
    if isinstance(periods, tuple):
        return TradeFlow.period.between(periods[0], periods[1])
    runs = month_runs(periods)
    if len(runs) == len(set(periods)):
        return TradeFlow.period.in_(sorted(set(periods)))
    return or_(*(TradeFlow.period.between(a, b) if a != b else TradeFlow.period == a for a, b in runs))


def _weight_expr() -> ColumnElement[float]:
    """Net weight, else the quantity when its unit is kilograms (see commands.measures)."""
    return func.coalesce(TradeFlow.net_kg, case((TradeFlow.qty_unit == "kg", TradeFlow.qty)))


def _amount_columns(volumes: bool) -> list[ColumnElement[Any]]:
    """Aggregates an `Amount` is built from; weights and quantities only when asked (they are not in the
    covering index, so a value-only answer never reads them)."""
    columns: list[ColumnElement[Any]] = [func.sum(TradeFlow.value_usd), func.count()]
    if volumes:
        weight = _weight_expr()
        columns += [
            func.sum(weight),
            func.count(weight),
            func.count(TradeFlow.net_kg),
            func.sum(TradeFlow.qty),
            func.count(TradeFlow.qty),
            func.min(TradeFlow.qty_unit),
            func.max(TradeFlow.qty_unit),
        ]
    return columns


def _amount(values: tuple[Any, ...]) -> Amount:
    """An `Amount` from the aggregates of `_amount_columns` (a partial weight or quantity is no figure)."""
    value = _float(values[0])
    if len(values) == 2:
        return Amount(value)
    rows, weight, weighed, net, qty, counted, unit_lo, unit_hi = values[1:]
    complete_weight = weighed == rows
    one_unit = counted == rows and unit_lo == unit_hi
    return Amount(
        value,
        _float(weight) if complete_weight else None,
        _float(qty) if one_unit else None,
        str(unit_lo) if one_unit and unit_lo is not None else None,
        complete_weight and net != rows,
    )


async def latest_period(session: AsyncSession, scope: TradeScope) -> int | None:
    """The latest period with data for the scope in any source (YYYYMM or YYYY00), or None."""
    stmt = select(func.max(TradeFlow.period)).where(*_scope_filters(scope))
    value = (await session.execute(stmt)).scalar_one_or_none()
    return int(value) if value is not None else None


async def years_with_data(session: AsyncSession, scope: TradeScope) -> list[int]:
    """Years holding data for the scope in any source, ascending."""
    stmt = select(distinct(TradeFlow.period)).where(*_scope_filters(scope)).limit(5_000)
    return sorted({int(p) // 100 for p in (await session.execute(stmt)).scalars()})


# At most this many prefixes are looked up one SELECT each (SQLite allows 500 in one compound SELECT).
MAX_PREFIX_PARTS = 200


def _prefix_scopes(scope: TradeScope) -> list[TradeScope]:
    """The scope split into one scope per prefix, nested prefixes dropped ("85" already holds "8542"): the
    parts' rows are disjoint and together the rows of the scope. Too many prefixes: the scope itself."""
    ordered = sorted(set(scope.prefixes))
    outermost = [p for p in ordered if not any(p != q and p.startswith(q) for q in ordered)]
    if not 1 < len(outermost) <= MAX_PREFIX_PARTS:
        return [scope]
    return [TradeScope(scope.reporter, scope.flow, (p,), scope.partner) for p in outermost]


async def source_coverage(session: AsyncSession, scope: TradeScope, year: int) -> list[SourceCoverage]:
    """Per source and frequency: how many periods of `year` it holds for the scope.

    One SELECT per prefix, added up (UNION ALL) before counting: SQLite then seeks each prefix's range in the
    goods index. Given one OR of many ranges, its planner read every row of the reporter through the
    natural-key index instead (1.7 s for /brief's 55 focus prefixes at 20M rows; 20 ms this way).

    Returns:
        One entry per (source, freq) with data in the year; empty if none.
    """
    lo, hi = year_bounds(year)
    parts = [
        select(TradeFlow.source_id, TradeFlow.freq, TradeFlow.period).where(
            *_scope_filters(part), TradeFlow.period.between(lo, hi)
        )
        for part in _prefix_scopes(scope)
    ]
    rows = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery()
    counts = (
        select(
            rows.c.source_id,
            rows.c.freq,
            func.count(distinct(rows.c.period)).label("periods"),
            func.count().label("n"),
        )
        .group_by(rows.c.source_id, rows.c.freq)
        .subquery()
    )
    stmt = (
        select(counts.c.source_id, counts.c.freq, counts.c.periods, counts.c.n, Source.key, Source.title)
        .join(Source, Source.id == counts.c.source_id)
        .limit(1_000)
    )
    return [
        SourceCoverage(int(sid), key, title, freq, int(periods), int(count))
        for sid, freq, periods, count, key, title in (await session.execute(stmt)).all()
    ]


def _preference_rank(key: str) -> int:
    """Which source answers when several cover a year equally well (db.sources: `Source.preference`);
    keys outside the registry last."""
    preferred = trade_preference()
    return preferred.index(key) if key in preferred else len(preferred)


def choose_source(coverages: Iterable[SourceCoverage], *, prefer_monthly: bool) -> SourceCoverage | None:
    """Pick the one source (and frequency) that answers; the others are never added to it.

    Args:
        coverages: what each source holds for the year (from `source_coverage`).
        prefer_monthly: True for monthly series (/exports): any monthly data beats annual totals.
            False for rankings (/top): a complete year beats a partial one, then monthly beats annual.
    Returns:
        The chosen coverage, or None if there is none. Ties: more periods, then the registry's trade preference,
        then the lower source id (the one loaded first), so the choice is stable.
    """

    def key(c: SourceCoverage) -> tuple[int, int, int, int, int]:
        first = int(c.freq == "M") if prefer_monthly else int(c.complete)
        second = int(c.complete) if prefer_monthly else int(c.freq == "M")
        return (first, second, c.periods, -_preference_rank(c.source_key), -c.source_id)

    ranked = sorted(coverages, key=key, reverse=True)
    return ranked[0] if ranked else None


async def periods_present(
    session: AsyncSession, scope: TradeScope, source_id: int, freq: str, year: int
) -> list[int]:
    """The periods of `year` the chosen source holds for the scope (to compare like with like)."""
    lo, hi = year_bounds(year)
    stmt = (
        select(distinct(TradeFlow.period))
        .where(*_scope_filters(scope), TradeFlow.source_id == source_id, TradeFlow.freq == freq)
        .where(TradeFlow.period.between(lo, hi))
        .limit(100)
    )
    return sorted(int(p) for p in (await session.execute(stmt)).scalars())


async def levels_present(
    session: AsyncSession, scope: TradeScope, source_id: int, freq: str, periods: Periods
) -> dict[str, list[int]]:
    """The HS levels the source holds under each requested prefix, in the scope and periods.

    Returns:
        prefix -> sorted levels (e.g. {"2504": [6, 8]}); prefixes without data are absent.
    """
    out: dict[str, list[int]] = {}
    for prefix in scope.prefixes:
        sub = TradeScope(scope.reporter, scope.flow, (prefix,), scope.partner)
        stmt = (
            select(distinct(TradeFlow.hs_level))
            .where(*_scope_filters(sub), TradeFlow.source_id == source_id, TradeFlow.freq == freq)
            .where(_period_filter(periods))
            .limit(20)
        )
        levels = sorted(int(lv) for lv in (await session.execute(stmt)).scalars())
        if levels:
            out[prefix] = levels
    return out


def coarsest_levels(levels: dict[str, list[int]]) -> dict[str, int]:
    """The level rule: per prefix, the coarsest level present (a heading's own rows beat its subheadings')."""
    return {prefix: min(found) for prefix, found in levels.items() if found}


async def series_by_code(
    session: AsyncSession,
    scope: TradeScope,
    source_id: int,
    freq: str,
    levels: dict[str, int],
    periods: Periods,
    *,
    volumes: bool = False,
) -> list[CodeValue]:
    """Values per HS code and period for one pair, from the chosen source and only the chosen levels.

    Args:
        scope: must name a partner.
        levels: prefix -> the one level to sum under it (from `coarsest_levels`).
        periods: a (first, last) period range or an explicit list.
        volumes: also read weights and quantities (into each row's `amount`).
    """
    if scope.partner is None:
        raise ValueError("series_by_code needs a partner")
    if not levels:
        return []
    stmt = (
        select(TradeFlow.hs_code, TradeFlow.period, TradeFlow.snapshot_id, *_amount_columns(volumes))
        .where(*_scope_filters(scope), TradeFlow.source_id == source_id, TradeFlow.freq == freq)
        .where(_period_filter(periods), _level_filters(levels))
        .group_by(TradeFlow.hs_code, TradeFlow.period, TradeFlow.snapshot_id)
        .order_by(TradeFlow.period, TradeFlow.hs_code)
        .limit(MAX_SERIES_ROWS)
    )
    out = []
    for code, period, snap, *values in (await session.execute(stmt)).all():
        amount = _amount(tuple(values))
        out.append(CodeValue(code, int(period), amount.value_usd, int(snap), amount))
    return out


async def codes_summed(
    session: AsyncSession,
    scope: TradeScope,
    source_id: int,
    freq: str,
    levels: dict[str, int],
    periods: Periods,
) -> list[str]:
    """The HS codes the level rule keeps (what an answer says it summed), in code order, capped at 500."""
    if not levels:
        return []
    stmt = (
        select(distinct(TradeFlow.hs_code))
        .where(*_scope_filters(scope), TradeFlow.source_id == source_id, TradeFlow.freq == freq)
        .where(_period_filter(periods), _level_filters(levels))
        .order_by(TradeFlow.hs_code)
        .limit(500)
    )
    return list((await session.execute(stmt)).scalars())


async def partner_amounts(
    session: AsyncSession,
    scope: TradeScope,
    source_id: int,
    freq: str,
    levels: dict[str, int],
    periods: Periods,
    *,
    volumes: bool = False,
) -> list[KeyAmount]:
    """Per partner and period: the amount of the chosen codes (one level per prefix) from one source.

    Per period, not per year, so the one missing-months rule (commands.basis) applies to each partner.
    """
    if not levels:
        return []
    stmt = (
        select(TradeFlow.partner, TradeFlow.period, TradeFlow.snapshot_id, *_amount_columns(volumes))
        .where(*_scope_filters(scope), TradeFlow.source_id == source_id, TradeFlow.freq == freq)
        .where(_period_filter(periods), _level_filters(levels))
        .group_by(TradeFlow.partner, TradeFlow.period, TradeFlow.snapshot_id)
        .limit(MAX_RANKING_ROWS)
    )
    rows = (await session.execute(stmt)).all()
    return [KeyAmount(str(p), 0, int(per), _amount(tuple(v)), int(snap)) for p, per, snap, *v in rows]


async def goods_levels(
    session: AsyncSession, scope: TradeScope, source_id: int, freq: str, periods: Periods
) -> list[int]:
    """The HS levels one source holds for a pair (0 is the all-goods TOTAL row)."""
    stmt = (
        select(distinct(TradeFlow.hs_level))
        .where(
            *_base_filters(scope),
            TradeFlow.source_id == source_id,
            TradeFlow.freq == freq,
            _period_filter(periods),
        )
        .limit(20)
    )
    return sorted(int(lv) for lv in (await session.execute(stmt)).scalars())


async def goods_amounts(
    session: AsyncSession,
    scope: TradeScope,
    source_id: int,
    freq: str,
    group_len: int,
    periods: Periods,
    *,
    volumes: bool = False,
) -> list[KeyAmount]:
    """Per HS group (the first `group_len` digits), level and period: sums for one pair from one source.

    The caller keeps one level per group (the coarsest), so a heading and its subheadings are not both counted.
    """
    if group_len not in (2, 4, 6):
        raise ValueError(f"group length must be 2, 4 or 6, not {group_len}")
    group = func.substr(TradeFlow.hs_code, 1, literal(group_len, literal_execute=True)).label("grp")
    stmt = (
        select(group, TradeFlow.hs_level, TradeFlow.period, TradeFlow.snapshot_id, *_amount_columns(volumes))
        .where(*_scope_filters(scope), TradeFlow.source_id == source_id, TradeFlow.freq == freq)
        .where(_period_filter(periods), TradeFlow.hs_level >= group_len)
        .group_by(group, TradeFlow.hs_level, TradeFlow.period, TradeFlow.snapshot_id)
        .limit(MAX_RANKING_ROWS)
    )
    rows = (await session.execute(stmt)).all()
    return [KeyAmount(g, int(lv), int(p), _amount(tuple(v)), int(s)) for g, lv, p, s, *v in rows]


async def all_goods_amounts(
    session: AsyncSession,
    scope: TradeScope,
    source_id: int,
    freq: str,
    periods: Periods,
    *,
    volumes: bool = False,
) -> dict[int, Amount]:
    """Per period: the source's all-goods TOTAL rows for a pair (the denominator of shares), if it has them."""
    stmt = (
        select(TradeFlow.period, *_amount_columns(volumes))
        .where(*_base_filters(scope), TradeFlow.hs_code == ALL_GOODS_CODE, TradeFlow.source_id == source_id)
        .where(TradeFlow.freq == freq, _period_filter(periods))
        .group_by(TradeFlow.period)
        .limit(1_000)
    )
    return {int(p): _amount(tuple(v)) for p, *v in (await session.execute(stmt)).all()}


async def codes_held(
    session: AsyncSession, source_id: int, reporter: int, flow: str, codes: Iterable[str], *, limit: int = 60
) -> set[str]:
    """Which of these HS codes the source holds any row of for the reporter and flow.

    One statement: per code an EXISTS (an index seek on `ix_trade_flows_goods`), joined with UNION ALL.
    """
    wanted = list(dict.fromkeys(codes))[:limit]
    if not wanted:
        return set()
    parts = [
        select(literal(code).label("code")).where(
            select(TradeFlow.id)
            .where(TradeFlow.reporter == reporter, TradeFlow.flow == flow, _prefix_range(code))
            .where(TradeFlow.source_id == source_id)
            .exists()
        )
        for code in wanted
    ]
    return set((await session.execute(union_all(*parts))).scalars())


async def pair_holdings(
    session: AsyncSession, reporter: int, partner: int, flow: str, *, limit: int = 12
) -> tuple[list[str], int | None, int | None]:
    """What the database holds for a pair: some HS codes (in code order) and the first and last period."""
    base = [TradeFlow.reporter == reporter, TradeFlow.partner == partner, TradeFlow.flow == flow]
    codes_stmt = select(distinct(TradeFlow.hs_code)).where(*base).order_by(TradeFlow.hs_code).limit(limit)
    codes = list((await session.execute(codes_stmt)).scalars())
    span = (
        await session.execute(select(func.min(TradeFlow.period), func.max(TradeFlow.period)).where(*base))
    ).one()
    return (
        codes,
        (int(span[0]) if span[0] is not None else None),
        (int(span[1]) if span[1] is not None else None),
    )


def _float(value: SupportsFloat | None) -> float | None:
    return None if value is None else float(value)
