"""The /compare chart: one line per flow over the years, the other side's report of a flow dashed in the same
colour, a year without data left as a gap (never a zero), the source line under it. CPU-bound: run in a thread.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from commands.chart_canvas import figure_png, new_figure
from commands.charts import DPI, HEIGHT_IN, MISSING_COLOUR, WIDTH_IN, pick_unit

PALETTE = ("#1f4e79", "#c0504d", "#4f8a3c", "#8064a2", "#d08a00", "#2c8c99", "#7f6000", "#c55a96")


@dataclass(frozen=True)
class ChartLine:
    label: str
    values: Sequence[float | None]  # one per year
    colour_index: int
    dashed: bool


def compare_chart(
    *, title: str, subtitle: str, source: str, years: Sequence[int], lines: Sequence[ChartLine]
) -> bytes:
    """PNG bytes of the lines over the years."""
    fig = new_figure(WIDTH_IN, HEIGHT_IN, DPI)
    fig.text(0.015, 0.955, textwrap.shorten(title, 110), fontsize=12, fontweight="bold", ha="left", va="top")
    fig.text(0.015, 0.885, subtitle, fontsize=9, color="#404040", ha="left", va="top")
    wrapped = textwrap.fill(source, width=130, max_lines=2, placeholder="…")
    fig.text(0.015, 0.02, wrapped, fontsize=7.5, color="#606060", ha="left", va="bottom", linespacing=1.3)
    bottom = 0.19 if "\n" in wrapped else 0.15
    ax = fig.add_axes((0.09, bottom, 0.62, 0.77 - bottom))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=9)
    unit = pick_unit([v for line in lines for v in line.values])
    xs = list(range(len(years)))
    for line in lines:
        ys = [math.nan if v is None else v / unit.divisor for v in line.values]
        colour = PALETTE[line.colour_index % len(PALETTE)]
        ax.plot(
            xs, ys, color=colour, linestyle="--" if line.dashed else "-", marker="o", markersize=4,
            linewidth=1.8, label=textwrap.shorten(line.label, 40),
        )  # fmt: skip
        if all(v is None for v in line.values):
            continue
        last = max(i for i, v in enumerate(line.values) if v is not None)
        ax.annotate(unit.fmt(line.values[last] or 0.0), (xs[last], ys[last]), textcoords="offset points",
                    xytext=(4, 3), fontsize=7.5, color=colour)  # fmt: skip
    missing = [line.label for line in lines if all(v is None for v in line.values)]
    if missing:
        note = "No data: " + "; ".join(missing)
        ax.text(
            0.0, 1.01, textwrap.shorten(note, 90), transform=ax.transAxes, fontsize=7.5, color=MISSING_COLOUR
        )
    ax.set_xticks(xs, [str(y) for y in years])
    ax.set_xlim(-0.3, len(years) - 0.7)
    ax.set_ylim(bottom=0)
    ax.set_ylabel(unit.axis, fontsize=9)
    ax.grid(axis="y", color="#e6e6e6", zorder=0)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    return figure_png(fig)
