"""Charts as PNG bytes, drawn with matplotlib's Figure API on the Agg canvas (never pyplot: it keeps global
state and leaks figures in a long-running bot). Sized for Discord's preview (800x450 at 1x, drawn at 2x
for sharpness): title, subtitle with the codes, values in US$ with a unit chosen from the data, month
labels, and the source line on every chart. Missing values are gaps labelled "no data", never zeros.

The monthly and ranking figures are built once and refilled for each chart (`FigurePool`), text is drawn
from a cache of rendered strings (commands/chart_canvas.py): ~30-40 ms of CPU a chart instead of ~90-150.

These functions are CPU-bound: call them through `asyncio.to_thread` from async code.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter

from commands.chart_canvas import FigurePool, figure_png, new_figure

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.5, 200  # 1600x900 px; Discord scales it down to ~800x450
CURRENT_COLOUR = "#1f4e79"
PREVIOUS_COLOUR = "#a9c4de"
MISSING_COLOUR = "#8a8a8a"
AVERAGE_COLOUR = "#c0504d"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Unit:
    """A display unit: divisor, axis label, prefix and suffix (US$ by default; tonnes, $/kg... by measure)."""

    divisor: float
    axis: str
    suffix: str
    prefix: str = "$"

    def fmt(self, value: float) -> str:
        """`$8.41M`, `$25.3M`, `$253M`, `1,234 t`: about three significant digits."""
        scaled = value / self.divisor
        decimals = 2 if abs(scaled) < 10 else 1 if abs(scaled) < 100 else 0
        return f"{self.prefix}{scaled:,.{decimals}f}{self.suffix}"


def pick_unit(values: Sequence[float | None]) -> Unit:
    """US$ million by default; thousand when every value is under $1M, billion from $1B up."""
    top = max((abs(v) for v in values if v is not None and math.isfinite(v)), default=0.0)
    if top >= 1e9:
        return Unit(1e9, "US$ billion", "B")
    if top >= 1e6 or top == 0:
        return Unit(1e6, "US$ million", "M")
    return Unit(1e3, "US$ thousand", "K")


def measure_unit(measure: str, values: Sequence[float | None], qty_unit: str | None = None) -> Unit:
    """The display unit of a measure (`commands.measures` keys): US$, tonnes or kg, a quantity, $/kg."""
    if measure == "weight":
        top = max((abs(v) for v in values if v is not None and math.isfinite(v)), default=0.0)
        return (
            Unit(1000, "net weight, tonnes", " t", "")
            if top >= 1000
            else Unit(1, "net weight, kg", " kg", "")
        )
    if measure == "quantity":
        name = qty_unit or "unit not stated"
        return Unit(1, f"quantity, {name}", f" {qty_unit}" if qty_unit else "", "")
    if measure == "unit-value":
        return Unit(1, "unit value, US$ per kg", "/kg")
    return pick_unit(values)


def _figure() -> Figure:
    return new_figure(WIDTH_IN, HEIGHT_IN, DPI)


@dataclass(frozen=True)
class _Frame:
    """What every bar chart shares: title, subtitle and source line (texts set per chart) over one Axes."""

    fig: Figure
    ax: Axes
    title: Text
    subtitle: Text
    source: Text

    @classmethod
    def build(cls) -> _Frame:
        fig = _figure()
        title = fig.text(0.015, 0.955, "", fontsize=13, fontweight="bold", ha="left", va="top")
        subtitle = fig.text(0.015, 0.885, "", fontsize=9.5, color="#404040", ha="left", va="top")
        source = fig.text(
            0.015, 0.02, "", fontsize=7.5, color="#606060", ha="left", va="bottom", linespacing=1.3
        )
        ax = fig.add_axes((0.09, 0.15, 0.895, 0.62))
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(labelsize=9)
        return cls(fig, ax, title, subtitle, source)

    def fill(self, title: str, subtitle: str, source: str, *, left: float = 0.09) -> None:
        """The texts, and the Axes placed between the header band and the source line (1 or 2 lines)."""
        self.title.set_text(title)
        self.subtitle.set_text(subtitle)
        wrapped = textwrap.fill(source, width=130, max_lines=2, placeholder="…")
        self.source.set_text(wrapped)
        bottom = 0.19 if "\n" in wrapped else 0.15
        self.ax.set_position((left, bottom, 0.985 - left, 0.77 - bottom))


BAR_WIDTH = 0.4  # of a month; the previous year's bar left of the month's tick, this year's right


class _MonthlyFigure:
    """The monthly comparison chart: 2 x 12 bars and 2 x 12 "no data" marks, shown or hidden per month."""

    def __init__(self) -> None:
        self.frame = frame = _Frame.build()
        ax = frame.ax
        ax.set_xticks(range(12), MONTHS)
        ax.set_xlim(-0.6, 11.6)
        ax.grid(axis="y", color="#e6e6e6", zorder=0)
        self.bars, self.missing = [], []
        for offset, colour in ((-BAR_WIDTH / 2, PREVIOUS_COLOUR), (BAR_WIDTH / 2, CURRENT_COLOUR)):
            xs = [i + offset for i in range(12)]
            self.bars.append(list(ax.bar(xs, [0.0] * 12, width=BAR_WIDTH, color=colour, zorder=2)))
            self.missing.append([_no_data_mark(ax, x) for x in xs])
        self.average = ax.axhline(
            0, color=AVERAGE_COLOUR, linestyle="--", linewidth=1.1, zorder=3, visible=False
        )
        self.peak = ax.annotate(
            "",
            xy=(0, 0),
            xytext=(0, 6),
            textcoords="offset points",
            ha="center",
            fontsize=8.5,
            color=CURRENT_COLOUR,
            fontweight="bold",
        )
        # Legends in the header band (never over a bar): with and without the average line.
        handles = [
            Patch(facecolor=PREVIOUS_COLOUR),
            Patch(facecolor=CURRENT_COLOUR),
            Line2D([], [], color=AVERAGE_COLOUR, linestyle="--"),
        ]
        self.legends = {
            n: frame.fig.legend(
                handles[:n],
                [""] * n,
                fontsize=8.5,
                frameon=False,
                loc="upper right",
                bbox_to_anchor=(0.99, 0.9),
                ncols=3,
            )
            for n in (2, 3)
        }

    def draw(
        self,
        current: Sequence[float | None],
        previous: Sequence[float | None],
        labels: tuple[str, str],
        previous_average: float | None,
        unit: Unit | None = None,
        average_label: str | None = None,
    ) -> bytes:
        unit = unit or pick_unit([*current, *previous])
        for bars, marks, values in zip(self.bars, self.missing, (previous, current), strict=True):
            for bar, mark, value in zip(bars, marks, values, strict=True):
                bar.set_height(0.0 if value is None else value / unit.divisor)
                bar.set_visible(value is not None)
                mark.set_visible(value is None)
        self.average.set_visible(bool(previous_average))
        if previous_average:
            self.average.set_ydata([previous_average / unit.divisor] * 2)
        self._peak(current, unit)
        top = (
            max((v for v in [*current, *previous, previous_average] if v is not None), default=0.0)
            / unit.divisor
        )
        ax = self.frame.ax
        ax.set_ylabel(unit.axis, fontsize=9)
        decimals = 1 if top < 10 else 0
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.{decimals}f}"))
        ax.set_ylim(0, top * 1.15 or 1.0)
        previous_label, current_label = labels
        shown = 3 if previous_average else 2
        for n, legend in self.legends.items():
            legend.set_visible(n == shown)
        for text, label in zip(
            self.legends[shown].get_texts(),
            (previous_label, current_label, average_label or f"{previous_label} monthly average"),
            strict=False,
        ):
            text.set_text(label)
        return figure_png(self.frame.fig)

    def _peak(self, current: Sequence[float | None], unit: Unit) -> None:
        present = [(v, i) for i, v in enumerate(current) if v is not None]
        self.peak.set_visible(bool(present))
        if present:
            value, month = max(present)
            self.peak.set_text(f"peak {MONTHS[month]}: {unit.fmt(value)}")
            self.peak.xy = (month + BAR_WIDTH / 2, value / unit.divisor)


def _no_data_mark(ax: Axes, x: float) -> Text:
    return ax.text(
        x,
        0,
        "no data",
        rotation=90,
        fontsize=7.5,
        color=MISSING_COLOUR,
        ha="center",
        va="bottom",
        visible=False,
    )


_MONTHLY = FigurePool(_MonthlyFigure)


def monthly_comparison_chart(
    *,
    title: str,
    subtitle: str,
    source: str,
    current: Sequence[float | None],
    previous: Sequence[float | None],
    current_label: str,
    previous_label: str,
    previous_average: float | None = None,
    unit: Unit | None = None,
    average_label: str | None = None,
) -> bytes:
    """Grouped monthly bars: this year against the previous one, months with no data marked as such.

    Args:
        current, previous: 12 values each (Jan..Dec), None where the source has no data.
        previous_average: drawn as a dashed line (the base of the "x times" multiple), if given.
        unit: the display unit (default US$, scaled to the data; see `measure_unit`).
        average_label: the legend of the dashed line.
    Returns:
        PNG bytes.
    """
    with _MONTHLY.take() as chart:
        chart.frame.fill(title, subtitle, source)
        return chart.draw(
            current, previous, (previous_label, current_label), previous_average, unit, average_label
        )


def annual_comparison_chart(
    *,
    title: str,
    subtitle: str,
    source: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    unit: Unit | None = None,
) -> bytes:
    """Bars for annual totals (when a source holds only annual data), missing years marked."""
    unit = unit or pick_unit(values)
    frame = _Frame.build()
    frame.fill(title, subtitle, source)
    ax = frame.ax
    colours = [PREVIOUS_COLOUR] * (len(values) - 1) + [CURRENT_COLOUR]
    for i, (value, colour) in enumerate(zip(values, colours, strict=True)):
        if value is None:
            ax.text(i, 0, "no data", fontsize=9, color=MISSING_COLOUR, ha="center", va="bottom")
            continue
        ax.bar(i, value / unit.divisor, width=0.5, color=colour, zorder=2)
        ax.text(i, value / unit.divisor, unit.fmt(value), ha="center", va="bottom", fontsize=10)
    ax.set_xticks(range(len(labels)), labels)
    # The extent of all the bars plus 5% margins, whichever are missing: a missing first year's "no data"
    # stays off the y axis.
    span = len(values) - 1 + 0.5
    ax.set_xlim(-0.25 - 0.05 * span, len(values) - 0.75 + 0.05 * span)
    ax.set_ylabel(unit.axis, fontsize=9)
    ax.grid(axis="y", color="#e6e6e6", zorder=0)
    top = max((v for v in values if v is not None), default=0.0)
    ax.set_ylim(0, (top / unit.divisor) * 1.18 or 1.0)
    return figure_png(frame.fig)


def _room_for_labels(fig: Figure, ax: Axes, texts: list[Text], ends: list[float]) -> float:
    """The x-axis end that keeps every label right of its bar inside the plot (labels have a fixed pixel
    width, bars scale with the axis: solve end >= x * W / (W - w) for each)."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    width = ax.get_window_extent(renderer).width
    needed = 0.0
    for text, end in zip(texts, ends, strict=True):
        label = text.get_window_extent(renderer).width * 1.03
        if label < width * 0.9:
            needed = max(needed, end * width / (width - label))
    return needed


BAR_HEIGHT = 0.65  # of a ranking row


class _RankingFigure:
    """The ranking chart: a horizontal bar and a value label per row, rows added as needed."""

    def __init__(self) -> None:
        self.frame = _Frame.build()
        ax = self.frame.ax
        ax.tick_params(axis="y", labelsize=8.5, length=0)
        ax.grid(axis="x", color="#e6e6e6", zorder=0)
        self.bars: list[Rectangle] = []
        self.texts: list[Text] = []

    def _rows(self, n: int) -> None:
        ax = self.frame.ax
        while len(self.bars) < n:
            (bar,) = ax.barh([0], [0.0], color=CURRENT_COLOUR, height=BAR_HEIGHT, zorder=2)
            self.bars.append(bar)
            self.texts.append(ax.text(0, 0, "", va="center", fontsize=8.5, color="#202020"))

    def draw(
        self, labels: Sequence[str], values: Sequence[float], notes: Sequence[str], unit: Unit | None = None
    ) -> bytes:
        unit = unit or pick_unit(values)
        ax = self.frame.ax
        n = len(values)
        ys = list(range(n))[::-1]
        self._rows(n)
        for bar, text in zip(self.bars[n:], self.texts[n:], strict=True):
            bar.set_visible(False)
            text.set_visible(False)
        for bar, text, y, value, note in zip(self.bars, self.texts, ys, values, notes, strict=False):
            bar.set_y(y - BAR_HEIGHT / 2)
            bar.set_width(value / unit.divisor)
            text.set_position((value / unit.divisor, y))
            text.set_text(f"  {unit.fmt(value)}  {note}")
            bar.set_visible(True)
            text.set_visible(True)
        ax.set_yticks(ys, labels)
        # What autoscaling gave when the bars were new: their extent plus 5% margins.
        span = n - 1 + BAR_HEIGHT
        ax.set_ylim(
            (-BAR_HEIGHT / 2 - 0.05 * span, n - 1 + BAR_HEIGHT / 2 + 0.05 * span) if n else (-0.055, 0.055)
        )
        top = max(values, default=0.0) / unit.divisor
        ends = [v / unit.divisor for v in values]
        room = _room_for_labels(self.frame.fig, ax, self.texts[:n], ends)
        ax.set_xlim(0, max(room, top * 1.05) or 1.0)
        ax.set_xlabel(unit.axis, fontsize=9)
        return figure_png(self.frame.fig)


_RANKING = FigurePool(_RankingFigure)


def ranking_chart(
    *,
    title: str,
    subtitle: str,
    source: str,
    labels: Sequence[str],
    values: Sequence[float],
    notes: Sequence[str],
    unit: Unit | None = None,
) -> bytes:
    """Horizontal bars, largest on top, each labelled with its value and a note (share, growth).

    Args:
        labels: bar names (partners or HS codes with short descriptions), at most ~10.
        notes: text after each value, e.g. `31.2% · +45%`.
    """
    if len(values) != len(notes):
        raise ValueError(f"{len(values)} values but {len(notes)} notes")
    longest = max((len(label) for label in labels), default=10)
    with _RANKING.take() as chart:
        chart.frame.fill(title, subtitle, source, left=min(0.42, 0.03 + 0.0125 * longest))
        return chart.draw(labels, values, notes, unit)
