"""Curated "reported figures" (what a newspaper or NGO published about a trade flow) for the trade answers.

The table is small (hand-written facts), so the query filters by period in SQL and leaves the HS and country
matching to `commands.cited`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ReportedFigure

MAX_FIGURES = 500


@dataclass(frozen=True)
class FigureRow:
    """One cited figure that names its goods (HS), countries, flow and months."""

    key: str
    subject: str
    statement: str
    value: float | None
    unit: str | None
    period: str | None
    hs_code: str
    commodity: str | None
    hs_note: str | None
    reporter: str | None
    partner: str | None
    flow: str | None
    period_from: int
    period_to: int
    citations: list[dict[str, Any]]


async def trade_figures(session: AsyncSession, first: int, last: int) -> list[FigureRow]:
    """Figures with an HS code whose months (YYYYMM) overlap `first`..`last`, oldest first."""
    f = ReportedFigure
    stmt = (
        select(f)
        .where(f.hs_code.is_not(None), f.period_from <= last, f.period_to >= first)
        .order_by(f.period_from, f.source_key)
        .limit(MAX_FIGURES)
    )
    rows = (await session.execute(stmt)).scalars().all()
    return [
        FigureRow(
            key=r.source_key,
            subject=r.subject,
            statement=r.statement,
            value=r.value,
            unit=r.unit,
            period=r.period,
            hs_code=r.hs_code or "",
            commodity=r.commodity,
            hs_note=r.hs_note,
            reporter=r.reporter,
            partner=r.partner,
            flow=r.flow,
            period_from=int(r.period_from or 0),
            period_to=int(r.period_to or 0),
            citations=_citations(r.citation),
        )
        for r in rows
    ]


def _citations(citation: dict[str, object] | None) -> list[dict[str, Any]]:
    """The bibliographic citations a curated figure keeps under `citations`."""
    items = (citation or {}).get("citations")
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
