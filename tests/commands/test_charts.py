"""Charts and tables: PNG signature and size (not pixels), unit choice, CSV cells, the /exports arithmetic."""

from __future__ import annotations

import csv
import io
import struct
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from commands import charts as charts_module
from commands.charts import annual_comparison_chart, monthly_comparison_chart, pick_unit, ranking_chart
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


def drawn_texts(monkeypatch: pytest.MonkeyPatch, draw: Any) -> list[str]:
    """Every visible text of the figure a chart function drew (title, legend, ticks, labels ...)."""
    figures: list[Figure] = []
    real = charts_module.figure_png

    def keep(fig: Figure) -> bytes:
        figures.append(fig)
        return real(fig)

    monkeypatch.setattr(charts_module, "figure_png", keep)
    assert draw()[:8] == PNG
    (fig,) = figures
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def test_monthly_chart_draws_every_element(monkeypatch: pytest.MonkeyPatch) -> None:
    current = [1.2e6, None, 3.4e6, 2.0e6, None, 1.0e6, 1.1e6, 1.3e6, 0.9e6, 2.2e6, 2.5e6, 3.0e6]
    texts = drawn_texts(
        monkeypatch,
        lambda: monthly_comparison_chart(
            title="Exports of graphite", subtitle="HS 2504", source="Source: UN Comtrade",
            current=current, previous=[0.5e6] * 11 + [None], current_label="2023", previous_label="2022",
            previous_average=0.5e6,
        ),
    )  # fmt: skip
    for text in ("Exports of graphite", "HS 2504", "Source: UN Comtrade", "2022", "2023", "2022 monthly average",
                 "peak Mar: $3.40M", "US$ million", "Jan", "Dec"):  # fmt: skip
        assert text in texts, text
    assert texts.count("no data") == 3  # two months of this year, one of the previous


def test_ranking_chart_draws_every_value_label(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = drawn_texts(
        monkeypatch,
        lambda: ranking_chart(
            title="Top partners", subtitle="s", source="Source: test", labels=["Poland", "South Korea"],
            values=[3.2e8, 2.7e8], notes=["21.4% · -13.7% y/y", "18.0% · -11.1% y/y"],
        ),
    )  # fmt: skip
    for text in ("Top partners", "Source: test", "Poland", "South Korea", "US$ million",
                 "  $320M  21.4% · -13.7% y/y", "  $270M  18.0% · -11.1% y/y"):  # fmt: skip
        assert text in texts, text


def test_annual_chart_marks_a_missing_year(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = drawn_texts(
        monkeypatch,
        lambda: annual_comparison_chart(
            title="t", subtitle="s", source="x", labels=["2022", "2023"], values=[None, 5.0e6]
        ),
    )
    assert "no data" in texts and "$5.00M" in texts and "2022" in texts and "2023" in texts


def _monthly(i: int) -> bytes:
    values = [None if (m + i) % 5 == 0 else (m + 1) * 1.1e6 * (i + 1) for m in range(12)]
    return monthly_comparison_chart(
        title=f"Chart {i}",
        subtitle="s",
        source="Source: test",
        current=values,
        previous=values[::-1],
        current_label="2023",
        previous_label="2022",
        previous_average=1e6,
    )


def _ranking(n: int) -> bytes:
    return ranking_chart(
        title=f"Top {n}",
        subtitle="s",
        source="Source: test " * n,
        labels=[f"Partner number {i}" * (1 + n % 2) for i in range(n)],
        values=[1e9 / (i + 1) ** n for i in range(n)],
        notes=[f"{i}%" for i in range(n)],
    )


def _no_average() -> bytes:
    return monthly_comparison_chart(
        title="t", subtitle="s", source="x", current=[None] * 12, previous=[5e9] * 12,
        current_label="2023", previous_label="2022",
    )  # fmt: skip


def test_the_same_chart_twice_is_the_same_png() -> None:
    """Nothing of one chart stays behind for the next (fewer rows, no average line, other units, no peak)."""
    charts = [_monthly(0), _ranking(10), _no_average(), _ranking(2), _monthly(0), _ranking(10)]
    assert charts[0] == charts[4] and charts[1] == charts[5]
    assert [_no_average(), _ranking(2)] == charts[2:4]


def test_charts_drawn_in_threads_equal_charts_drawn_alone() -> None:
    """Charts are drawn concurrently (asyncio.to_thread): each draws its own figure."""
    alone = [_monthly(i) for i in range(6)]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(_monthly, [*range(6), *range(6)]))
    assert together == alone + alone


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


def test_ranking_table_fits_one_discord_field() -> None:
    """Ten long HS names with large values and growth still fit the 1024-character field limit."""
    from commands.basis import make_basis
    from commands.measures import VALUE
    from commands.ranking import rank, ranking_table
    from db.queries.trade import Amount

    names = {
        f"{8400 + i}": f"{8400 + i} Machinery; parts thereof, of a kind used with very long names"
        for i in range(12)
    }
    series = {k: {202300: Amount(1.23e9 * (i + 1)), 202200: Amount(1.0e6)} for i, k in enumerate(names)}
    basis = make_basis(2023)
    table = ranking_table(
        rank(series, names, basis, VALUE, "A", total_basis="sum"), basis, "HS-4", name_width=26
    )
    assert len(table) <= 1024 and len(table.splitlines()) == 13


def test_a_span_of_months_draws_only_its_months(monkeypatch: pytest.MonkeyPatch) -> None:
    """`months=3-5`: the chart shows March to May, its own peak and the base span's average, as the text does."""
    texts = drawn_texts(
        monkeypatch,
        lambda: monthly_comparison_chart(
            title="Exports of graphite", subtitle="HS 2504", source="Source: UN Comtrade",
            current=[1.0e6, 4.0e6, 2.0e6], previous=[0.5e6, None, 0.7e6], current_label="Mar–May 2023",
            previous_label="Mar–May 2022", previous_average=0.6e6, first_month=3,
        ),
    )  # fmt: skip
    for text in ("Mar", "Apr", "May", "peak Apr: $4.00M", "Mar–May 2022 monthly average"):
        assert text in texts, text
    assert not {"Jan", "Feb", "Jun", "Dec"} & set(texts)
    assert texts.count("no data") == 1
