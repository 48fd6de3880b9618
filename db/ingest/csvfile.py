"""Strict reading of source CSV files: UTF-8 (BOM allowed), a header row, every row complete.

Anything wrong raises `ImportFailed` naming the file and line: a wrong encoding, an empty file, a missing
column, a row with too few or too many fields (a truncated file usually ends in one), an unterminated quote.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from db.ingest.base import ImportFailed


def bad_byte(name: str, data: bytes, exc: UnicodeDecodeError, encoding: str = "utf-8") -> ImportFailed:
    """The error for a byte that is not valid in `encoding`, naming its line."""
    line = data.count(b"\n", 0, exc.start) + 1
    return ImportFailed(
        f"{name} line {line}: byte 0x{data[exc.start]:02x} is not valid {encoding} "
        "(wrong encoding? save the file as UTF-8)"
    )


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """The whole file as text; a byte that is not valid in `encoding` fails with its line number."""
    data = path.read_bytes()
    if not data.strip():
        raise ImportFailed(f"{path.name} is empty")
    try:
        return data.decode("utf-8-sig" if encoding.lower().replace("_", "-") == "utf-8" else encoding)
    except UnicodeDecodeError as exc:
        raise bad_byte(path.name, data, exc, encoding) from None
    except LookupError:
        raise ImportFailed(f"unknown text encoding {encoding!r}") from None


@dataclass(frozen=True)
class CsvTable:
    """A parsed CSV header and a way to iterate its rows with their line numbers."""

    name: str
    header: tuple[str, ...]
    text: str
    delimiter: str = ","

    def index(self, column: str) -> int:
        """The position of a column; ImportFailed naming the columns the file does have."""
        try:
            return self.header.index(column)
        except ValueError:
            raise ImportFailed(
                f"{self.name} has no column {column!r}; its columns are: {', '.join(self.header)}"
            ) from None

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line number, fields) for every data row; a row with the wrong field count fails."""
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter, strict=True)
        width = len(self.header)
        try:
            next(reader)
            for fields in reader:
                line = reader.line_num
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue  # blank line
                if len(fields) != width:
                    hint = " (truncated file?)" if len(fields) < width else ""
                    raise ImportFailed(
                        f"{self.name} line {line}: expected {width} fields, got {len(fields)}{hint}"
                    )
                yield line, fields
        except csv.Error as exc:
            raise ImportFailed(
                f"{self.name} line {reader.line_num}: {exc} (truncated or badly quoted file?)"
            ) from None


def open_csv(
    path: Path, required: Sequence[str] = (), *, encoding: str = "utf-8", delimiter: str = ","
) -> CsvTable:
    """Read a CSV file with a header row and check that the `required` columns are there.

    Raises:
        ImportFailed: empty file, wrong encoding, no header, or a required column missing.
    """
    text = read_text(path, encoding)
    first = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), None)
    if not first or not any(cell.strip() for cell in first):
        raise ImportFailed(f"{path.name} has no header row")
    table = CsvTable(path.name, tuple(cell.strip() for cell in first), text, delimiter)
    missing = [c for c in required if c not in table.header]
    if missing:
        raise ImportFailed(
            f"{path.name} is missing column(s) {', '.join(missing)}; its columns are: {', '.join(table.header)}"
        )
    return table


def parse_number(text: str, *, where: str, what: str) -> float | None:
    """A finite number from a CSV cell; empty cell -> None; anything else fails with `where`."""
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ImportFailed(f"{where}: {what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ImportFailed(f"{where}: {what} {text!r} is not a finite number")
    return value
