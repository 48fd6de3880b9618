"""Trade values per partner, HS code and period for a set of partners: what /brief's movers sum."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import TradeFlow
from db.queries.trade import (
    MAX_RANKING_ROWS,
    Periods,
    TradeScope,
    _level_filters,
    _period_filter,
    _scope_filters,
)


@dataclass(frozen=True)
class PartnerCodeValue:
    partner: int
    hs_code: str
    hs_level: int
    period: int
    value_usd: float | None
    snapshot_id: int


async def partner_code_values(
    session: AsyncSession,
    scope: TradeScope,
    partners: Sequence[int],
    source_id: int,
    freq: str,
    levels: dict[str, int],
    periods: Periods,
) -> list[PartnerCodeValue]:
    """Values of the chosen levels under each prefix, per partner, code and period, from one source.

    Args:
        scope: reporter, flow and prefixes (its partner is ignored: `partners` names them, at most 300).
        levels: prefix -> the level to sum (the no-double-counting rule, db.queries.trade.coarsest_levels).
    """
    if not levels or not partners:
        return []
    wide = TradeScope(scope.reporter, scope.flow, scope.prefixes)
    stmt = (
        select(
            TradeFlow.partner,
            TradeFlow.hs_code,
            TradeFlow.hs_level,
            TradeFlow.period,
            TradeFlow.snapshot_id,
            TradeFlow.value_usd,
        )
        .where(*_scope_filters(wide), TradeFlow.partner.in_(sorted(set(partners))[:300]))
        .where(TradeFlow.source_id == source_id, TradeFlow.freq == freq)
        .where(_period_filter(periods), _level_filters(levels))
        .limit(MAX_RANKING_ROWS)
    )
    return [
        PartnerCodeValue(int(p), str(c), int(lv), int(per), float(v) if v is not None else None, int(s))
        for p, c, lv, per, s, v in (await session.execute(stmt)).all()
    ]


async def monthly_history(
    session: AsyncSession,
    scope: TradeScope,
    source_id: int,
    levels: dict[str, int],
    last_period: int,
    partners: Sequence[int] | None = None,
) -> dict[tuple[int, int], float]:
    """Every month's value up to `last_period` per (partner, period), from one monthly source: what the anomaly
    flags (commands/anomalies.py) hold a month against. `partners` (at most 300) narrows a scope without one."""
    if not levels:
        return {}
    stmt = (
        select(TradeFlow.partner, TradeFlow.period, func.sum(TradeFlow.value_usd))
        .where(*_scope_filters(scope), TradeFlow.source_id == source_id, TradeFlow.freq == "M")
        .where(TradeFlow.period.between(0, last_period), _level_filters(levels))
        .group_by(TradeFlow.partner, TradeFlow.period)
        .limit(MAX_RANKING_ROWS)
    )
    if partners is not None:
        stmt = stmt.where(TradeFlow.partner.in_(sorted(set(partners))[:300]))
    return {
        (int(p), int(per)): float(v) for p, per, v in (await session.execute(stmt)).all() if v is not None
    }
