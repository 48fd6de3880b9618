"""Parse OFAC's legacy CSV set (sdn.csv + add.csv + alt.csv + sdn_comments.csv, or the cons_* files).

No header; `-0-` (often `-0- `) is null; CRLF or LF; a trailing 0x1A byte. Rows are read one at a time
(streaming); a row of the wrong width, text that is not UTF-8, a broken quote or a repeated ent_num stops the
import with a message that names the file and line. Pure: no database.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from db.ingest.base import ImportFailed
from db.ingest.ofac_remarks import RemarkFacts

# File names of the two list families, by part. "main" is required; the others are optional.
FILE_SETS: dict[str, dict[str, str]] = {
    "ofac_sdn": {"main": "sdn.csv", "add": "add.csv", "alt": "alt.csv", "comments": "sdn_comments.csv"},
    "ofac_cons": {
        "main": "cons_prim.csv",
        "add": "cons_add.csv",
        "alt": "cons_alt.csv",
        "comments": "cons_comments.csv",
    },
}
WIDTHS = {"main": 12, "add": 6, "alt": 5, "comments": 2}
ALIAS_KINDS = {"aka": "aka", "fka": "fka", "nka": "nka", "a.k.a.": "aka", "f.k.a.": "fka", "n.k.a.": "nka"}


@dataclass
class OfacEntry:
    """One OFAC list entry as the files give it, before normalisation (shared by the CSV and XML forms)."""

    key: str
    name: str
    sdn_type: str | None
    programs: list[str]
    title: str | None = None
    vessel: dict[str, str] = field(default_factory=dict)
    remarks: str | None = None
    addresses: list[dict[str, Any]] = field(default_factory=list)
    aliases: list[tuple[str, str]] = field(default_factory=list)
    facts: RemarkFacts | None = None  # XML: structured lists given by the file
    parts: dict[str, Any] = field(default_factory=dict)  # raw values per part, for part hashes


def null(cell: str) -> str | None:
    """OFAC's `-0-` null marker (with or without trailing space) -> None; other cells stripped."""
    value = cell.strip().strip("\x1a").strip()
    return None if value in ("-0-", "") else value


def read_rows(path: Path, width: int) -> Iterator[tuple[int, list[str | None]]]:
    """(line number, cells) of an OFAC CSV file, nulls as None; ImportFailed on anything malformed."""
    line = 0
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, strict=True)
            for row in reader:
                line = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip("\x1a \r\n")):
                    continue  # blank line or the trailing 0x1A end-of-file byte
                if len(row) != width:
                    raise ImportFailed(
                        f"{path.name} line {line}: expected {width} columns, found {len(row)} "
                        f"(is this an OFAC {path.name}? a truncated file?)"
                    )
                yield line, [null(cell) for cell in row]
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"{path.name} near line {line + 1}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise ImportFailed(
            f"{path.name} line {line + 1}: broken CSV ({exc}); the file may be truncated"
        ) from None


def ent_num(value: str | None, path: Path, line: int) -> str:
    """The entity number as a canonical string; ImportFailed if it is not a number."""
    if value is None or not value.isdigit():
        raise ImportFailed(f"{path.name} line {line}: ent_num {value!r} is not a number")
    return str(int(value))


def split_programs(cell: str | None) -> list[str]:
    """`UKRAINE-EO13661] [CYBER2` -> ["UKRAINE-EO13661", "CYBER2"]."""
    if not cell:
        return []
    return [p.strip(" []") for p in cell.split("] [") if p.strip(" []")]


END_OF_FILE = b"\x1a"  # OFAC ends every CSV it publishes with this byte


def ends_with_terminator(path: Path) -> bool:
    """True when the file's last byte is OFAC's end-of-file byte (trailing blanks after it allowed)."""
    with path.open("rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - 16))
        return fh.read().rstrip(b" \r\n").endswith(END_OF_FILE)


def require_complete(path: Path) -> None:
    """A file cut short at a line boundary parses as a shorter list: read it as a mass delisting no more."""
    if not ends_with_terminator(path):
        raise ImportFailed(
            f"{path.name}: incomplete: it does not end with OFAC's end-of-file byte (0x1A), so it was cut short "
            "(an interrupted download?); nothing was imported. Fetch the file again"
        )


def read_main(path: Path) -> dict[str, OfacEntry]:
    """sdn.csv / cons_prim.csv: one entry per ent_num (a repeated ent_num is an error)."""
    entries: dict[str, OfacEntry] = {}
    for line, cells in read_rows(path, WIDTHS["main"]):
        key = ent_num(cells[0], path, line)
        if key in entries:
            raise ImportFailed(f"{path.name} line {line}: ent_num {key} appears twice")
        if not cells[1]:
            raise ImportFailed(f"{path.name} line {line}: entry {key} has no name")
        vessel = {
            k: v
            for k, v in zip(
                ("call_sign", "vessel_type", "tonnage", "gross_registered_tonnage", "flag", "owner"),
                cells[5:11],
                strict=True,
            )
            if v
        }
        entries[key] = OfacEntry(
            key=key,
            name=cells[1],
            sdn_type=cells[2],
            programs=split_programs(cells[3]),
            title=cells[4],
            vessel=vessel,
            remarks=cells[11],
            parts={"main": [c for c in cells]},
        )
    if not entries:
        raise ImportFailed(f"{path.name} has no entries (empty file?)")
    require_complete(path)
    return entries


def attach_addresses(path: Path, entries: dict[str, OfacEntry], skipped: Counter[str]) -> int:
    """add.csv: addresses onto their entries; rows for unknown entries are counted, not fatal."""
    rows = 0
    for line, cells in read_rows(path, WIDTHS["add"]):
        rows += 1
        entry = entries.get(ent_num(cells[0], path, line))
        if entry is None:
            skipped[f"{path.name}: address of an ent_num not in the main file"] += 1
            continue
        address = {
            k: v for k, v in zip(("street", "city", "country_name", "remarks"), cells[2:6], strict=True) if v
        }
        address["full"] = ", ".join(v for v in (cells[2], cells[3], cells[4]) if v)
        entry.addresses.append(address)
        entry.parts.setdefault("add", []).append(cells[1:])
    return rows


def attach_aliases(path: Path, entries: dict[str, OfacEntry], skipped: Counter[str]) -> int:
    """alt.csv: aliases (aka/fka/nka; `weak aka` becomes kind weak) onto their entries."""
    rows = 0
    for line, cells in read_rows(path, WIDTHS["alt"]):
        rows += 1
        entry = entries.get(ent_num(cells[0], path, line))
        if entry is None or not cells[3]:
            reason = (
                f"{path.name}: alias of an ent_num not in the main file"
                if entry is None
                else f"{path.name}: alias without a name"
            )
            skipped[reason] += 1
            continue
        kind_text = (cells[2] or "aka").strip().lower()
        kind = "weak" if "weak" in kind_text else ALIAS_KINDS.get(kind_text, "aka")
        entry.aliases.append((cells[3], kind))
        entry.parts.setdefault("alt", []).append(cells[1:])
    return rows


def attach_comments(path: Path, entries: dict[str, OfacEntry], skipped: Counter[str]) -> int:
    """sdn_comments.csv: the Remarks overflow, appended to the entry's remarks as OFAC splits them."""
    rows = 0
    for line, cells in read_rows(path, WIDTHS["comments"]):
        rows += 1
        entry = entries.get(ent_num(cells[0], path, line))
        if entry is None or not cells[1]:
            skipped[f"{path.name}: comment of an ent_num not in the main file"] += 1
            continue
        entry.remarks = (entry.remarks or "") + cells[1]
        entry.parts.setdefault("comments", []).append(cells[1])
    return rows


def _rows_hash(rows: list[Any]) -> str:
    text = "\x1e".join(
        sorted(
            "\x1f".join(c if c is not None else "\x00" for c in row) if isinstance(row, list) else str(row)
            for row in rows
        )
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def part_hashes(entry: OfacEntry, present: list[str]) -> dict[str, str]:
    """A short hash per file the entry's data came from (only for the files present in the set)."""
    out = {"main": _rows_hash([entry.parts.get("main") or []])}
    for part in present:
        out[part] = _rows_hash(entry.parts.get(part, []))
    return out


def read_csv_set(
    folder: Path, list_key: str, skipped: Counter[str]
) -> tuple[dict[str, OfacEntry], list[str], int]:
    """Read a folder's CSV set: entries, the optional parts present, and the rows read in total."""
    files = FILE_SETS[list_key]
    entries = read_main(folder / files["main"])
    rows = len(entries)
    present: list[str] = []
    for part, reader in (("add", attach_addresses), ("alt", attach_aliases), ("comments", attach_comments)):
        path = folder / files[part]
        if path.is_file():
            present.append(part)
            rows += reader(path, entries, skipped)
            # sdn_comments.csv is only the overflow of long remarks; OFAC's 2021 copy had no end byte.
            if part != "comments":
                require_complete(path)
    return entries, present, rows
