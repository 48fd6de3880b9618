"""A toy importer for tests/db/test_source_registry.py: it files a text file as a snapshot of `toy_list`.

Its input is invented by the test (one made-up name per line) and says so; it loads no entities. It is
reached only through the registry entry the test adds, as a real importer is.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.base import (
    ImportFailed,
    IngestReport,
    find_snapshot,
    finish_snapshot,
    get_source,
    new_snapshot,
    sha256_file,
)

SOURCE_KEY = "toy_list"


async def run_import(
    sessions: async_sessionmaker[AsyncSession],
    path: Path,
    *,
    now: dt.datetime,
    flavour: str | None = None,
    mass_change: object = None,
) -> IngestReport:
    """File the lines of `path` as one snapshot; `flavour` is echoed in the report and the snapshot's meta.

    `mass_change` is the guard policy every list importer is given (db/ingest/mass_change.py); a toy list
    records no entries, so it has nothing to guard.
    """
    path = Path(path)
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise ImportFailed(f"{path.name} has no lines")
    report = IngestReport(source=SOURCE_KEY, file=path.name, rows_read=len(lines), rows_loaded=len(lines))
    report.extra["flavour"] = flavour or "none"
    sha = sha256_file(path)
    async with sessions() as session, session.begin():
        source = await get_source(session, SOURCE_KEY)
        if await find_snapshot(session, source, sha) is not None:
            return IngestReport(source=SOURCE_KEY, file=path.name, already_loaded=True)
        snapshot = await new_snapshot(
            session, source, sha256=sha, file_name=path.name, now=now, meta={"flavour": flavour}
        )
        finish_snapshot(snapshot, report)
    return report
