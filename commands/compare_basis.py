"""The arithmetic of /compare: each line's value per year, its multiple of the base year, and the gap between the
two reports of one flow. Pure functions on plain numbers, so tests can check every figure.

The rule for months missing in either year is the one /exports states for its year-on-year change: two years
are compared over the full selection of months when both hold all of them, else over the months with data in
both (and the answer names them); an annual source compares annual totals. A missing month is never a zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from commands.charts import MONTHS
from commands.series import sum_by_period
from db.lookups import Country
from db.queries.trade_compare import LineSeries


@dataclass(frozen=True)
class Line:
    """One flow as one side reported it: `country` is the listed country the line belongs to."""

    country: Country
    reporter: Country
    partner: Country
    flow: str
    mirror: bool
    series: LineSeries | None
    values: dict[int, float | None]

    @property
    def freq(self) -> str | None:
        return self.series.chosen.freq if self.series else None

    @property
    def label(self) -> str:
        """`Russia (China's report)`: the listed country and who reported the figures."""
        return f"{self.country.name} ({_possessive(self.reporter.name)} report)"


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def line_from_series(
    country: Country,
    reporter: Country,
    partner: Country,
    flow: str,
    series: LineSeries | None,
    *,
    mirror: bool,
) -> Line:
    values = sum_by_period(series.rows) if series else {}
    return Line(country, reporter, partner, flow, mirror, series, values)


@dataclass(frozen=True)
class Compared:
    """Two amounts compared on one basis: `value` against `base`, over `months` (None: annual totals)."""

    value: float | None
    base: float | None
    months: tuple[int, ...] | None
    complete: bool

    @property
    def multiple(self) -> float | None:
        return None if self.value is None or not self.base else self.value / self.base

    @property
    def gap_pct(self) -> float | None:
        return None if self.value is None or not self.base else (self.value - self.base) / self.base * 100


def selected_months(months: tuple[int, int] | None) -> tuple[int, ...]:
    first, last = months or (1, 12)
    return tuple(range(first, last + 1))


def year_total(
    values: dict[int, float | None], year: int, freq: str | None, months: tuple[int, int] | None
) -> float | None:
    """The year's value over the selected months that have data (annual sources: the annual total)."""
    if freq == "A":
        return values.get(year * 100) if months is None else None
    present = [v for m in selected_months(months) if (v := values.get(year * 100 + m)) is not None]
    return sum(present) if present else None


def months_with_data(values: dict[int, float | None], year: int, months: tuple[int, int] | None) -> int:
    return sum(values.get(year * 100 + m) is not None for m in selected_months(months))


def compare_months(
    current: dict[int, float | None], current_year: int, base: dict[int, float | None], base_year: int,
    months: tuple[int, int] | None,
) -> Compared:  # fmt: skip
    """Monthly against monthly: the full selection when both hold it, else the months with data in both."""
    wanted = selected_months(months)
    cur = {m: current.get(current_year * 100 + m) for m in wanted}
    old = {m: base.get(base_year * 100 + m) for m in wanted}
    both = tuple(m for m in wanted if cur[m] is not None and old[m] is not None)
    if not both:
        return Compared(None, None, (), False)
    total = sum(cur[m] or 0.0 for m in both)
    base_total = sum(old[m] or 0.0 for m in both)
    return Compared(total, base_total, both, len(both) == len(wanted))


def compare_lines(
    line: Line, year: int, other: Line, other_year: int, months: tuple[int, int] | None
) -> Compared:
    """`line` in `year` against `other` in `other_year` (the same line for a multiple, the other report of the
    flow for a gap). An annual total is compared only with an annual total or with 12 months of data."""
    if line.freq == "M" and other.freq == "M":
        return compare_months(line.values, year, other.values, other_year, months)
    if line.freq is None or other.freq is None or months is not None:
        return Compared(None, None, None, False)

    def annual(x: Line, y: int) -> float | None:
        if x.freq == "A":
            return x.values.get(y * 100)
        return year_total(x.values, y, "M", None) if months_with_data(x.values, y, None) == 12 else None

    return Compared(annual(line, year), annual(other, other_year), None, True)


def basis_words(compared: Compared, months: tuple[int, int] | None) -> str:
    """How two figures were compared, in words an answer can print beside them."""
    if compared.months is None:
        return "annual totals"
    if not compared.months:
        return "no month with data in both"
    if compared.complete:
        return "full years" if months is None else f"{_span(months)} of both years"
    return f"only the {len(compared.months)} months with data in both ({', '.join(MONTHS[m - 1] for m in compared.months)})"


def _span(months: tuple[int, int]) -> str:
    first, last = months
    return MONTHS[first - 1] if first == last else f"{MONTHS[first - 1]}–{MONTHS[last - 1]}"


def pairs(lines: Sequence[Line]) -> list[tuple[Line, Line]]:
    """(asked line, its mirror) for every flow loaded from both sides."""
    out = []
    for i, line in enumerate(lines):
        if (
            line.mirror
            and i > 0
            and lines[i - 1].country == line.country
            and line.series
            and lines[i - 1].series
        ):
            out.append((lines[i - 1], line))
    return out
