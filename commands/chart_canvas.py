"""The canvas every chart is drawn on: matplotlib's Agg, with text drawn one bitmap per string (cached) and a
lean PNG encoder. Charts (commands/charts.py, commands/network_chart.py) get their figure from `new_figure`
(or refill one kept in a `FigurePool`) and their bytes from `figure_png`.

Why: with matplotlib 3.11 Agg draws text glyph by glyph in Python, and a chart's ~30 strings (~400-1,100
glyphs) were half of its CPU time; Pillow's PNG encoder, which tries five row filters, was another fifth.
Here each string is laid out and rasterised once by FreeType (`FT2Font.set_text` + `draw_glyphs_to_bitmap`,
what Agg itself did up to 3.10) and kept in a process-wide LRU, so month names, tick values, legend entries,
"no data" and repeated source lines cost a lookup. Text is drawn unhinted: at the charts' 200 dpi it is as
sharp, and narrower. Everything else (layout, lines, bars, antialiasing) is stock matplotlib.

This leans on two matplotlib internals, `RendererAgg._prepare_font` and
`RendererAgg._renderer.draw_text_image` (both there since 3.x); should a release change them, text falls back
to matplotlib's own path (slower, still right), and tests/commands/test_charts.py fails on the cache going
unused or on text placed differently from stock Agg.

Thread safety: charts are drawn in several threads at once. Each thread draws its own Figure; FreeType fonts
are per thread (matplotlib's `get_font` cache is keyed by thread); the shared text cache holds finished
bitmaps that are only read after they are stored, behind a lock.
"""

from __future__ import annotations

import math
import struct
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

import numpy as np
from matplotlib import ft2font
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from PIL import Image

NO_HINTING = getattr(getattr(ft2font, "LoadFlags", None), "NO_HINTING", 2)  # FT_LOAD_NO_HINTING before 3.10
T = TypeVar("T")
TEXT_CACHE_BYTES = 16 << 20  # of bitmaps: a 200-dpi chart title is ~50 KB, a tick value ~1 KB


class _Raster:
    """One string rendered at angle 0: alpha bitmap, its offset from the text origin, and the metrics."""

    __slots__ = ("image", "x_offset", "y_offset", "width", "height", "descent")

    def __init__(self, image: np.ndarray, offset: tuple[float, float], metrics: tuple[float, float, float]):
        self.image = image
        self.x_offset, self.y_offset = offset
        self.width, self.height, self.descent = metrics


class _TextCache:
    """A thread-safe LRU of rendered strings, shared by every chart in the process, of at most `budget`
    bytes of bitmaps (month names, tick values and legend entries stay; titles come and go)."""

    def __init__(self, budget: int) -> None:
        self._budget = budget
        self._items: OrderedDict[tuple[Any, ...], _Raster] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = self.hits = self.misses = 0

    def get(self, key: tuple[Any, ...]) -> _Raster | None:
        with self._lock:
            raster = self._items.get(key)
            if raster is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return raster

    def put(self, key: tuple[Any, ...], raster: _Raster) -> None:
        with self._lock:
            old = self._items.pop(key, None)  # two threads may render the same string at once
            self.bytes += raster.image.nbytes - (old.image.nbytes if old else 0)
            self._items[key] = raster
            while self.bytes > self._budget and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self.bytes -= dropped.image.nbytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = self.hits = self.misses = 0


TEXT_CACHE = _TextCache(TEXT_CACHE_BYTES)


def _font_key(prop: FontProperties) -> tuple[Any, ...]:
    return (
        tuple(prop.get_family()),
        prop.get_style(),
        prop.get_variant(),
        prop.get_weight(),
        prop.get_stretch(),
        prop.get_size_in_points(),
        prop.get_file(),
    )


class ChartRenderer(RendererAgg):
    """RendererAgg drawing each plain string as one cached FreeType bitmap (mathtext and TeX: stock path)."""

    def _raster(self, s: str, prop: FontProperties, antialiased: bool) -> _Raster:
        key = (s, _font_key(prop), self.dpi, antialiased)
        raster = TEXT_CACHE.get(key)
        if raster is None:
            font = self._prepare_font(prop)  # this thread's FT2Font, cleared, at the size and dpi
            font.set_text(s, 0.0, flags=NO_HINTING)
            width, height = font.get_width_height()
            descent = font.get_descent()
            font.draw_glyphs_to_bitmap(antialiased=antialiased)
            x_offset, y_offset = font.get_bitmap_offset()
            image = np.array(font.get_image(), dtype=np.uint8)  # a copy: the font reuses its buffer
            raster = _Raster(image, (x_offset / 64, y_offset / 64), (width / 64, height / 64, descent / 64))
            TEXT_CACHE.put(key, raster)
        return raster

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):  # type: ignore[no-untyped-def]
        if ismath or _has_shaping_options(mtext):
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        try:
            raster = self._raster(s, prop, bool(gc.get_antialiased()))
            # As RendererAgg.draw_text did up to matplotlib 3.10: the bitmap's corner from the text origin,
            # the descent turned with the text (draw_text_image rotates the bitmap about that corner).
            x += raster.x_offset + raster.descent * math.sin(math.radians(angle))
            y += raster.y_offset + raster.descent * math.cos(math.radians(angle))
            self._renderer.draw_text_image(raster.image, round(x), round(y) + 1, angle, gc)
        except (AttributeError, TypeError):  # internals changed in a new matplotlib: slower, still right
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        return None

    def get_text_width_height_descent(self, s, prop, ismath):  # type: ignore[no-untyped-def]
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        try:
            raster = self._raster(s, prop, True)
        except (AttributeError, TypeError):
            return super().get_text_width_height_descent(s, prop, ismath)
        return raster.width, raster.height, raster.descent


def _has_shaping_options(mtext: Any) -> bool:
    """Font features or a language set on the Text (matplotlib 3.11+): leave those to matplotlib."""
    if mtext is None:
        return False
    features = getattr(mtext, "get_fontfeatures", None)
    language = getattr(mtext, "get_language", None)
    return bool((features and features()) or (language and language()))


class ChartCanvas(FigureCanvasAgg):
    """FigureCanvasAgg whose renderer is a ChartRenderer (kept while the size and dpi stay the same)."""

    _chart_key: tuple[int, int, float] | None = None

    def get_renderer(self) -> RendererAgg:  # type: ignore[override]
        width, height = self.get_width_height(physical=True)
        key = (width, height, self.figure.dpi)
        if self._chart_key != key:
            self.renderer = ChartRenderer(width, height, self.figure.dpi)
            self._chart_key = key
        return self.renderer

    def release_renderer(self) -> None:
        """Free the ~6 MB of pixels of a figure kept for the next chart (its next draw makes new ones)."""
        self.renderer = None
        self._chart_key = None


def new_figure(width_in: float, height_in: float, dpi: float) -> Figure:
    """A white Figure attached to a ChartCanvas (never pyplot: no global state, no leaked figures)."""
    fig = Figure(figsize=(width_in, height_in), dpi=dpi, facecolor="white")
    ChartCanvas(fig)
    return fig


class FigurePool(Generic[T]):
    """Chart figures built once and refilled for each chart, each used by one thread at a time.

    Building a Figure, its Axes, ticks and bars was a fifth of a chart's CPU, and left ~4,000 objects in
    reference cycles per chart: the garbage that set off the full (gen-2) collections behind the whole
    commands' p95. A figure is taken by one thread, refilled, drawn and given back; one whose chart failed
    half-way is dropped. At most `size` idle figures are kept (the renderer's pixels are freed after each
    chart, so an idle figure is only its artists).
    """

    def __init__(self, build: Callable[[], T], size: int = 4) -> None:
        self._build, self._size = build, size
        self._idle: list[T] = []
        self._lock = threading.Lock()

    @contextmanager
    def take(self) -> Iterator[T]:
        with self._lock:
            item = self._idle.pop() if self._idle else None
        if item is None:
            item = self._build()
        yield item  # not given back if the chart raised: its state is unknown
        with self._lock:
            if len(self._idle) < self._size:
                self._idle.append(item)


def figure_png(fig: Figure) -> bytes:
    """Draw the figure and return it as an 8-bit RGB PNG (no alpha: the charts are opaque)."""
    canvas = fig.canvas
    canvas.draw()
    size = canvas.get_width_height(physical=True)
    # Pillow drops the alpha channel ~3x faster than a strided numpy copy.
    rgb = Image.frombuffer("RGBA", size, canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
    if isinstance(canvas, ChartCanvas):
        canvas.release_renderer()
    return encode_png(np.asarray(rgb))


def encode_png(rgb: np.ndarray, level: int = 1) -> bytes:
    """An RGB array (height, width, 3) of uint8 as PNG: every row unfiltered, one zlib stream at `level`.

    Pillow's encoder picks a filter per row by trying all five, which made encoding ~17 ms of a 1600x900
    chart; flat chart colours compress about as well unfiltered (~110 KB against ~100 KB) in ~7 ms.
    """
    height, width, _ = rgb.shape
    rows = np.empty((height, 1 + width * 3), dtype=np.uint8)
    rows[:, 0] = 0  # filter type 0 (None) at the start of every row
    rows[:, 1:] = rgb.reshape(height, width * 3)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(rows.data, level)),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
