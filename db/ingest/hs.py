"""HS nomenclature: the datasets/harmonized-system CSV (section, hscode, description, parent, level) -> hs_codes.

Stages: fetch (`tradewatch sync hs`: db/sync fetches the raw CSV of github.com/datasets/harmonized-system,
or `[sync.hs] urls`, with a conditional GET through db.ingest.fetch, then calls `run_import`), `parse`
(pure, checks every row), `normalise` (chapters' parent "TOTAL" -> none; the file's all-goods row "TOTAL"
is stored with level 0, the same code trade_flows uses for all-goods totals), `load` (one transaction,
upsert on the code). The same file twice (same sha256) changes nothing; a newer edition upserts changed descriptions and
adds new codes. Codes the new file no longer lists are kept and counted (trade data may still use them).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.base import (
    ImportFailed,
    IngestReport,
    find_snapshot,
    finish_snapshot,
    get_source,
    new_snapshot,
    progress,
    sha256_file,
)
from db.ingest.csvfile import open_csv
from db.ingest.trade_rows import TOTAL
from db.models import Base, HsCode

SOURCE_KEY = "hs"
COLUMNS = ("section", "hscode", "description", "parent", "level")


@dataclass(frozen=True)
class HsRow:
    """One nomenclature line as stored."""

    code: str
    level: int
    description: str
    parent: str | None
    section: str | None


def parse(path: Path) -> Iterator[tuple[int, HsRow]]:
    """(line, row) for every nomenclature line, checked and normalised.

    Raises:
        ImportFailed: missing columns, a code that is not 2/4/6 digits matching its level, a parent that
            is not the code's own heading, an empty description, bad encoding, a truncated file.
    """
    table = open_csv(path, COLUMNS)
    idx = {c: table.index(c) for c in COLUMNS}
    for line, fields in table.rows():
        yield (
            line,
            normalise({c: fields[i].strip() for c, i in idx.items()}, where=f"{path.name} line {line}"),
        )


def normalise(cells: dict[str, str], *, where: str) -> HsRow:
    """Check one row and map it to what hs_codes stores."""
    code, level_text, parent = cells["hscode"], cells["level"], cells["parent"]
    if not cells["description"]:
        raise ImportFailed(f"{where}: empty description for code {code!r}")
    if code == TOTAL:
        return HsRow(TOTAL, 0, cells["description"], None, None)
    if not level_text.isdigit() or int(level_text) not in (2, 4, 6):
        raise ImportFailed(f"{where}: level {level_text!r} is not 2, 4 or 6")
    level = int(level_text)
    if not code.isdigit() or len(code) != level:
        raise ImportFailed(f"{where}: code {code!r} is not a {level}-digit HS code")
    if level == 2:
        if parent not in ("", TOTAL):
            raise ImportFailed(f"{where}: chapter {code} has parent {parent!r}; chapters have none (TOTAL)")
        parent_code = None
    elif parent != code[: level - 2]:
        raise ImportFailed(f"{where}: code {code} has parent {parent!r}, expected {code[: level - 2]}")
    else:
        parent_code = parent
    return HsRow(code, level, cells["description"], parent_code, cells["section"] or None)


def edition(rows: dict[str, HsRow]) -> str | None:
    """The HS edition named by the file's TOTAL row ("Total of all HS2022 commodities" -> "HS2022")."""
    total = rows.get(TOTAL)
    match = re.search(r"HS\s?(\d{4})", total.description) if total else None
    return f"HS{match.group(1)}" if match else None


def read_all(path: Path, report: IngestReport) -> dict[str, HsRow]:
    """Parse the whole file into {code: row}; a code listed twice fails."""
    rows: dict[str, HsRow] = {}
    with progress(None, f"reading {path.name}") as bar:
        for line, row in parse(path):
            report.rows_read += 1
            if row.code in rows:
                raise ImportFailed(f"{path.name} line {line}: code {row.code} is listed twice")
            rows[row.code] = row
            bar.update(1)
    if not rows:
        raise ImportFailed(f"{path.name} has a header but no rows")
    return rows


async def load(session: AsyncSession, rows: dict[str, HsRow], report: IngestReport) -> None:
    """Upsert changed and new codes in the caller's transaction; count unchanged and no-longer-listed codes."""
    existing = {r.code: r for r in (await session.execute(select(HsCode))).scalars()}
    changed = []
    for code, row in rows.items():
        old = existing.get(code)
        if old is not None and (old.level, old.description, old.parent, old.section) == (
            row.level,
            row.description,
            row.parent,
            row.section,
        ):
            report.rows_unchanged += 1
        else:
            changed.append(asdict(row))
    dialect_insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(Base.metadata.tables[HsCode.__tablename__])
    stmt = stmt.on_conflict_do_update(
        index_elements=["code"],
        set_={c: stmt.excluded[c] for c in ("level", "description", "parent", "section")},
    )
    if changed:
        await session.execute(stmt, changed)  # executemany: compiled once
    report.rows_loaded = len(changed)
    dropped = len(set(existing) - set(rows))
    if dropped:
        report.extra["codes kept that this file no longer lists"] = f"{dropped:,}"


async def run_import(
    sessions: async_sessionmaker[AsyncSession], path: Path, *, now: dt.datetime, **options: object
) -> IngestReport:
    """Import an HS nomenclature CSV in one transaction (same file twice: nothing changes).

    Raises:
        ImportFailed: the file is malformed; nothing was changed.
    """
    if options:
        raise ImportFailed(f"the hs importer takes no options (got {', '.join(options)})")
    path = Path(path)
    report = IngestReport(source=SOURCE_KEY, file=path.name)
    sha = sha256_file(path)
    rows = read_all(path, report)
    async with sessions() as session, session.begin():
        source = await get_source(session, SOURCE_KEY)
        if await find_snapshot(session, source, sha) is not None:
            return IngestReport(source=SOURCE_KEY, file=path.name, already_loaded=True)
        snapshot = await new_snapshot(
            session,
            source,
            sha256=sha,
            file_name=path.name,
            now=now,
            data_date=edition(rows),
            meta={"codes": len(rows)},
        )
        await load(session, rows, report)
        finish_snapshot(snapshot, report)
    return report
