"""The load stage every trade importer shares: flows keyed by their natural key, diffed and written fast.

The rows' representation rules are in db.ingest.trade_rows.

Load path: a first load of a scope is a plain batched INSERT in natural-key order (about 250,000 rows/s on
SQLite on this machine); a re-import reads the existing rows of the same source, reporters and periods,
inserts the new keys, upserts (INSERT ... ON CONFLICT DO UPDATE) only the changed ones and leaves unchanged
rows alone. Sources whose file is the whole table (`replace=True`) also delete rows the new file dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest import trade_write as tw
from db.ingest.base import (
    ImportFailed,
    IngestReport,
    find_snapshot,
    finish_snapshot,
    get_source,
    new_snapshot,
    progress,
)
from db.ingest.trade_rows import FlowSet
from db.ingest.trade_write import Flow, FlowKey
from db.models import Source, TradeFlow
from db.sources import SOURCES

log = logging.getLogger(__name__)

BULK_REBUILD_MIN = 50_000  # SQLite: rebuild indexes after a load of at least this many new rows (if >= table)
ANALYZE_AFTER = 10_000  # rows written; refresh planner statistics after loads at least this big


@dataclass(frozen=True)
class SourceSpec:
    """Which `sources` row the flows belong to. Registry keys (db/sources) take their title from the registry."""

    key: str
    title: str | None = None
    publisher: str | None = None
    url: str | None = None
    notes: str | None = None


async def ensure_source(session: AsyncSession, spec: SourceSpec) -> Source:
    """The `sources` row for `spec`, created on first use (registry entries win for known keys)."""
    if spec.key in SOURCES:
        return await get_source(session, spec.key)
    source = (await session.execute(select(Source).where(Source.key == spec.key))).scalar_one_or_none()
    if source is None:
        if not spec.title or not spec.publisher:
            raise ImportFailed(
                f"source {spec.key!r} is new: give its title and publisher so answers can cite it"
            )
        source = Source(
            key=spec.key, title=spec.title, publisher=spec.publisher, url=spec.url, notes=spec.notes
        )
        session.add(source)
        await session.flush()
    return source


Existing = dict[FlowKey, tuple[int, tuple[Any, ...]]]


async def existing_flows(
    session: AsyncSession, source_id: int, keys: Sequence[FlowKey], *, whole_reporters: bool = False
) -> Existing:
    """Rows of this source for the reporters (and, unless `whole_reporters`, the period range) of `keys`."""
    reporters = sorted({k[0] for k in keys})
    cols = [getattr(TradeFlow, c) for c in ("id", *Flow._fields)]
    stmt = select(*cols).where(TradeFlow.source_id == source_id, TradeFlow.reporter.in_(reporters))
    if not whole_reporters:
        periods = [k[4] for k in keys]
        stmt = stmt.where(TradeFlow.period.between(min(periods), max(periods)))
    result = await session.execute(stmt)
    return {tuple(row[1:7]): (row[0], tuple(row[7:])) for row in result}


@dataclass
class Plan:
    """What a load will do."""

    new: list[Flow]
    changed: list[Flow]
    unchanged: int
    removed_ids: list[int]

    @property
    def written(self) -> int:
        return len(self.new) + len(self.changed)


def plan_load(flows: Mapping[FlowKey, Flow], existing: Existing, *, replace: bool) -> Plan:
    """Split the file's flows into new, changed and unchanged; with `replace`, list rows it dropped."""
    if not existing:  # first load of this scope: everything is new
        return Plan(sorted(flows.values()), [], 0, [])
    new: list[Flow] = []
    changed: list[Flow] = []
    unchanged = 0
    for key, flow in flows.items():
        found = existing.get(key)
        if found is None:
            new.append(flow)
        elif found[1] == tuple(flow[6:]):
            unchanged += 1
        else:
            changed.append(flow)
    removed = [row_id for key, (row_id, _) in existing.items() if key not in flows] if replace else []
    new.sort()  # natural-key order: B-tree inserts stay local (2x faster on SQLite than random order)
    return Plan(new, changed, unchanged, removed)


async def _no_rows(session: AsyncSession) -> bool:
    return (await session.execute(select(TradeFlow.id).limit(1))).first() is None


async def _bulk_rebuild(session: AsyncSession, new_rows: int, concurrent: bool) -> bool:
    """On SQLite, a load at least as big as the table is faster with the goods index dropped and rebuilt
    (the natural-key index stays: see `trade_write.set_indexes`).

    The drop and rebuild are part of the load's transaction (SQLite DDL is transactional), so a failed
    load restores them; readers in WAL mode keep seeing the previous state. Never on PostgreSQL: dropping
    an index there locks out every reader of the shared database.
    """
    if concurrent or new_rows < BULK_REBUILD_MIN or session.get_bind().dialect.name != "sqlite":
        return False
    current = (await session.execute(select(func.max(TradeFlow.id)))).scalar() or 0
    return new_rows >= current


async def load_flows(
    session: AsyncSession,
    *,
    source_id: int,
    snapshot_id: int,
    flows: Mapping[FlowKey, Flow],
    report: IngestReport,
    replace: bool = False,
    concurrent: bool = False,
) -> None:
    """Write `flows` in the caller's transaction and count what happened in `report`.

    Args:
        session: a session inside a transaction (the caller commits or rolls back).
        source_id: the flows' source.
        snapshot_id: the snapshot new and changed rows are attributed to.
        flows: the file's flows by natural key.
        report: gets rows_loaded (new + changed), rows_unchanged and extra counts.
        replace: the flows are the whole table for their reporters: delete rows of this source and these
            reporters that `flows` does not have.
        concurrent: other writers may insert the same keys at the same time (on-demand fetches): insert
            new rows with ON CONFLICT DO UPDATE instead of a plain INSERT.
    """
    keys = list(flows)
    empty = not keys or await _no_rows(session)  # a first load: nothing to read back (20 ms at 250k keys)
    existing = {} if empty else await existing_flows(session, source_id, keys, whole_reporters=replace)
    plan = plan_load(flows, existing, replace=replace)
    ids = {"source_id": source_id, "snapshot_id": snapshot_id}
    rebuild = await _bulk_rebuild(session, len(plan.new), concurrent)
    if rebuild:
        await tw.set_indexes(session, present=False)
    with progress(plan.written, "loading trade flows") as bar:
        await _write_plan(session, plan, ids, concurrent, bar)
    await _finish_load(session, plan.removed_ids, written=plan.written, rebuild=rebuild)
    report.rows_loaded += plan.written
    report.rows_unchanged += plan.unchanged
    report.extra["new / updated / removed rows"] = (
        f"{len(plan.new):,} / {len(plan.changed):,} / {len(plan.removed_ids):,}"
    )


async def _write_plan(
    session: AsyncSession, plan: Plan, ids: dict[str, int], concurrent: bool, bar: Any
) -> None:
    """A plan's new rows (COPY on PostgreSQL, multi-row INSERTs on SQLite, upserts if `concurrent`) and its
    changed rows (upserts)."""
    dialect = session.get_bind().dialect
    if plan.new and dialect.name == "postgresql" and not concurrent:
        await tw.copy_postgresql(session, ids["source_id"], ids["snapshot_id"], plan.new, bar)
    elif plan.new and dialect.name == "sqlite" and not concurrent:
        await tw.insert_sqlite(session, ids, plan.new, bar)
    elif plan.new:
        await tw.executemany(session, tw.insert_sql(dialect, **ids, upsert=concurrent), plan.new, bar)
    if plan.changed:
        await tw.executemany(session, tw.insert_sql(dialect, **ids, upsert=True), plan.changed, bar)


async def _finish_load(session: AsyncSession, removed_ids: list[int], *, written: int, rebuild: bool) -> None:
    """After the inserts: indexes back, dropped rows deleted, planner statistics refreshed."""
    if rebuild:
        await tw.set_indexes(session, present=True)
    for start in range(0, len(removed_ids), 1000):
        await session.execute(delete(TradeFlow).where(TradeFlow.id.in_(removed_ids[start : start + 1000])))
    if written >= ANALYZE_AFTER:
        await tw.analyze(session)


@dataclass
class ParsedFlows:
    """The output of an importer's parse + normalise stages."""

    flows: FlowSet
    data_date: str | None
    meta: dict[str, Any] = field(default_factory=dict)


async def write_parsed(
    session: AsyncSession,
    *,
    spec: SourceSpec,
    parsed: ParsedFlows,
    sha256: str,
    file_name: str,
    now: dt.datetime,
    report: IngestReport,
    replace: bool = False,
    concurrent: bool = False,
) -> bool:
    """Snapshot + load inside the caller's transaction. False if this exact file was already loaded."""
    source = await ensure_source(session, spec)
    if await find_snapshot(session, source, sha256) is not None:
        report.already_loaded = True
        return False
    snapshot = await new_snapshot(
        session,
        source,
        sha256=sha256,
        file_name=file_name,
        now=now,
        data_date=parsed.data_date,
        meta=parsed.meta or None,
    )
    await load_flows(
        session,
        source_id=source.id,
        snapshot_id=snapshot.id,
        flows=parsed.flows.rows,
        report=report,
        replace=replace,
        concurrent=concurrent,
    )
    finish_snapshot(snapshot, report)
    return True


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


async def already_loaded(sessions: async_sessionmaker[AsyncSession], spec: SourceSpec, sha256: str) -> bool:
    """True when a snapshot of the source with this checksum exists (a cheap check before parsing).

    Raises:
        ImportFailed: the source is new and `spec` lacks the title and publisher answers must cite.
    """
    async with sessions() as session:
        source = (await session.execute(select(Source).where(Source.key == spec.key))).scalar_one_or_none()
        if source is None and spec.key not in SOURCES and not (spec.title and spec.publisher):
            raise ImportFailed(
                f"source {spec.key!r} is new: give its title and publisher so answers can cite it"
            )
        return source is not None and await find_snapshot(session, source, sha256) is not None


async def import_flows(
    sessions: async_sessionmaker[AsyncSession],
    *,
    spec: SourceSpec,
    path: Path,
    sha256: str,
    now: dt.datetime,
    report: IngestReport,
    parse: Callable[[], ParsedFlows],
    replace: bool = False,
    dry_run: bool = False,
) -> IngestReport:
    """Run a trade importer: skip a file already loaded, parse it, then load it in ONE transaction.

    Raises:
        ImportFailed: the file is malformed (from `parse`), or another writer loaded the same flows at the
            same moment. Nothing was changed.
    """
    if await already_loaded(sessions, spec, sha256):
        report.already_loaded = True
        return report
    parsed = parse()
    if not parsed.flows:
        raise ImportFailed(
            f"{path.name}: no trade flows to load ({report.rows_read:,} rows read, all skipped)"
        )
    try:
        async with sessions() as session, session.begin():
            await write_parsed(
                session,
                spec=spec,
                parsed=parsed,
                sha256=sha256,
                file_name=path.name,
                now=now,
                report=report,
                replace=replace,
            )
            if dry_run:
                raise _DryRun
    except _DryRun:
        report.extra["dry run"] = "nothing was written"
    except (IntegrityError, tw.ConcurrentWrite) as exc:
        log.debug("integrity error during import", exc_info=exc)
        raise ImportFailed(
            f"{path.name}: another import wrote the same rows at the same moment; run it again"
        ) from None
    return report
