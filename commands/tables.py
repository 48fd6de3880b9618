"""Tables for replies: CSV attachments (bytes) and small monospace tables for embed fields."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FENCE = "```"
# A spreadsheet runs a cell starting with one of these as a formula; text cells get a leading quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    if isinstance(value, float):
        return repr(round(value, 6)) if not value.is_integer() else f"{value:.1f}"
    return value


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A UTF-8 CSV file: one header row, then the rows; None becomes an empty cell (missing, not zero).

    Args:
        header: column names.
        rows: values (numbers are written in full precision, text is guarded against formula injection).
    Returns:
        The file's bytes.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8")


def monospace_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[bool] = ()
) -> str:
    """A fenced monospace table (kept as a code block by the Discord renderer).

    Args:
        header: column titles.
        rows: cell texts.
        right: per column, True to right-align (numbers).
    """
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    align = list(right) + [False] * (len(header) - len(right))

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(c).rjust(w) if a else str(c).ljust(w) for c, w, a in zip(cells, widths, align, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([FENCE, line(header), *(line(r) for r in rows), FENCE])
