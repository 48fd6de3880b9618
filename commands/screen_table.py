"""The table a reporter screens: a CSV or XLSX file read with pandas (openpyxl for XLSX), every cell as text.

Bounded before it is read in full: the caller checks the file size, pandas stops after `max_rows + 1` rows
(openpyxl reads the sheet in read-only mode row by row), and over `MAX_COLUMNS` columns is refused. A file
that is not a table says so, and an unknown column lists the columns there are.
"""

from __future__ import annotations

import csv
import io
import warnings
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from commands.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

MAX_ROWS = 5_000  # per /screen in Discord; the CLI allows CLI_MAX_ROWS
CLI_MAX_ROWS = 200_000
MAX_FILE_BYTES = 8 * 1024 * 1024  # a Discord attachment larger than this is refused before it is downloaded
MAX_COLUMNS = 200
SNIFF_BYTES = 64 * 1024
DELIMITERS = ",;\t|"
DEFAULT_NAME_COLUMN = "name"
DEFAULT_COUNTRY_COLUMN = "country"
_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls (and .doc) container
FORMATS = "a CSV file (comma, semicolon or tab separated, UTF-8) or an Excel .xlsx file"


@dataclass(frozen=True)
class ScreenParams:
    """A file to screen and how: which columns, how many candidates, the thresholds and the row limit.

    `read` fetches the file's bytes (the Discord attachment is downloaded only after its size is checked).
    Scores left None are /entity's (commands.screen.thresholds_from). This module stays light to import:
    the bot builds these before it acknowledges the interaction.
    """

    filename: str
    read: Callable[[], Awaitable[bytes]] = field(repr=False)
    name_column: str | None = None
    country_column: str | None = None
    all_candidates: bool = False
    match_score: float | None = None
    possible_score: float | None = None
    max_rows: int = MAX_ROWS
    option_style: str = "name_column:"  # how errors name the column options (`--name-column` on the CLI)


def check_size(size: int, filename: str, limit: int = MAX_FILE_BYTES) -> None:
    """Refuse a file over `limit` bytes before reading it.

    Raises:
        InvalidInput: too large, or an empty file.
    """
    if size > limit:
        raise InvalidInput(
            f"{filename} is {size / 2**20:.1f} MB; the limit is {limit / 2**20:.0f} MB.",
            "Send only the name and country columns, or split the file.",
        )
    if size == 0:
        raise InvalidInput(f"{filename} is empty.", "Send a CSV or XLSX file with one name per row.")


@dataclass(frozen=True)
class Table:
    """The rows as text (missing cells are empty strings) and what kind of file they came from."""

    frame: pd.DataFrame
    kind: str  # "csv" or "xlsx"

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]


def _not_a_table(filename: str, why: str) -> InvalidInput:
    return InvalidInput(f"{filename} is not a table I can read: {why}.", f"Send {FORMATS}, one row per name.")


def _decode(data: bytes, filename: str) -> str:
    if b"\x00" in data[:SNIFF_BYTES]:
        raise _not_a_table(filename, "it is a binary file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in the system code page; cp1252 fails on bytes it does not define.
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            raise _not_a_table(filename, "its text is neither UTF-8 nor Windows-1252") from None


def _delimiter(text: str) -> str:
    """The separator of the first lines (`,` when they are a single column, which the sniffer refuses)."""
    try:
        return csv.Sniffer().sniff(text[:SNIFF_BYTES], delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def _read_csv(data: bytes, filename: str, max_rows: int) -> pd.DataFrame:
    import pandas as pd

    text = _decode(data, filename)
    if not text.strip():
        raise _not_a_table(filename, "it is empty")
    try:
        with warnings.catch_warnings():
            # A row longer than the header: pandas would keep part of it (and warn); it is a broken table.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                io.StringIO(text),
                sep=_delimiter(text),
                dtype=str,
                keep_default_na=False,
                nrows=max_rows + 1,
                skip_blank_lines=True,
                index_col=False,
            )
    except (pd.errors.ParserError, pd.errors.ParserWarning, pd.errors.EmptyDataError, ValueError) as exc:
        raise _not_a_table(filename, str(exc).splitlines()[0][:200]) from None


def _read_xlsx(data: bytes, filename: str, max_rows: int) -> pd.DataFrame:
    import pandas as pd

    try:
        frame = pd.read_excel(
            io.BytesIO(data), sheet_name=0, dtype=str, nrows=max_rows + 1, engine="openpyxl"
        )
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise _not_a_table(filename, f"the Excel file cannot be opened ({str(exc)[:120]})") from None
    return frame.fillna("")


def read_table(data: bytes, filename: str, *, max_rows: int) -> Table:
    """Read a CSV or XLSX file into text columns.

    Args:
        data: the file's bytes (already bounded in size by the caller).
        filename: its name, for the format and for messages.
        max_rows: more data rows than this is refused.
    Raises:
        InvalidInput: not a table (binary, empty, unreadable, old .xls), no rows, too many rows or columns.
    """
    if data.startswith(_OLE_MAGIC) or filename.lower().endswith(".xls"):
        raise InvalidInput(
            f"{filename} is an old-style Excel .xls file.", "Save it as .xlsx or CSV and send it again."
        )
    kind = "xlsx" if data.startswith(_XLSX_MAGIC) else "csv"
    frame = _read_xlsx(data, filename, max_rows) if kind == "xlsx" else _read_csv(data, filename, max_rows)
    frame.columns = [" ".join(str(c).split()) for c in frame.columns]
    if len(frame.columns) > MAX_COLUMNS:
        raise InvalidInput(
            f"{filename} has {len(frame.columns):,} columns; the limit is {MAX_COLUMNS}.",
            "Keep the name and country columns (and what you need next to them).",
        )
    frame = frame[(frame != "").any(axis=1)] if len(frame) else frame  # rows with every cell empty
    if len(frame) == 0:
        raise InvalidInput(f"{filename} has a header but no rows.", "Put one name per row under the header.")
    if len(frame) > max_rows:
        raise InvalidInput(
            f"{filename} has more than {max_rows:,} rows; the limit is {max_rows:,}.",
            "Split it into smaller files, or use `tradewatch screen` on the command line.",
        )
    return Table(frame.reset_index(drop=True).astype(str), kind)


def pick_column(table: Table, wanted: str | None, default: str, option: str) -> str | None:
    """The column the user named (spaces and case ignored), or `default` if the table has it.

    Raises:
        InvalidInput: a named column that is not in the table (the message lists the columns).
    """
    by_key = {c.casefold(): c for c in table.columns}
    if wanted is not None and wanted.strip():
        found = by_key.get(" ".join(wanted.split()).casefold())
        if found is None:
            raise InvalidInput(
                f"There is no column {wanted.strip()!r}.",
                f"Columns: {_column_list(table)}. Choose one with {option}.",
            )
        return found
    return by_key.get(default)


def name_column(table: Table, wanted: str | None, option: str) -> str:
    """The column of names to screen: the one named, else `name`.

    Raises:
        InvalidInput: no such column (the message lists the columns and the option to choose one).
    """
    found = pick_column(table, wanted, DEFAULT_NAME_COLUMN, option)
    if found is None:
        raise InvalidInput(
            f"There is no column {DEFAULT_NAME_COLUMN!r} of names to screen.",
            f"Columns: {_column_list(table)}. Choose one with {option}.",
        )
    return found


def _column_list(table: Table) -> str:
    shown = ", ".join(repr(c) for c in table.columns[:20])
    return shown + (f" … ({len(table.columns)} in all)" if len(table.columns) > 20 else "")
