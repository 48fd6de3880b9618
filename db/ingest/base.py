"""Shared importer plumbing: source rows, snapshots, checksums, reports and progress bars."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tqdm import tqdm

from db.models import Snapshot, Source
from db.sources import SOURCES

log = logging.getLogger(__name__)


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_files(paths: list[Path]) -> str:
    """One sha256 over several files (a multi-file source such as OFAC's CSV set), in the order given."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(sha256_file(path).encode())
    return digest.hexdigest()


@dataclass
class IngestReport:
    """What an import did: rows read, loaded and skipped (with reasons), and whether it was a re-run."""

    source: str
    file: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_unchanged: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    already_loaded: bool = False
    snapshot_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())

    def skip(self, reason: str, **context: Any) -> None:
        """Count a skipped row; log its context at debug level (key=value)."""
        self.skipped[reason] += 1
        if context:
            log.debug("skipped row: %s %s", reason, " ".join(f"{k}={v!r}" for k, v in context.items()))

    def summary(self) -> str:
        """A few lines for the terminal."""
        if self.already_loaded:
            return f"{self.source}: {self.file} is already loaded (same sha256); nothing changed."
        lines = [
            f"{self.source}: {self.file}",
            f"  rows read {self.rows_read:,}, loaded {self.rows_loaded:,}, "
            f"unchanged {self.rows_unchanged:,}, skipped {self.rows_skipped:,}",
        ]
        for reason, count in self.skipped.most_common():
            lines.append(f"    skipped {count:,}: {reason}")
        for key, value in self.extra.items():
            lines.append(f"  {key}: {value}")
        return "\n".join(lines)


def progress(total: int | None, desc: str, unit: str = "rows") -> tqdm[Any]:
    """A progress bar on stderr, shown only on a terminal (quiet in tests and logs)."""
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=True,
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
        leave=False,
    )


async def get_source(session: AsyncSession, key: str, *, title: str | None = None) -> Source:
    """The `sources` row for a key, created on first use with its registry entry's title and citation."""
    source = (await session.execute(select(Source).where(Source.key == key))).scalar_one_or_none()
    if source is None:
        info = SOURCES.get(key)
        source = Source(
            key=key,
            title=title or (info.title if info else key),
            publisher=info.publisher if info else (title or key),
            url=info.url if info else None,
            notes=info.notes if info else None,
        )
        session.add(source)
        await session.flush()
    return source


async def find_snapshot(session: AsyncSession, source: Source, sha256: str) -> Snapshot | None:
    """An existing snapshot of `source` with the same checksum (the file was loaded before)."""
    stmt = select(Snapshot).where(Snapshot.source_id == source.id, Snapshot.sha256 == sha256)
    return (await session.execute(stmt)).scalar_one_or_none()


async def new_snapshot(
    session: AsyncSession,
    source: Source,
    *,
    sha256: str,
    file_name: str,
    now: dt.datetime,
    data_date: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Snapshot:
    """Add a snapshot row (inside the caller's transaction) and return it with its id."""
    snapshot = Snapshot(
        source_id=source.id,
        sha256=sha256,
        file_name=file_name,
        fetched_at=now,
        data_date=data_date,
        meta=meta,
    )
    session.add(snapshot)
    await session.flush()
    return snapshot


def finish_snapshot(snapshot: Snapshot, report: IngestReport) -> None:
    """Copy the report's counts onto the snapshot row."""
    snapshot.rows_read = report.rows_read
    snapshot.rows_loaded = report.rows_loaded
    snapshot.rows_skipped = report.rows_skipped
    snapshot.skipped_reasons = dict(report.skipped) or None
    report.snapshot_id = snapshot.id


class ImportFailed(Exception):
    """A source file could not be imported; nothing was changed. The message says why and where."""
