"""Charts and tables: PNG signature and size (not pixels), unit choice, CSV cells, the /exports arithmetic."""

from __future__ import annotations

import csv
import io
import struct

import pytest

from commands.charts import annual_comparison_chart, monthly_comparison_chart, pick_unit, ranking_chart
from commands.series import monthly_stats
from commands.tables import csv_bytes, monospace_table
from commands.trade_common import fmt_multiple, fmt_pct, fmt_usd

PNG = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_monthly_chart_with_gaps() -> None:
    current = [1.2e6, None, 3.4e6, 2.0e6, None, 1.0e6, 1.1e6, 1.3e6, 0.9e6, 2.2e6, 2.5e6, 3.0e6]
    previous = [0.5e6] * 11 + [None]
    data = monthly_comparison_chart(
        title="t",
        subtitle="s",
        source="Source: test",
        current=current,
        previous=previous,
        current_label="2023",
        previous_label="2022",
        previous_average=0.5e6,
    )
    assert data[:8] == PNG and len(data) > 20_000
    width, height = png_size(data)
    assert width / height == pytest.approx(16 / 9, rel=0.01) and width >= 800


def test_ranking_and_annual_charts() -> None:
    ranking = ranking_chart(
        title="t",
        subtitle="s",
        source="Source: test",
        labels=["Poland", "South Korea"],
        values=[3.2e8, 2.7e8],
        notes=["21.4% · -13.7% y/y", "18.0% · -11.1% y/y"],
    )
    annual = annual_comparison_chart(
        title="t", subtitle="s", source="x", labels=["2022", "2023"], values=[None, 5.0e6]
    )
    for data in (ranking, annual):
        assert data[:8] == PNG and len(data) > 10_000


@pytest.mark.parametrize(
    ("values", "axis"),
    [
        ([5e5, 9e5], "US$ thousand"),
        ([5e5, 2e6], "US$ million"),
        ([3e9], "US$ billion"),
        ([None], "US$ million"),
    ],
)
def test_unit(values: list[float | None], axis: str) -> None:
    assert pick_unit(values).axis == axis


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "no data"), (616.0, "$616"), (491_500.0, "$491.5K"), (8_412_049.0, "$8.41M"), (1.53e9, "$1.53B")],
)
def test_usd(value: float | None, text: str) -> None:
    assert fmt_usd(value) == text


def test_pct_and_multiple() -> None:
    assert fmt_pct(35.07) == "+35.1%" and fmt_pct(-2.0) == "-2.0%" and fmt_pct(None) == "n/a"
    assert fmt_multiple(2.6) == "2.6x" and fmt_multiple(412.3) == "412x" and fmt_multiple(None) == "n/a"


def test_csv_cells() -> None:
    data = csv_bytes(["name", "value"], [["=HYPERLINK(1)", 10200.0], ["Russia", None], ["x", 1.5]])
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert rows == [["name", "value"], ["'=HYPERLINK(1)", "10200.0"], ["Russia", ""], ["x", "1.5"]]


def test_monospace_table() -> None:
    table = monospace_table(
        ["#", "Partner", "Value"],
        [["1", "Poland", "$326M"], ["10", "Taiwan", "$16.5M"]],
        right=[True, False, True],
    )
    lines = table.splitlines()
    assert lines[0] == lines[-1] == "```"
    assert lines[2] == " 1  Poland    $326M" and lines[3] == "10  Taiwan   $16.5M"


def test_monthly_stats_arithmetic() -> None:
    """Made-up numbers to pin the rules (not data): gaps, like-for-like change, the "x times" multiple."""
    values = {202201 + m: 100.0 for m in range(12)} | {202301: 150.0, 202302: 400.0, 202303: None}
    stats = monthly_stats(values, 2023)
    assert stats.months_with_data == 2 and stats.previous_months_with_data == 12
    assert stats.total_usd == 550.0 and stats.previous_total_usd == 1200.0
    assert stats.yoy_basis == "the 2 months with data in both years"
    assert stats.yoy_change_pct == pytest.approx((550 / 200 - 1) * 100)
    assert stats.peak_period == 202302 and stats.multiple_of_previous_monthly_average == pytest.approx(4.0)
    assert [m.value_usd for m in stats.months[:4]] == [150.0, 400.0, None, None]
    empty = monthly_stats({}, 2023)
    assert empty.total_usd is None and empty.yoy_change_pct is None and empty.peak_period is None


def test_ranking_table_fits_one_discord_field() -> None:
    """Ten long HS names with large values and growth still fit the 1024-character field limit."""
    from commands.ranking import rank, ranking_table

    names = {
        f"{8400 + i}": f"{8400 + i} Machinery; parts thereof, of a kind used with very long names"
        for i in range(12)
    }
    current = {k: 1.23e9 * (i + 1) for i, k in enumerate(names)}
    previous = {k: 1.0e6 for k in names}
    table = ranking_table(rank(current, previous, names, total_basis="sum"), 2023, "HS-4", name_width=26)
    assert len(table) <= 1024 and len(table.splitlines()) == 13
