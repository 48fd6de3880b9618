"""Queries for /compare: what each source holds for one flow over a span of years, and that flow's series.

A /compare line is one flow (reporter, partner, direction) over several years, answered by one source for the
whole span (a line never switches source between years) and one HS level per requested code, as /exports does
(`db.queries.trade`): sources are never added together and a heading is never summed with its subheadings.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Source, TradeFlow
from db.queries import trade as tq
from db.queries.trade import CodeValue, SourceCoverage, TradeScope


@dataclass(frozen=True)
class LineSeries:
    """One flow's values per period (summed over the codes kept) from its one source."""

    scope: TradeScope
    chosen: SourceCoverage
    levels: dict[str, int]
    rows: list[CodeValue]


def _scope_filter(scope: TradeScope) -> list[ColumnElement[bool]]:
    # The same reporter / flow / partner / HS-range filter as the /exports queries (index-friendly ranges).
    return tq._scope_filters(scope)


async def span_coverage(
    session: AsyncSession, scope: TradeScope, first_year: int, last_year: int
) -> list[SourceCoverage]:
    """Per source and frequency: how many periods of the span it holds for the flow (empty if none)."""
    stmt = (
        select(
            TradeFlow.source_id,
            TradeFlow.freq,
            func.count(distinct(TradeFlow.period)),
            func.count(),
            Source.key,
            Source.title,
        )
        .join(Source, Source.id == TradeFlow.source_id)
        .where(*_scope_filter(scope), TradeFlow.period.between(first_year * 100, last_year * 100 + 12))
        .group_by(TradeFlow.source_id, TradeFlow.freq, Source.key, Source.title)
        .limit(1_000)
    )
    rows = (await session.execute(stmt)).all()
    return [
        SourceCoverage(int(sid), key, title, freq, int(periods), int(count))
        for sid, freq, periods, count, key, title in rows
    ]


async def line_series(
    session: AsyncSession, scope: TradeScope, first_year: int, last_year: int
) -> LineSeries | None:
    """The flow's series over the span from the source that covers most of it (monthly data preferred), or
    None when no source holds the flow in the span."""
    coverage = await span_coverage(session, scope, first_year, last_year)
    chosen = tq.choose_source(coverage, prefer_monthly=True)
    if chosen is None:
        return None
    periods = (first_year * 100, last_year * 100 + 12)
    present = await tq.levels_present(session, scope, chosen.source_id, chosen.freq, periods)
    levels = tq.coarsest_levels(present)
    rows = await tq.series_by_code(session, scope, chosen.source_id, chosen.freq, levels, periods)
    return LineSeries(scope, chosen, levels, rows)


async def latest_year(session: AsyncSession, scopes: list[TradeScope]) -> int | None:
    """The latest year with data for any of the flows, or None."""
    latest = [p for s in scopes if (p := await tq.latest_period(session, s)) is not None]
    return max(latest) // 100 if latest else None
