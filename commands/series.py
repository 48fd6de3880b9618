"""One flow's series for /exports (and /compare): the source and levels chosen, the rows read, and the
comparison (commands.basis) of the year's span against the base year in one measure.

Missing months stay missing (no `Amount`, or an amount without the measure), never zeros.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from commands.basis import Basis, Comparison, Peak, compare, make_basis, peak
from commands.context import Context
from commands.measures import VALUE, Measure
from db.queries import trade as tq
from db.queries.trade import Amount, CodeValue, SourceCoverage, TradeScope, add_amounts


def amounts_by_period(rows: Iterable[CodeValue]) -> dict[int, Amount]:
    """Add the codes of each period (a period whose values are all null keeps a null value)."""
    out: dict[int, list[Amount]] = {}
    for row in rows:
        out.setdefault(row.period, []).append(row.totals)
    return {p: total for p, amounts in out.items() if (total := add_amounts(amounts)) is not None}


@dataclass(frozen=True)
class LoadedSeries:
    """Everything an answer about one flow is built from."""

    chosen: SourceCoverage
    coverage: list[SourceCoverage]
    levels_present: dict[str, list[int]]
    levels: dict[str, int]
    rows: list[CodeValue]
    basis: Basis
    measure: Measure
    amounts: dict[int, Amount]
    comparison: Comparison
    peak: Peak | None

    @property
    def freq(self) -> str:
        return self.chosen.freq

    @property
    def codes(self) -> list[str]:
        return sorted({r.hs_code for r in self.rows})

    def figure(self, period: int) -> float | None:
        return self.measure.of(self.amounts.get(period))

    def lacking(self, year: int) -> tuple[list[int], list[int]]:
        """Months of the span in `year`: (no rows at all, rows without the measure)."""
        months = self.basis.months
        absent = [m for m in months if year * 100 + m not in self.amounts]
        without = [
            m for m in months if year * 100 + m in self.amounts and self.figure(year * 100 + m) is None
        ]
        return absent, without

    @property
    def weight_from_qty(self) -> bool:
        return self.measure.key in ("weight", "unit-value") and any(
            a.weight_from_qty for a in self.amounts.values()
        )


async def load_series(
    ctx: Context,
    scope: TradeScope,
    basis: Basis | int,
    coverage: list[SourceCoverage],
    measure: Measure = VALUE,
) -> LoadedSeries:
    """Choose the source (monthly first), apply the level rule, read the rows and compare.

    Args:
        basis: the comparison basis, or a year (then against the year before, whole years).
        coverage: what each source holds for the basis year (`db.queries.trade.source_coverage`).
    Raises:
        InvalidInput: quantities in several units (`Measure.with_unit`).
    """
    basis = make_basis(basis) if isinstance(basis, int) else basis
    chosen = tq.choose_source(coverage, prefer_monthly=True)
    if chosen is None:
        raise ValueError("load_series needs the coverage of at least one source")
    periods = basis.periods(chosen.freq)
    present = await tq.levels_present(ctx.session, scope, chosen.source_id, chosen.freq, periods)
    levels = tq.coarsest_levels(present)
    rows = await tq.series_by_code(
        ctx.session, scope, chosen.source_id, chosen.freq, levels, periods, volumes=measure.needs_volumes
    )
    amounts = amounts_by_period(rows)
    measure = measure.with_unit(amounts.values())
    comparison = compare(amounts, basis, measure, chosen.freq)
    top = peak(amounts, basis, measure) if chosen.freq == "M" else None
    return LoadedSeries(chosen, coverage, present, levels, rows, basis, measure, amounts, comparison, top)
