"""Writing Flow rows into `trade_flows` fast, on each backend: the row shape, the INSERT/upsert compiled once
for the driver's executemany, multi-row INSERTs on SQLite, COPY on PostgreSQL, the index drop/rebuild of a
bulk load, and planner statistics. `db.ingest.trade_load` decides what to write; this module writes it.
"""

from __future__ import annotations

import functools
import sqlite3
from contextlib import closing
from itertools import chain
from typing import Any, NamedTuple

from sqlalchemy import ColumnClause, Index, bindparam, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Base, TradeFlow

BATCH_SIZE = 50_000
# SQLite bulk path: rows per INSERT (within `sqlite_rows_limit`); measured at 250,000 rows on SQLite 3.40, 500
# take a third less CPU than 90, and more gain nothing.
ROWS_PER_INSERT = 500


class Flow(NamedTuple):
    """One trade value, ready to load. The first six fields are the natural key (with the source)."""

    reporter: int
    partner: int
    flow: str
    hs_code: str
    period: int
    freq: str
    hs_level: int
    value_usd: float | None
    net_kg: float | None = None
    qty: float | None = None
    qty_unit: str | None = None


FlowKey = tuple[int, int, str, str, int, str]
KEY_COLUMNS = ("reporter", "partner", "flow", "hs_code", "period", "freq", "source_id")
VALUE_COLUMNS = ("hs_level", "value_usd", "net_kg", "qty", "qty_unit")


class ConcurrentWrite(Exception):
    """A row of this load already exists: another writer stored the same keys at the same moment."""


def _dialect_insert(dialect: Dialect) -> Any:
    return postgresql.insert if dialect.name == "postgresql" else sqlite.insert


@functools.lru_cache(maxsize=64)
def insert_sql(dialect: Dialect, *, source_id: int, snapshot_id: int, upsert: bool) -> str:
    """The INSERT (or upsert on the natural key) of one row as driver SQL whose parameters are a `Flow`.

    Built with SQLAlchemy's `insert()` and compiled once per load, then run with the driver's executemany
    over the Flow tuples themselves (the table's columns are in Flow's order; source and snapshot ids are
    integers from our own rows, compiled in as literals): the per-row dict handling of
    `session.execute(insert(...), [dicts])` would halve the throughput.
    """
    ids: dict[str, ColumnClause[Any]] = {
        "source_id": literal_column(str(int(source_id))),
        "snapshot_id": literal_column(str(int(snapshot_id))),
    }
    values = {**{c: bindparam(c) for c in Flow._fields}, **ids}
    stmt = _dialect_insert(dialect)(TradeFlow.__table__).values(values)
    if upsert:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(KEY_COLUMNS),
            set_={c: stmt.excluded[c] for c in ("snapshot_id", *VALUE_COLUMNS)},
        )
    compiled = stmt.compile(dialect=dialect, for_executemany=True)  # no RETURNING on PostgreSQL
    if tuple(compiled.positiontup or ()) != Flow._fields:
        raise RuntimeError(f"trade_flows columns are not in Flow's order: {compiled.positiontup}")
    return str(compiled)


def multirow_sql(one_row: str, rows: int) -> str:
    """A plain one-row INSERT of `insert_sql` as one INSERT of `rows` rows, whose parameters are as many Flows
    one after the other: the statement's VALUES group repeated (what SQLAlchemy compiles for a list of
    rows, checked by the tests, without the 60 ms it takes to compile 500 rows in every import process).
    """
    head, values, group = one_row.partition(" VALUES ")
    if not values or " ON CONFLICT " in group:
        raise ValueError("multirow_sql takes a plain one-row INSERT")
    return head + values + ", ".join([group] * rows)


@functools.cache
def sqlite_rows_limit() -> int:
    """Flows one SQLite statement can take: the library's limit on parameters per statement (32,766 since
    SQLite 3.32, 999 before) over the parameters of a Flow."""
    with closing(sqlite3.connect(":memory:")) as probe:
        return max(1, probe.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(Flow._fields))


NATURAL_KEY_INDEX = "uq_trade_flows_natural_key"


async def set_indexes(session: AsyncSession, *, present: bool) -> None:
    """Drop or (re)create the secondary indexes a bulk load rebuilds, exactly as the model defines them.

    The natural-key index stays: a bulk load inserts its rows in natural-key order, so each new entry goes
    at the end of its part of that index (measured at 250,000 rows: keeping it adds 0.05 s to the inserts,
    rebuilding it costs 0.2 s), and it keeps refusing a duplicate key at the INSERT itself.
    """
    conn = await session.connection()
    table = Base.metadata.tables[TradeFlow.__tablename__]
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        if index.name == NATURAL_KEY_INDEX:
            continue

        def change(sync_conn: Connection, index: Index = index) -> None:
            if present:
                index.create(sync_conn, checkfirst=True)
            else:
                index.drop(sync_conn, checkfirst=True)

        await conn.run_sync(change)


async def copy_postgresql(
    session: AsyncSession, source_id: int, snapshot_id: int, flows: list[Flow], bar: Any
) -> None:
    """New rows on PostgreSQL: COPY through asyncpg on the session's own connection (same transaction).

    About 8x the rows/s of a batched INSERT; used only for keys nobody else writes (not `concurrent`).
    """
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    columns = ["source_id", "snapshot_id", *Flow._fields]
    for start in range(0, len(flows), BATCH_SIZE):
        batch = flows[start : start + BATCH_SIZE]
        try:
            await driver.copy_records_to_table(
                "trade_flows", records=[(source_id, snapshot_id, *f) for f in batch], columns=columns
            )
        except Exception as exc:  # asyncpg's own errors: not wrapped by SQLAlchemy on this raw path
            if getattr(exc, "sqlstate", None) == "23505":  # unique_violation
                raise ConcurrentWrite(str(exc)) from None
            raise
        bar.update(len(batch))


async def executemany(session: AsyncSession, sql: str, flows: list[Flow], bar: Any) -> None:
    conn = await session.connection()
    for start in range(0, len(flows), BATCH_SIZE):
        batch = flows[start : start + BATCH_SIZE]
        await conn.exec_driver_sql(sql, batch)
        bar.update(len(batch))


async def insert_sqlite(session: AsyncSession, ids: dict[str, int], flows: list[Flow], bar: Any) -> None:
    """New rows on SQLite: INSERTs of ROWS_PER_INSERT rows each, run with the driver's executemany.

    The rows keep their order. The last len(flows) % ROWS_PER_INSERT rows go one per statement.
    """
    dialect = session.get_bind().dialect
    one_row = insert_sql(dialect, **ids, upsert=False)
    rows = min(ROWS_PER_INSERT, sqlite_rows_limit())
    width = rows * len(Flow._fields)
    whole = len(flows) - len(flows) % rows
    if whole:
        sql = multirow_sql(one_row, rows)
        conn = await session.connection()
        step = max(rows, BATCH_SIZE - BATCH_SIZE % rows)  # whole statements per batch
        for start in range(0, whole, step):
            batch = flows[start : min(start + step, whole)]
            flat = tuple(chain.from_iterable(batch))
            await conn.exec_driver_sql(sql, [flat[i : i + width] for i in range(0, len(flat), width)])
            bar.update(len(batch))
    if whole < len(flows):
        await executemany(session, one_row, flows[whole:], bar)


async def analyze(session: AsyncSession) -> None:
    """Refresh the planner's statistics for trade_flows (bounded on SQLite so it stays quick at 20M rows)."""
    conn = await session.connection()
    if conn.dialect.name == "sqlite":
        await conn.exec_driver_sql("PRAGMA analysis_limit=2000")
    await conn.exec_driver_sql("ANALYZE trade_flows")
