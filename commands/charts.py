"""Charts as PNG bytes, drawn with matplotlib's Figure API on the Agg canvas (never pyplot: it keeps global
state and leaks figures in a long-running bot). Sized for Discord's preview (800x450 at 1x, drawn at 2x
for sharpness): title, subtitle with the codes, values in US$ with a unit chosen from the data, month
labels, and the source line on every chart. Missing values are gaps labelled "no data", never zeros.

Each chart is a new Figure drawn by matplotlib's stock Agg canvas. These functions are CPU-bound: call them
through `asyncio.to_thread` from async code.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter
from PIL import Image

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


def new_figure(width_in: float = WIDTH_IN, height_in: float = HEIGHT_IN, dpi: float = DPI) -> Figure:
    """A white Figure on its own Agg canvas (never pyplot: no global state, no leaked figures)."""
    fig = Figure(figsize=(width_in, height_in), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _frame(fig: Figure, title: str, subtitle: str, source: str, *, left: float = 0.09) -> Axes:
    fig.text(0.015, 0.955, title, fontsize=13, fontweight="bold", ha="left", va="top")
    fig.text(0.015, 0.885, subtitle, fontsize=9.5, color="#404040", ha="left", va="top")
    wrapped = textwrap.fill(source, width=130, max_lines=2, placeholder="…")
    fig.text(0.015, 0.02, wrapped, fontsize=7.5, color="#606060", ha="left", va="bottom", linespacing=1.3)
    bottom = 0.19 if "\n" in wrapped else 0.15
    ax = fig.add_axes((left, bottom, 0.985 - left, 0.77 - bottom))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=9)
    return ax


def agg_canvas(fig: Figure) -> FigureCanvasAgg:
    """The figure's Agg canvas: every chart here is made with one (`new_figure`); a figure without one gets one."""
    canvas = fig.canvas
    return canvas if isinstance(canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)


def figure_png(fig: Figure) -> bytes:
    """The drawn figure as an RGB PNG at zlib level 1 (an opaque chart needs no alpha channel; level 1 is
    about 4x faster to encode than Pillow's default for ~3% more bytes)."""
    canvas = agg_canvas(fig)
    canvas.draw()
    width, height = canvas.get_width_height(physical=True)
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


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
    first_month: int = 1,
) -> bytes:
    """Grouped monthly bars: this year against the previous one, months with no data marked as such.

    Args:
        current, previous: one value per month from `first_month` (12 for a whole year, Jan..Dec), None where
            the source has no data.
        previous_average: drawn as a dashed line (the base of the "x times" multiple), if given.
        unit: the display unit (default US$, scaled to the data; see `measure_unit`).
        average_label: the legend of the dashed line.
    Returns:
        PNG bytes.
    """
    unit = unit or pick_unit([*current, *previous])
    fig = new_figure()
    ax = _frame(fig, title, subtitle, source)
    width = 0.4
    for offset, values, colour, label in (
        (-width / 2, previous, PREVIOUS_COLOUR, previous_label),
        (width / 2, current, CURRENT_COLOUR, current_label),
    ):
        xs = [i + offset for i, v in enumerate(values) if v is not None]
        ys = [v / unit.divisor for v in values if v is not None]
        ax.bar(xs, ys, width=width, color=colour, label=label, zorder=2)
    _mark_missing(ax, current, previous, width)
    if previous_average:
        ax.axhline(
            previous_average / unit.divisor, color=AVERAGE_COLOUR, linestyle="--", linewidth=1.1, zorder=3
        )
        label = average_label or f"{previous_label} monthly average"
        ax.plot([], [], color=AVERAGE_COLOUR, linestyle="--", label=label)
    labels = MONTHS[first_month - 1 : first_month - 1 + len(current)]
    _annotate_peak(ax, current, unit, width, labels)
    top = (
        max((v for v in [*current, *previous, previous_average] if v is not None), default=0.0) / unit.divisor
    )
    _monthly_axes(ax, unit, top, labels)
    return figure_png(fig)


def _monthly_axes(ax: Axes, unit: Unit, top: float, labels: Sequence[str] = MONTHS) -> None:
    """Month ticks, the unit label, grid, and a legend in the header band (never over a bar)."""
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_ylabel(unit.axis, fontsize=9)
    decimals = 1 if top < 10 else 0
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.{decimals}f}"))
    ax.grid(axis="y", color="#e6e6e6", zorder=0)
    ax.set_ylim(0, top * 1.15 or 1.0)
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: isinstance(handles[i], Line2D))  # the dashed line last
    ax.figure.legend(
        [handles[i] for i in order],
        [labels[i] for i in order],
        fontsize=8.5,
        frameon=False,
        loc="upper right",
        bbox_to_anchor=(0.99, 0.9),
        ncols=3,
    )


def _mark_missing(
    ax: Axes, current: Sequence[float | None], previous: Sequence[float | None], width: float
) -> None:
    for values, offset in ((previous, -width / 2), (current, width / 2)):
        for i, value in enumerate(values):
            if value is None:
                ax.text(
                    i + offset,
                    0,
                    "no data",
                    rotation=90,
                    fontsize=7.5,
                    color=MISSING_COLOUR,
                    ha="center",
                    va="bottom",
                    transform=ax.transData,
                )


def _annotate_peak(
    ax: Axes, current: Sequence[float | None], unit: Unit, width: float, labels: Sequence[str] = MONTHS
) -> None:
    present = [(v, i) for i, v in enumerate(current) if v is not None]
    if not present:
        return
    value, month = max(present)
    ax.annotate(
        f"peak {labels[month]}: {unit.fmt(value)}",
        xy=(month + width / 2, value / unit.divisor),
        xytext=(0, 6),
        textcoords="offset points",
        ha="center",
        fontsize=8.5,
        color=CURRENT_COLOUR,
        fontweight="bold",
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
    fig = new_figure()
    ax = _frame(fig, title, subtitle, source)
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
    return figure_png(fig)


def _room_for_labels(fig: Figure, ax: Axes, texts: list[Text], ends: list[float]) -> float:
    """The x-axis end that keeps every label right of its bar inside the plot (labels have a fixed pixel
    width, bars scale with the axis: solve end >= x * W / (W - w) for each)."""
    renderer = agg_canvas(fig).get_renderer()
    width = ax.get_window_extent(renderer).width
    needed = 0.0
    for text, end in zip(texts, ends, strict=True):
        label = text.get_window_extent(renderer).width * 1.03
        if label < width * 0.9:
            needed = max(needed, end * width / (width - label))
    return needed


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
    unit = unit or pick_unit(values)
    fig = new_figure()
    longest = max((len(label) for label in labels), default=10)
    ax = _frame(fig, title, subtitle, source, left=min(0.42, 0.03 + 0.0125 * longest))
    ys = list(range(len(values)))[::-1]
    ax.barh(ys, [v / unit.divisor for v in values], color=CURRENT_COLOUR, height=0.65, zorder=2)
    ax.set_yticks(ys, labels)
    ax.tick_params(axis="y", labelsize=8.5, length=0)
    top = max(values, default=0.0) / unit.divisor
    texts = [
        ax.text(
            value / unit.divisor,
            y,
            f"  {unit.fmt(value)}  {note}",
            va="center",
            fontsize=8.5,
            color="#202020",
        )
        for y, value, note in zip(ys, values, notes, strict=True)
    ]
    ends = [v / unit.divisor for v in values]
    ax.set_xlim(0, max(_room_for_labels(fig, ax, texts, ends), top * 1.05) or 1.0)
    ax.set_xlabel(unit.axis, fontsize=9)
    ax.grid(axis="x", color="#e6e6e6", zorder=0)
    return figure_png(fig)
