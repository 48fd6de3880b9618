"""The comparison basis of every trade answer: a year, or a span of its months, against a base year.

ONE rule for months missing in either year (`MISSING_MONTHS_RULE`), used by /exports, /top and /compare
alike, so the same flow and period always give the same change: a change or multiple is computed only over
the months of the span that have data in BOTH the year and the base year; a month missing in either is left
out of both sides, and the answer names the months compared. Totals of the year are still shown in full.

The peak month is set against the average of the 12 months before it (the months with data among them).

Pure functions over `Amount`s per period (YYYYMM, or YYYY00 for annual data), with a `Measure`, so tests can
check every figure and other commands can reuse them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from commands.errors import InvalidInput
from commands.measures import Measure
from commands.resolve import parse_year
from db.queries.trade import Amount

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
MISSING_MONTHS_RULE = (
    "Changes and multiples use only the months with data in both years; a month missing in either year "
    "is left out of both."
)
TRAILING_MONTHS = 12
_MONTH_WORDS = {name.lower(): i + 1 for i, name in enumerate(MONTHS)} | {
    name.lower(): i + 1 for i, name in enumerate(MONTH_NAMES)
}


def month_number(text: str) -> int:
    """`5`, `05`, `may`, `May` -> 5.

    Raises:
        InvalidInput: not a month.
    """
    word = text.strip().lower()
    number = int(word) if word.isdigit() else _MONTH_WORDS.get(word, 0)
    if not 1 <= number <= 12:
        raise InvalidInput(
            f"{text!r} is not a month.", "Months are 1 to 12 (or Jan to Dec), e.g. months=1-5."
        )
    return number


def parse_months(value: str | None) -> tuple[int, int] | None:
    """`1-5`, `jan-may`, `3` (one month), `1–12` -> (first, last); None when not given.

    Raises:
        InvalidInput: not a span of months, or a span that runs backwards.
    """
    if value is None or not str(value).strip():
        return None
    parts = [p for p in re.split(r"\s*(?:-|–|—|\.\.|to)\s*", str(value).strip()) if p]
    if len(parts) not in (1, 2):
        raise InvalidInput(f"{value!r} is not a span of months.", "Write months=FROM-TO, e.g. months=1-5.")
    first, last = month_number(parts[0]), month_number(parts[-1])
    if first > last:
        raise InvalidInput(
            f"months={value} runs backwards.", "A span stays within one year, e.g. months=1-5 or months=7-12."
        )
    return first, last


@dataclass(frozen=True)
class Basis:
    """What an answer compares: `year` (its months `first`..`last`) against the same months of `base_year`."""

    year: int
    base_year: int
    first: int = 1
    last: int = 12
    base_defaulted: bool = True

    @property
    def months(self) -> range:
        return range(self.first, self.last + 1)

    @property
    def whole_year(self) -> bool:
        return (self.first, self.last) == (1, 12)

    def span(self, year: int | None = None) -> str:
        """`2023`, `May 2023`, `Jan–May 2023` (for `year`, default the basis year)."""
        y = self.year if year is None else year
        if self.whole_year:
            return str(y)
        if self.first == self.last:
            return f"{MONTHS[self.first - 1]} {y}"
        return f"{MONTHS[self.first - 1]}–{MONTHS[self.last - 1]} {y}"

    def month_periods(self, year: int) -> list[int]:
        return [year * 100 + m for m in self.months]

    def periods(self, freq: str) -> list[int]:
        """The periods a query must read: both whole years (charts show them) and the 12 months before the span."""
        if freq == "A":
            return sorted({self.year * 100, self.base_year * 100})
        trailing = [shift(self.year * 100 + self.first, -k) for k in range(1, TRAILING_MONTHS + 1)]
        whole = [y * 100 + m for y in (self.year, self.base_year) for m in range(1, 13)]
        return sorted({*whole, *trailing})


def shift(period: int, months: int) -> int:
    """202301 shifted by -1 -> 202212."""
    index = (period // 100) * 12 + period % 100 - 1 + months
    return (index // 12) * 100 + index % 12 + 1


def make_basis(year: int, vs: int | str | None = None, months: tuple[int, int] | None = None) -> Basis:
    """The basis for `year` against `vs` (default the year before), over `months` (default the whole year).

    Raises:
        InvalidInput: a base year equal to the year, or not a year.
    """
    base = parse_year(vs) if vs not in (None, "") else year - 1
    if base == year:
        raise InvalidInput(
            f"vs={base} is the year asked for.", f"Compare with another year, e.g. vs={year - 1}."
        )
    first, last = months or (1, 12)
    return Basis(year, base, first, last, base_defaulted=vs in (None, ""))


def month_list(months: list[int]) -> str:
    """[1, 2, 3, 5] -> `Jan–Mar, May`."""
    parts: list[str] = []
    run: list[int] = []
    for m in [*months, 99]:
        if run and m == run[-1] + 1:
            run.append(m)
            continue
        if run:
            parts.append(
                MONTHS[run[0] - 1] if len(run) == 1 else f"{MONTHS[run[0] - 1]}–{MONTHS[run[-1] - 1]}"
            )
        run = [m]
    return ", ".join(parts)


@dataclass(frozen=True)
class Comparison:
    """The span against the base: totals, the months compared under the rule, the multiple and change."""

    basis: Basis
    measure: Measure
    freq: str
    total: float | None  # the span of the year, every month with the measure
    base_total: float | None  # the span of the base year, every month with the measure
    months_with_data: tuple[int, ...] = ()
    base_months_with_data: tuple[int, ...] = ()
    compared: tuple[int, ...] = ()  # months with data in both years (the rule)
    total_compared: float | None = None
    base_compared: float | None = None

    @property
    def multiple(self) -> float | None:
        if self.total_compared is None or not self.base_compared:
            return None
        return self.total_compared / self.base_compared

    @property
    def change_pct(self) -> float | None:
        multiple = self.multiple
        return None if multiple is None else (multiple - 1.0) * 100.0

    @property
    def all_months_compared(self) -> bool:
        return self.freq == "A" or len(self.compared) == len(self.basis.months)

    def rule_words(self) -> str:
        """Which months the multiple rests on, in words (`annual totals`, `all 12 months`, or the list)."""
        if self.freq == "A":
            return "annual totals"
        n = len(self.basis.months)
        if self.all_months_compared:
            return f"all {n} months in both years" if n > 1 else "the month in both years"
        if not self.compared:
            return "no month with data in both years"
        return f"the {len(self.compared)} of {n} months with data in both years: {month_list(list(self.compared))}"

    def quote(self) -> str:
        """The sentence a reporter can quote: `3.8× 2021 by weight (Jan–May, all 5 months in both years)`."""
        base = self.basis.span(self.basis.base_year)
        if self.multiple is None:
            return f"no multiple of {base} {self.measure.by} ({self.rule_words()})"
        return f"{fmt_times(self.multiple)} {base} {self.measure.by} ({self.rule_words()})"

    def to_numbers(self) -> dict[str, object]:
        return {
            "year": self.basis.year,
            "base_year": self.basis.base_year,
            "months": [self.basis.first, self.basis.last],
            "measure": self.measure.key,
            "unit": self.measure.unit,
            "total": self.total,
            "base_total": self.base_total,
            "months_with_data": list(self.months_with_data),
            "base_months_with_data": list(self.base_months_with_data),
            "months_compared": list(self.compared),
            "total_compared": self.total_compared,
            "base_compared": self.base_compared,
            "multiple": self.multiple,
            "change_pct": self.change_pct,
            "rule": MISSING_MONTHS_RULE,
        }


def fmt_times(multiple: float | None) -> str:
    """`3.8×`, `412×`, `0.52×`; `n/a` for None."""
    if multiple is None:
        return "n/a"
    if multiple >= 100:
        return f"{multiple:,.0f}×"
    if multiple >= 1:
        return f"{multiple:,.1f}×"
    return f"{multiple:.2f}×"


def compare(amounts: Mapping[int, Amount], basis: Basis, measure: Measure, freq: str) -> Comparison:
    """The span of the year against the base year under the one missing-months rule."""
    if freq == "A":
        now, base = amounts.get(basis.year * 100), amounts.get(basis.base_year * 100)
        total, base_total = measure.of(now), measure.of(base)
        both = total is not None and base_total is not None
        return Comparison(
            basis, measure, freq, total, base_total, total_compared=total if both else None,
            base_compared=base_total if both else None,
        )  # fmt: skip
    now_m = {m: amounts.get(basis.year * 100 + m) for m in basis.months}
    base_m = {m: amounts.get(basis.base_year * 100 + m) for m in basis.months}
    have = tuple(m for m in basis.months if measure.of(now_m[m]) is not None)
    base_have = tuple(m for m in basis.months if measure.of(base_m[m]) is not None)
    compared = tuple(m for m in have if m in base_have)
    return Comparison(
        basis,
        measure,
        freq,
        measure.total(a for m in have if (a := now_m[m]) is not None),
        measure.total(a for m in base_have if (a := base_m[m]) is not None),
        have,
        base_have,
        compared,
        measure.total(a for m in compared if (a := now_m[m]) is not None) if compared else None,
        measure.total(a for m in compared if (a := base_m[m]) is not None) if compared else None,
    )


@dataclass(frozen=True)
class Peak:
    """The highest month of the span and the average of the 12 months before it."""

    period: int
    figure: float
    trailing_average: float | None
    trailing_months: int  # months with data among the 12 before

    @property
    def multiple(self) -> float | None:
        return None if self.trailing_average in (None, 0) else self.figure / (self.trailing_average or 1.0)

    def words(self, measure: Measure) -> str:
        """`Peak: March 2023 at 1,234 t, 2.4× the average of the 12 months before (510 t a month)`."""
        month = f"{MONTH_NAMES[self.period % 100 - 1]} {self.period // 100}"
        text = f"Peak month: {month} at {measure.fmt(self.figure)}"
        if self.trailing_average is None:
            return text + "; no data in the 12 months before it to compare with."
        per = "" if not measure.additive else " a month"
        months = (
            "the 12 months before"
            if self.trailing_months == TRAILING_MONTHS
            else f"the {self.trailing_months} months with data among the 12 before"
        )
        return (
            f"{text}, {fmt_times(self.multiple)} the average of {months} "
            f"({measure.fmt(self.trailing_average)}{per})."
        )

    def to_numbers(self) -> dict[str, object]:
        return {
            "period": f"{self.period // 100}-{self.period % 100:02d}",
            "figure": self.figure,
            "trailing_average": self.trailing_average,
            "trailing_months_with_data": self.trailing_months,
            "multiple_of_trailing_average": self.multiple,
        }


def peak(amounts: Mapping[int, Amount], basis: Basis, measure: Measure) -> Peak | None:
    """The peak month of the span (ties: the earliest), against the 12 months before it."""
    figures = [
        (p, f) for p in basis.month_periods(basis.year) if (f := measure.of(amounts.get(p))) is not None
    ]
    if not figures:
        return None
    period, figure = max(figures, key=lambda pf: (pf[1], -pf[0]))
    before = [a for k in range(1, TRAILING_MONTHS + 1) if (a := amounts.get(shift(period, -k))) is not None]
    before = [a for a in before if measure.of(a) is not None]
    return Peak(period, figure, measure.average(before), len(before))
