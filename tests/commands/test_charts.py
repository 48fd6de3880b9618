"""Charts and tables: PNG signature and size (not pixels), unit choice, CSV cells, the /exports arithmetic."""

from __future__ import annotations

import csv
import io
import struct
from concurrent.futures import ThreadPoolExecutor

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from commands import charts as charts_module
from commands.chart_canvas import (
    TEXT_CACHE,
    ChartCanvas,
    ChartRenderer,
    FigurePool,
    _Raster,
    _TextCache,
    encode_png,
)
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


TEXTS = [
    ({"s": "Exports of graphite from Germany to Russia", "fontsize": 13, "fontweight": "bold", "va": "top"}),
    ({"s": "Source: UN Comtrade, data 2024-05-01;\nsecond line", "fontsize": 7.5, "linespacing": 1.3}),
    ({"s": "no data", "rotation": 90, "fontsize": 7.5, "ha": "center", "va": "bottom"}),
    ({"s": "$8.41M  31.2% · +45% y/y", "fontsize": 8.5, "ha": "right", "va": "center"}),
    ({"s": "Limited Liability\nCompany Sovtransavto", "ha": "center", "va": "center", "fontsize": 10}),
]


def _ink_box(canvas_class: type[FigureCanvasAgg], text: dict[str, object]) -> tuple[int, int, int, int]:
    fig = Figure(figsize=(5, 2), dpi=200, facecolor="white")
    canvas_class(fig)
    fig.text(0.5, 0.5, **text)  # type: ignore[arg-type]
    fig.canvas.draw()
    ys, xs = np.nonzero(np.asarray(fig.canvas.buffer_rgba())[..., 0] < 128)
    return int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())


@pytest.mark.parametrize("text", TEXTS)
def test_chart_text_lands_where_matplotlib_puts_it(text: dict[str, object]) -> None:
    """The cached one-bitmap-per-string text path (commands/chart_canvas.py) draws each string where stock
    Agg does with the same (unhinted) glyphs: alignment, rotation and line spacing within 2 px."""
    with mpl.rc_context({"text.hinting": "none"}):
        stock = _ink_box(FigureCanvasAgg, text)
    ours = _ink_box(ChartCanvas, text)
    assert all(abs(a - b) <= 2 for a, b in zip(stock, ours, strict=True)), (stock, ours)


def test_chart_text_is_cached() -> None:
    """The second chart with the same strings renders none of them again (the fast path is in use)."""
    ranking_chart(title="t", subtitle="s", source="x", labels=["Poland"], values=[3.2e8], notes=["21.4%"])
    misses = TEXT_CACHE.misses
    ranking_chart(title="t", subtitle="s", source="x", labels=["Poland"], values=[3.2e8], notes=["21.4%"])
    assert TEXT_CACHE.misses == misses


def test_chart_text_falls_back_to_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should a matplotlib release change the internals the fast path uses, charts still draw their text."""

    def changed(*_args: object) -> None:
        raise AttributeError("'FT2Font' object has no attribute 'draw_glyphs_to_bitmap'")

    monkeypatch.setattr(ChartRenderer, "_raster", changed)
    for text in TEXTS:
        stock = _ink_box(FigureCanvasAgg, text)
        assert _ink_box(ChartCanvas, text) == stock


def test_text_cache_keeps_to_its_byte_budget() -> None:
    """Least recently used strings go first once the bitmaps pass the budget."""
    cache = _TextCache(budget=3000)
    for key in ("a", "b", "c"):
        cache.put((key,), _Raster(np.zeros((10, 100), np.uint8), (0, 0), (100, 10, 2)))
    assert cache.get(("a",)) is not None  # "a" is now the most recent
    cache.put(("d",), _Raster(np.zeros((10, 100), np.uint8), (0, 0), (100, 10, 2)))
    assert cache.bytes == 3000 and cache.get(("b",)) is None
    assert all(cache.get((k,)) is not None for k in "acd")


def test_png_encoder_round_trip() -> None:
    rgb = np.random.default_rng(1).integers(0, 256, size=(37, 53, 3), dtype=np.uint8)
    data = encode_png(rgb)
    assert data[:8] == PNG and png_size(data) == (53, 37)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), rgb)


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


def test_reused_figures_keep_nothing_from_the_previous_chart(monkeypatch: pytest.MonkeyPatch) -> None:
    """Figures are refilled chart after chart: each chart drawn after others equals it drawn on a new figure
    (fewer rows, no average line, other units, no peak, then all of them back)."""
    charts = [_monthly(0), _ranking(10), _no_average(), _ranking(2), _monthly(0), _ranking(10)]
    again = [_monthly(0), _ranking(10), _no_average(), _ranking(2), _monthly(0), _ranking(10)]
    with monkeypatch.context() as m:  # pools that keep nothing: a new figure for every chart
        m.setattr(charts_module, "_MONTHLY", FigurePool(charts_module._MonthlyFigure, size=0))
        m.setattr(charts_module, "_RANKING", FigurePool(charts_module._RankingFigure, size=0))
        fresh = [_monthly(0), _ranking(10), _no_average(), _ranking(2), _monthly(0), _ranking(10)]
    assert charts == again == fresh


def test_charts_drawn_in_threads_equal_charts_drawn_alone() -> None:
    """Charts are drawn concurrently (asyncio.to_thread): the shared text cache must not mix them up."""
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
