"""The one comparison rule (commands.basis) and the measures (commands.measures), on made-up numbers that pin
the rules (not data): missing months, spans, any base year, the peak against the trailing 12 months."""

from __future__ import annotations

import pytest

from commands.basis import MISSING_MONTHS_RULE, compare, make_basis, month_list, parse_months, peak, shift
from commands.errors import InvalidInput
from commands.measures import VALUE, parse_measure
from db.queries.trade import Amount


def test_parse_months_and_vs() -> None:
    assert parse_months("1-5") == (1, 5) and parse_months("jan-may") == (1, 5) and parse_months("3") == (3, 3)
    assert parse_months("7–12") == (7, 12) and parse_months(None) is None
    for bad in ("5-1", "0-3", "1-13", "spring"):
        with pytest.raises(InvalidInput):
            parse_months(bad)
    basis = make_basis(2022, "2021", (1, 5))
    assert (basis.base_year, basis.span(), basis.span(2021)) == (2021, "Jan–May 2022", "Jan–May 2021")
    assert make_basis(2023).base_year == 2022 and make_basis(2023, 2017).base_year == 2017
    with pytest.raises(InvalidInput, match="the year asked for"):
        make_basis(2023, 2023)


def test_shift_and_month_list() -> None:
    assert shift(202301, -1) == 202212 and shift(202312, 1) == 202401 and shift(202305, -12) == 202205
    assert month_list([1, 2, 3, 5, 7, 8]) == "Jan–Mar, May, Jul–Aug"


def test_missing_months_are_left_out_of_both_years() -> None:
    values = {202201 + m: Amount(100.0) for m in range(12)} | {202301: Amount(150.0), 202302: Amount(400.0)}
    c = compare(values, make_basis(2023), VALUE, "M")
    assert c.total == 550.0 and c.base_total == 1200.0  # totals in full
    assert c.compared == (1, 2) and c.base_compared == 200.0  # the change: Jan and Feb only
    assert c.multiple == pytest.approx(2.75) and c.change_pct == pytest.approx(175.0)
    assert c.rule_words() == "the 2 of 12 months with data in both years: Jan–Feb"
    assert c.quote() == "2.8× 2022 by value (the 2 of 12 months with data in both years: Jan–Feb)"
    assert "both years" in MISSING_MONTHS_RULE


def test_any_base_year_and_a_span() -> None:
    values = {202101 + m: Amount(10.0) for m in range(12)} | {202301 + m: Amount(38.0) for m in range(5)}
    c = compare(values, make_basis(2023, 2021, (1, 5)), VALUE, "M")
    assert c.multiple == pytest.approx(3.8) and c.compared == (1, 2, 3, 4, 5)
    assert c.quote() == "3.8× Jan–May 2021 by value (all 5 months in both years)"
    none = compare(values, make_basis(2023, 2019), VALUE, "M")
    assert none.multiple is None and none.rule_words() == "no month with data in both years"


def test_annual_comparison() -> None:
    c = compare({202200: Amount(82.0), 202100: Amount(72.7)}, make_basis(2022), VALUE, "A")
    assert c.multiple == pytest.approx(82.0 / 72.7) and c.rule_words() == "annual totals"


def test_peak_against_the_trailing_twelve_months() -> None:
    values = {202201 + m: Amount(100.0) for m in range(12)} | {202301: Amount(150.0), 202302: Amount(400.0)}
    top = peak(values, make_basis(2023), VALUE)
    assert top is not None and top.period == 202302 and top.trailing_months == 12
    # the 12 months before Feb 2023: Feb-Dec 2022 (11 x 100) and Jan 2023 (150)
    assert top.trailing_average == pytest.approx(1250 / 12) and top.multiple == pytest.approx(
        400 / (1250 / 12)
    )
    assert top.words(VALUE).startswith("Peak month: February 2023 at $400, 3.8× the average of the 12 months")


def test_measures_never_count_a_missing_weight_as_zero() -> None:
    weight, unit_value, quantity = parse_measure("weight"), parse_measure("unit-value"), parse_measure("qty")
    full = Amount(1000.0, 250.0, 250.0, "kg")
    no_weight = Amount(500.0)
    assert weight.of(no_weight) is None and weight.of(full) == 250.0
    assert (full + no_weight).weight_kg is None  # a period with one code unweighed has no weight
    assert unit_value.of(full) == 4.0 and unit_value.total([full, no_weight]) == 4.0
    assert weight.fmt(1_234_000.0) == "1,234 t" and weight.fmt(512.0) == "512 kg"
    assert unit_value.fmt(4.0) == "$4.00/kg"
    with pytest.raises(InvalidInput, match="several units"):
        quantity.with_unit([Amount(1.0, None, 5.0, "kg"), Amount(1.0, None, 7.0, "u")])
    with pytest.raises(InvalidInput, match="Unknown measure"):
        parse_measure("volume of water")
    values = {202201 + m: Amount(100.0, 10.0) for m in range(12)} | {202301: Amount(300.0, None)}
    c = compare(values, make_basis(2023), weight, "M")
    assert c.total is None and c.months_with_data == () and c.multiple is None
