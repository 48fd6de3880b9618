"""The arithmetic of /compare: each line's figure per year in the measure asked for, its multiple of the base
year, and the gap between the two reports of one flow.

Every comparison goes through `commands.basis.compare`, the one rule for months missing in either year that
/exports and /top use (`MISSING_MONTHS_RULE`): so a /compare multiple equals the /exports one for the same
flow, years and months. The gap between two reports compares the same months of one year, the other report
standing where the base year stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from commands.basis import Basis, Comparison, compare
from commands.measures import Measure
from commands.series import amounts_by_period
from commands.trade_common import possessive
from db.lookups import Country
from db.queries.trade import Amount, add_amounts
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
    amounts: dict[int, Amount]

    @property
    def freq(self) -> str | None:
        return self.series.chosen.freq if self.series else None

    @property
    def label(self) -> str:
        """`Russia (China's report)`: the listed country and who reported the figures."""
        return f"{self.country.name} ({possessive(self.reporter.name)} report)"


def line_from_series(
    country: Country,
    reporter: Country,
    partner: Country,
    flow: str,
    series: LineSeries | None,
    *,
    mirror: bool,
) -> Line:
    amounts = amounts_by_period(series.rows) if series else {}
    return Line(country, reporter, partner, flow, mirror, series, amounts)


def month_span(months: tuple[int, int] | None) -> range:
    first, last = months or (1, 12)
    return range(first, last + 1)


def year_figure(line: Line, year: int, months: tuple[int, int] | None, measure: Measure) -> float | None:
    """The year's figure over the months asked for that carry the measure (an annual source: its annual
    total, and nothing when months are asked for)."""
    if line.freq == "A":
        return measure.of(line.amounts.get(year * 100)) if months is None else None
    return measure.total(a for m in month_span(months) if (a := line.amounts.get(year * 100 + m)) is not None)


def months_with(line: Line, year: int, months: tuple[int, int] | None, measure: Measure) -> int:
    return sum(measure.of(line.amounts.get(year * 100 + m)) is not None for m in month_span(months))


def against_base(
    line: Line, year: int, base: int, months: tuple[int, int] | None, measure: Measure
) -> Comparison | None:
    """The line's year against its base year under the one rule; None without data, or for months of an
    annual source."""
    if line.freq is None or (line.freq == "A" and months is not None) or year == base:
        return None
    first, last = months or (1, 12)
    return compare(line.amounts, Basis(year, base, first, last, base_defaulted=False), measure, line.freq)


def _annual(line: Line, year: int, measure: Measure) -> Amount | None:
    """An annual total, or 12 months that all carry the measure added up (else nothing to set against one)."""
    if line.freq == "A":
        return line.amounts.get(year * 100)
    months = [line.amounts.get(year * 100 + m) for m in range(1, 13)]
    if any(measure.of(a) is None for a in months):
        return None
    return add_amounts(a for a in months if a is not None)


def gap(
    direct: Line, other: Line, year: int, months: tuple[int, int] | None, measure: Measure
) -> Comparison | None:
    """The other side's report of the flow against the asked side's, in one year, under the same rule (the asked
    report stands where the base year stands). None when they cannot be set side by side."""
    if direct.freq is None or other.freq is None:
        return None
    first, last = months or (1, 12)
    basis = Basis(year, year - 1, first, last, base_defaulted=False)
    if direct.freq == "M" and other.freq == "M":
        merged = {p: a for p, a in other.amounts.items() if p // 100 == year}
        merged |= {p - 100: a for p, a in direct.amounts.items() if p // 100 == year}
        return compare(merged, basis, measure, "M")
    if months is not None:
        return None
    now, base = _annual(other, year, measure), _annual(direct, year, measure)
    merged = {k: a for k, a in ((year * 100, now), ((year - 1) * 100, base)) if a is not None}
    return compare(merged, basis, measure, "A")


def gap_words(comparison: Comparison) -> str:
    """The rule's words, said of two reports instead of two years."""
    return comparison.rule_words().replace("both years", "both reports")


def pairs(lines: Sequence[Line]) -> list[tuple[Line, Line]]:
    """(asked line, the other side's report) for every flow loaded from both sides."""
    out = []
    for i, line in enumerate(lines):
        before = lines[i - 1] if i > 0 else None
        if (
            line.mirror
            and before is not None
            and before.country == line.country
            and line.series
            and before.series
        ):
            out.append((before, line))
    return out
