"""The /compare chart: one line per flow over the years, the other side's report of a flow dashed in the same
colour, a year without data left as a gap (never a zero), the source line under it. CPU-bound: run in a thread.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.lines import Line2D

from commands.charts import DPI, HEIGHT_IN, MISSING_COLOUR, WIDTH_IN, figure_png, measure_unit, new_figure
from commands.measures import Measure

PALETTE = ("#1f4e79", "#c0504d", "#4f8a3c", "#8064a2", "#d08a00", "#2c8c99", "#7f6000", "#c55a96")
MAX_LINES = 16  # 8 countries, each with the other side's report


@dataclass(frozen=True)
class ChartLine:
    label: str
    values: Sequence[float | None]  # one per year
    colour_index: int
    dashed: bool


class _CompareFigure:
    def __init__(self) -> None:
        self.fig = fig = new_figure(WIDTH_IN, HEIGHT_IN, DPI)
        self.title = fig.text(0.015, 0.955, "", fontsize=12, fontweight="bold", ha="left", va="top")
        self.subtitle = fig.text(0.015, 0.885, "", fontsize=9, color="#404040", ha="left", va="top")
        self.source = fig.text(0.015, 0.02, "", fontsize=7.5, color="#606060", ha="left", va="bottom",
                               linespacing=1.3)  # fmt: skip
        self.ax = ax = fig.add_axes((0.09, 0.15, 0.62, 0.62))
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(labelsize=9)
        ax.grid(axis="y", color="#e6e6e6", zorder=0)
        self.lines: list[Line2D] = [
            ax.plot([], [], marker="o", markersize=4, linewidth=1.8)[0] for _ in range(MAX_LINES)
        ]
        self.ends = [ax.text(0, 0, "", fontsize=7.5) for _ in range(MAX_LINES)]
        self.missing = ax.text(0.0, 1.01, "", transform=ax.transAxes, fontsize=7.5, color=MISSING_COLOUR)

    def draw(
        self,
        title: str,
        subtitle: str,
        source: str,
        years: Sequence[int],
        lines: Sequence[ChartLine],
        measure: Measure,
    ) -> bytes:
        self.title.set_text(textwrap.shorten(title, 90))
        self.subtitle.set_text(subtitle)
        wrapped = textwrap.fill(source, width=130, max_lines=2, placeholder="…")
        self.source.set_text(wrapped)
        bottom = 0.19 if "\n" in wrapped else 0.15
        ax = self.ax
        ax.set_position((0.09, bottom, 0.62, 0.77 - bottom))
        unit = measure_unit(measure.key, [v for line in lines for v in line.values], measure.unit)
        xs = list(range(len(years)))
        top = 0.0
        for i, artist in enumerate(self.lines):
            end = self.ends[i]
            line = lines[i] if i < len(lines) else None
            if line is None:
                artist.set_visible(False)
                end.set_visible(False)
                continue
            ys = [math.nan if v is None else v / unit.divisor for v in line.values]
            colour = PALETTE[line.colour_index % len(PALETTE)]
            artist.set_data(xs, ys)
            artist.set(color=colour, linestyle="--" if line.dashed else "-", visible=True,
                       label=textwrap.shorten(line.label, 40))  # fmt: skip
            known = [(x, y, v) for x, y, v in zip(xs, ys, line.values, strict=True) if v is not None]
            end.set_visible(bool(known))
            if known:
                x, y, v = known[-1]
                end.set(position=(x + 0.04, y), text=unit.fmt(v), color=colour)
                top = max(top, *(y for _, y, _ in known))
        missing = [line.label for line in lines if all(v is None for v in line.values)]
        self.missing.set_text(textwrap.shorten("No data: " + "; ".join(missing), 90) if missing else "")
        ax.set_xticks(xs, [str(y) for y in years])
        ax.set_xlim(-0.3, len(years) - 0.7)
        ax.set_ylim(0, top * 1.12 or 1.0)
        ax.set_ylabel(unit.axis, fontsize=9)
        ax.legend(handles=self.lines[: len(lines)], loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8,
                  frameon=False)  # fmt: skip
        return figure_png(self.fig)


def compare_chart(
    *,
    title: str,
    subtitle: str,
    source: str,
    years: Sequence[int],
    lines: Sequence[ChartLine],
    measure: Measure,
) -> bytes:
    """PNG bytes of the lines over the years (at most `MAX_LINES`), in the measure's unit."""
    return _CompareFigure().draw(title, subtitle, source, years, lines[:MAX_LINES], measure)
