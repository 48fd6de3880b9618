"""The arithmetic of /exports: a year's monthly values against the previous year's, with missing months kept
missing (None), never filled with zeros. Pure functions on plain numbers, so tests can check every figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from commands.trade_common import pct_change, period_label
from db.queries.trade import CodeValue


@dataclass(frozen=True)
class MonthValue:
    """One calendar month of the year and the same month a year earlier."""

    month: int
    period: int
    value_usd: float | None
    previous_value_usd: float | None
    multiple_of_previous_monthly_average: float | None


@dataclass(frozen=True)
class SeriesStats:
    """Totals, change, peak and the "x times" multiple for one year against the previous one."""

    year: int
    freq: str
    months: list[MonthValue] = field(default_factory=list)
    total_usd: float | None = None
    previous_total_usd: float | None = None
    months_with_data: int = 0
    previous_months_with_data: int = 0
    yoy_change_pct: float | None = None
    yoy_basis: str = ""
    peak_period: int | None = None
    peak_value_usd: float | None = None
    previous_monthly_average_usd: float | None = None
    multiple_of_previous_monthly_average: float | None = None
    multiple_of_previous_total: float | None = None

    def to_numbers(self) -> dict[str, object]:
        """The machine-readable part of the reply (`--json`)."""
        return {
            "freq": self.freq,
            "months": [
                {
                    "period": period_label(m.period),
                    "value_usd": m.value_usd,
                    "previous_value_usd": m.previous_value_usd,
                    "multiple_of_previous_monthly_average": m.multiple_of_previous_monthly_average,
                }
                for m in self.months
            ],
            "total_usd": self.total_usd,
            "previous_total_usd": self.previous_total_usd,
            "months_with_data": self.months_with_data,
            "previous_months_with_data": self.previous_months_with_data,
            "yoy_change_pct": self.yoy_change_pct,
            "yoy_basis": self.yoy_basis,
            "peak": None
            if self.peak_period is None
            else {
                "period": period_label(self.peak_period),
                "value_usd": self.peak_value_usd,
            },
            "previous_monthly_average_usd": self.previous_monthly_average_usd,
            "multiple_of_previous_monthly_average": self.multiple_of_previous_monthly_average,
            "multiple_of_previous_total": self.multiple_of_previous_total,
        }


def sum_by_period(rows: Iterable[CodeValue]) -> dict[int, float | None]:
    """Add the codes of each period; a period whose values are all null stays None (no data)."""
    out: dict[int, float | None] = {}
    for row in rows:
        if row.value_usd is None:
            out.setdefault(row.period, None)
        else:
            out[row.period] = (out.get(row.period) or 0.0) + row.value_usd
    return out


def _sum(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _ratio(value: float | None, base: float | None) -> float | None:
    return None if value is None or not base else value / base


def monthly_stats(values: Mapping[int, float | None], year: int) -> SeriesStats:
    """Stats for monthly data (periods YYYYMM).

    Year-on-year change compares the full years when both have all 12 months; otherwise only the months
    with data in both years (and `yoy_basis` says so), so a half-loaded year is not compared with a full one.
    The previous year's monthly average is over the months with data.
    """
    cur = [values.get(year * 100 + m) for m in range(1, 13)]
    prev = [values.get((year - 1) * 100 + m) for m in range(1, 13)]
    n_cur, n_prev = sum(v is not None for v in cur), sum(v is not None for v in prev)
    total, prev_total = _sum(cur), _sum(prev)
    if n_cur == 12 and n_prev == 12:
        yoy, basis = pct_change(total, prev_total), "full year"
    else:
        both = [m for m in range(12) if cur[m] is not None and prev[m] is not None]
        yoy = pct_change(_sum(cur[m] for m in both), _sum(prev[m] for m in both)) if both else None
        basis = (
            f"the {len(both)} months with data in both years" if both else "no month with data in both years"
        )
    average = prev_total / n_prev if prev_total is not None and n_prev else None
    months = [
        MonthValue(m + 1, year * 100 + m + 1, cur[m], prev[m], _ratio(cur[m], average)) for m in range(12)
    ]
    peak = max((m for m in months if m.value_usd is not None), key=lambda m: m.value_usd or 0.0, default=None)
    return SeriesStats(
        year=year,
        freq="M",
        months=months,
        total_usd=total,
        previous_total_usd=prev_total,
        months_with_data=n_cur,
        previous_months_with_data=n_prev,
        yoy_change_pct=yoy,
        yoy_basis=basis,
        peak_period=peak.period if peak else None,
        peak_value_usd=peak.value_usd if peak else None,
        previous_monthly_average_usd=average,
        multiple_of_previous_monthly_average=_ratio(peak.value_usd, average) if peak else None,
        multiple_of_previous_total=_ratio(total, prev_total),
    )


def annual_stats(values: Mapping[int, float | None], year: int) -> SeriesStats:
    """Stats for annual data (periods YYYY00): totals and change only; no months, no peak."""
    total, prev_total = values.get(year * 100), values.get((year - 1) * 100)
    return SeriesStats(
        year=year,
        freq="A",
        total_usd=total,
        previous_total_usd=prev_total,
        months_with_data=0,
        previous_months_with_data=0,
        yoy_change_pct=pct_change(total, prev_total),
        yoy_basis="annual totals",
        multiple_of_previous_total=_ratio(total, prev_total),
    )
