"""The benchmark's own databases: SQLite files under bench/.data/ and PostgreSQL databases it creates and drops.

Nothing here touches a user's database. The bulk rows (20M trade flows, 1M names) go in by a DIRECT load,
not through an importer: executemany on sqlite3 and COPY on asyncpg, with the secondary indexes dropped
during the load and re-created from the model's own definitions afterwards (what db.ingest.trade_load does
for a first bulk load on SQLite), then ANALYZE. Import speed through the real importers is measured
separately (bench.imports). Sources are labelled SYNTHETIC so no answer can pass the rows off as real.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Index
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateIndex, DropIndex

from bench.gen_names import SynthEntity
from bench.gen_trade import TradeChunk, TradeShape
from db.engine import make_engine, make_sessionmaker, upgrade
from db.ingest.base import new_snapshot
from db.ingest.trade_load import SourceSpec, ensure_source
from db.models import Base
from db.sources import load_importer

DATA_DIR = Path(__file__).resolve().parent / ".data"
_data_dir = [DATA_DIR]


def data_dir() -> Path:
    """Where the bench keeps its SQLite files, caches and generated files (bench/.data/ unless --data-dir)."""
    return _data_dir[0]


def set_data_dir(path: Path) -> None:
    _data_dir[0] = path


PG_ADMIN_URL = os.environ.get("TRADEWATCH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
NOW = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
TRADE_SOURCE = SourceSpec(
    "bench_synthetic_trade",
    title="SYNTHETIC benchmark trade flows (not real data)",
    publisher="tradewatch bench (generated)",
    notes="Invented by bench/gen_trade.py to measure speed; never quote these numbers.",
)
ENTITY_SOURCE = SourceSpec(
    "bench_synthetic_entities",
    title="SYNTHETIC benchmark entities (not a real list)",
    publisher="tradewatch bench (generated)",
    notes="Real name parts recombined by bench/gen_names.py; no entity here is listed anywhere.",
)
BULK_TABLES = ("trade_flows", "entity_names")


async def _pg_admin(sql: str) -> None:
    import asyncpg

    url = make_url(PG_ADMIN_URL)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_database(backend: str, label: str, *, fresh: bool = True) -> str:
    """A new, migrated database of the bench's own: `bench/.data/<label>.sqlite3` or `tradewatch_bench_*`."""
    if backend == "sqlite":
        data_dir().mkdir(parents=True, exist_ok=True)
        path = data_dir() / f"{label}.sqlite3"
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        name = f"tradewatch_bench_{label.replace('-', '_').replace('.', '_')}_{uuid.uuid4().hex[:6]}"
        await _pg_admin(f'CREATE DATABASE "{name}"')
        url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    return url


async def drop_database(url: str, *, delete_sqlite: bool = False) -> None:
    """Drop a bench PostgreSQL database; a SQLite file stays for the next run unless `delete_sqlite`."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if delete_sqlite and parsed.database:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    if parsed.get_backend_name() == "postgresql":
        assert parsed.database and parsed.database.startswith("tradewatch_bench_")
        await _pg_admin(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


async def import_file(url: str, source: str, path: Path, **options: Any) -> Any:
    """Run a real importer (as `tradewatch import`) against a bench database."""
    engine = make_engine(url)
    try:
        return await load_importer(source)(make_sessionmaker(engine), path, now=NOW, **options)
    finally:
        await engine.dispose()


async def add_source(url: str, spec: SourceSpec, file_name: str) -> tuple[int, int]:
    """The (source id, snapshot id) the bulk rows are attributed to."""
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            source = await ensure_source(session, spec)
            snap = await new_snapshot(
                session,
                source,
                sha256=uuid.uuid4().hex * 2,
                file_name=file_name,
                now=NOW,
                data_date="2023-12",
            )
            return source.id, snap.id
    finally:
        await engine.dispose()


def _indexes(table: str) -> list[Index]:
    return sorted(Base.metadata.tables[table].indexes, key=lambda i: str(i.name))


def trade_rows(
    chunk: TradeChunk, shape: TradeShape, source_id: int, snapshot_id: int
) -> list[tuple[Any, ...]]:
    """A chunk as trade_flows rows (source, snapshot, reporter, partner, flow, code, period, freq, level, value, kg)."""
    n = len(chunk)
    flows = ["X" if f == 0 else "M" for f in chunk.flow.tolist()]
    return list(
        zip(
            [source_id] * n, [snapshot_id] * n, chunk.reporter.tolist(), chunk.partner.tolist(), flows,
            shape.codes[chunk.code].tolist(), chunk.period.tolist(), ["M"] * n, [6] * n,
            chunk.value.tolist(), chunk.net_kg.tolist(), strict=True,
        )
    )  # fmt: skip


TRADE_COLUMNS = [
    "source_id", "snapshot_id", "reporter", "partner", "flow", "hs_code", "period", "freq", "hs_level", "value_usd", "net_kg",
]  # fmt: skip


def _sqlite_path(url: str) -> str:
    database = make_url(url).database
    assert database
    return database


def _sqlite_bulk(
    url: str, table: str, columns: Sequence[str], batches: Iterable[list[tuple[Any, ...]]]
) -> int:
    """executemany on plain sqlite3 in one transaction, secondary indexes dropped and rebuilt."""
    conn = sqlite3.connect(_sqlite_path(url), isolation_level=None)
    dialect = sqlite.dialect()
    rows = 0
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        for index in _indexes(table):
            conn.execute(str(DropIndex(index, if_exists=True).compile(dialect=dialect)))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
        for batch in batches:
            conn.executemany(sql, batch)
            rows += len(batch)
        for index in _indexes(table):
            conn.execute(str(CreateIndex(index).compile(dialect=dialect)))
        conn.execute("COMMIT")
        conn.execute("PRAGMA analysis_limit=2000")  # as db.ingest.trade_write.analyze does
        conn.execute("ANALYZE")
    finally:
        conn.close()
    return rows


async def _pg_bulk(
    url: str, table: str, columns: Sequence[str], batches: Iterable[list[tuple[Any, ...]]]
) -> int:
    """COPY through asyncpg in one transaction, secondary indexes dropped and rebuilt."""
    import asyncpg

    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database=parsed.database
    )
    dialect = postgresql.dialect()
    rows = 0
    try:
        await conn.execute("SET maintenance_work_mem = '1GB'")
        async with conn.transaction():
            for index in _indexes(table):
                await conn.execute(str(DropIndex(index, if_exists=True).compile(dialect=dialect)))
            for batch in batches:
                await conn.copy_records_to_table(table, records=batch, columns=list(columns))
                rows += len(batch)
            for index in _indexes(table):
                await conn.execute(str(CreateIndex(index).compile(dialect=dialect)))
        # `table` is one of this module's own constants, never user input.
        sequence = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
        await conn.execute(sequence)
        await conn.execute(f"ANALYZE {table}")
    finally:
        await conn.close()
    return rows


async def bulk_load(
    url: str, table: str, columns: Sequence[str], batches: Iterable[list[tuple[Any, ...]]]
) -> int:
    """Load rows into `table` of a bench database by the direct path of its backend; returns rows loaded."""
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_bulk(url, table, columns, batches)
    return await _pg_bulk(url, table, columns, batches)


async def load_entities(
    url: str,
    entities: Sequence[SynthEntity],
    keys: dict[str, tuple[str, str | None]],
    source_id: int,
    snapshot_id: int,
) -> int:
    """Entities, their names (normalised by the product's normalize_name) and one designation each."""
    postgres = make_url(url).get_backend_name() == "postgresql"
    entity_rows, name_rows, designation_rows = [], [], []
    for e in entities:
        props = json.dumps({"synthetic": True, "programs": [e.program]})
        entity_rows.append(
            (e.entity_id, source_id, f"SYN-{e.entity_id}", snapshot_id, e.schema, e.names[0][0],
             json.dumps(e.countries), props, f"{e.entity_id:064x}", True if postgres else 1)
        )  # fmt: skip
        for name, kind in e.names:
            key, script = keys[name]
            name_rows.append((len(name_rows) + 1, e.entity_id, name, key, script, kind))
        designation_rows.append(
            (
                e.entity_id,
                e.entity_id,
                "SYNTHETIC authority (bench)",
                e.list_name,
                e.program,
                None,
                None,
                None,
                None,
            )
        )
    await bulk_load(url, "entities", ["id", "source_id", "source_key", "snapshot_id", "schema", "name", "countries",
                                      "properties", "content_hash", "active"], _batches(entity_rows))  # fmt: skip
    await bulk_load(url, "designations", ["id", "entity_id", "authority", "list_name", "program", "listed_on",
                                          "reference", "source_url", "details"], _batches(designation_rows))  # fmt: skip
    return await bulk_load(
        url, "entity_names", ["id", "entity_id", "name", "normalized", "script", "kind"], _batches(name_rows)
    )


def _batches(rows: list[tuple[Any, ...]], size: int = 100_000) -> Iterable[list[tuple[Any, ...]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
