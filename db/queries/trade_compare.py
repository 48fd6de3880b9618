"""Queries for /compare: what each source holds for several flows over a span of years, and their series.

A /compare line is one flow (reporter, partner, direction) over several years, answered by one source for the
whole span (a line never switches source between years) and one HS level per requested code, the coarsest the
source holds (`db.queries.trade.coarsest_levels`), as /exports is: sources are never added together and a
heading is never summed with its subheadings. All the lines of a question, both sides, are read with two
queries (what each source holds, then the chosen rows), each an OR of the lines' own index-friendly filters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Source, TradeFlow
from db.queries import trade as tq
from db.queries.trade import Amount, CodeValue, SourceCoverage, TradeScope

Pair = tuple[int, int]  # (reporter, partner)


@dataclass(frozen=True)
class LineSeries:
    """One flow's rows (the chosen codes and level) from its one source."""

    scope: TradeScope
    chosen: SourceCoverage
    levels: dict[str, int]
    rows: list[CodeValue]


def _line_filter(scope: TradeScope) -> ColumnElement[bool]:
    # The same reporter / flow / partner / HS-range filter as the /exports queries (index-friendly ranges).
    return and_(*tq._scope_filters(scope))


def _pair(scope: TradeScope) -> Pair:
    assert scope.partner is not None, "a /compare line names its partner"
    return scope.reporter, scope.partner


async def span_coverage(
    session: AsyncSession, scopes: Sequence[TradeScope], first_year: int, last_year: int
) -> dict[Pair, list[SourceCoverage]]:
    """Per flow, per source and frequency: how many periods of the span it holds (flows without data absent)."""
    if not scopes:
        return {}
    stmt = (
        select(
            TradeFlow.reporter,
            TradeFlow.partner,
            TradeFlow.source_id,
            TradeFlow.freq,
            func.count(distinct(TradeFlow.period)),
            func.count(),
            Source.key,
            Source.title,
        )
        .join(Source, Source.id == TradeFlow.source_id)
        .where(or_(*(_line_filter(s) for s in scopes)))
        .where(TradeFlow.period.between(first_year * 100, last_year * 100 + 12))
        .group_by(
            TradeFlow.reporter,
            TradeFlow.partner,
            TradeFlow.source_id,
            TradeFlow.freq,
            Source.key,
            Source.title,
        )
        .limit(10_000)
    )
    out: dict[Pair, list[SourceCoverage]] = defaultdict(list)
    for reporter, partner, sid, freq, periods, count, key, title in (await session.execute(stmt)).all():
        out[(int(reporter), int(partner))].append(
            SourceCoverage(int(sid), key, title, freq, int(periods), int(count))
        )
    return dict(out)


def _prefix_of(code: str, prefixes: Sequence[str]) -> str | None:
    return next((p for p in prefixes if code.startswith(p)), None)


async def lines_series(
    session: AsyncSession,
    scopes: Sequence[TradeScope],
    first_year: int,
    last_year: int,
    *,
    volumes: bool = False,
) -> dict[Pair, LineSeries]:
    """Each flow's series over the span from the source that covers most of it (monthly data preferred);
    flows that no source holds are absent. `volumes` also reads weights and quantities (each row's `amount`)."""
    coverage = await span_coverage(session, scopes, first_year, last_year)
    chosen = {
        _pair(s): c
        for s in scopes
        if (c := tq.choose_source(coverage.get(_pair(s), []), prefer_monthly=True))
    }
    if not chosen:
        return {}
    wanted = [s for s in scopes if _pair(s) in chosen]
    per_line = [
        and_(
            _line_filter(s),
            TradeFlow.source_id == chosen[_pair(s)].source_id,
            TradeFlow.freq == chosen[_pair(s)].freq,
        )
        for s in wanted
    ]
    stmt = (
        select(
            TradeFlow.reporter,
            TradeFlow.partner,
            TradeFlow.hs_code,
            TradeFlow.hs_level,
            TradeFlow.period,
            TradeFlow.snapshot_id,
            *tq._amount_columns(volumes),
        )
        .where(or_(*per_line), TradeFlow.period.between(first_year * 100, last_year * 100 + 12))
        .group_by(
            TradeFlow.reporter,
            TradeFlow.partner,
            TradeFlow.hs_code,
            TradeFlow.hs_level,
            TradeFlow.period,
            TradeFlow.snapshot_id,
        )  # fmt: skip
        .order_by(TradeFlow.period, TradeFlow.hs_code)
        .limit(tq.MAX_SERIES_ROWS)
    )
    found: dict[Pair, list[tuple[str, int, int, Amount, int]]] = defaultdict(list)
    for reporter, partner, code, level, period, snap, *values in (await session.execute(stmt)).all():
        amount = tq._amount(tuple(values))  # the /exports reading of weights and quantities
        found[(int(reporter), int(partner))].append((code, int(level), int(period), amount, int(snap)))
    out: dict[Pair, LineSeries] = {}
    for scope in wanted:
        rows = found.get(_pair(scope), [])
        present: dict[str, set[int]] = defaultdict(set)
        for code, level, *_ in rows:
            prefix = _prefix_of(code, scope.prefixes) if scope.prefixes else ""
            if prefix is not None:
                present[prefix].add(level)
        levels = tq.coarsest_levels({p: sorted(lv) for p, lv in present.items()})
        kept = [
            CodeValue(code, period, amount.value_usd, snap, amount)
            for code, level, period, amount, snap in rows
            if levels.get((_prefix_of(code, scope.prefixes) or "") if scope.prefixes else "") == level
        ]
        out[_pair(scope)] = LineSeries(scope, chosen[_pair(scope)], levels, kept)
    return out


async def latest_year(session: AsyncSession, scopes: list[TradeScope]) -> int | None:
    """The latest year with data for any of the flows, or None."""
    stmt = select(func.max(TradeFlow.period)).where(or_(*(_line_filter(s) for s in scopes)))
    value = (await session.execute(stmt)).scalar_one_or_none()
    return int(value) // 100 if value is not None else None
