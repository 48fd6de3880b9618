"""The shared trade load path: planning, the bulk path (indexes dropped and rebuilt), rollback, concurrency mode."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import bindparam, insert, inspect, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.ingest import trade_csv, trade_load, trade_write
from db.ingest.base import ImportFailed, IngestReport
from db.ingest.trade_load import plan_load
from db.ingest.trade_rows import TOTAL, FlowSet, hs_level, period_label
from db.ingest.trade_write import Flow, insert_sql, multirow_sql
from db.lookups import Lookups
from db.models import TradeFlow
from tests.ingest.conftest import CHINA_TABLE, NOW, flow_rows

# Flows from the real China table (first rows: Australia and Belgium, January 2017).
A = Flow(156, 36, "X", "250410", 201701, "M", 6, 10200.0, None, 6116.362, None)
B = Flow(156, 36, "X", "380110", 201701, "M", 6, 42958.0, None, 10245.324, None)
C = Flow(156, 56, "X", "250410", 201701, "M", 6, 501880.0, None, 300948.978, None)


def key(f: Flow) -> tuple[object, ...]:
    return tuple(f[:6])


@pytest.mark.parametrize(
    ("file_flows", "existing", "replace", "new", "changed", "unchanged", "removed"),
    [
        ([A, B], {}, False, [A, B], [], 0, []),
        ([A, B], {key(A): (1, tuple(A[6:]))}, False, [B], [], 1, []),
        ([A], {key(A): (1, tuple(A._replace(value_usd=1.0)[6:]))}, False, [], [A], 0, []),
        ([A], {key(A): (1, tuple(A[6:])), key(C): (7, tuple(C[6:]))}, False, [], [], 1, []),
        ([A], {key(A): (1, tuple(A[6:])), key(C): (7, tuple(C[6:]))}, True, [], [], 1, [7]),
    ],
)
def test_plan_load(file_flows, existing, replace, new, changed, unchanged, removed) -> None:  # type: ignore[no-untyped-def]
    plan = plan_load({key(f): f for f in file_flows}, existing, replace=replace)
    assert (plan.new, plan.changed, plan.unchanged, plan.removed_ids) == (new, changed, unchanged, removed)


def test_flowset_duplicates() -> None:
    flows, report = FlowSet(), IngestReport("t", "f")
    flows.add(A, where="row 1", report=report)
    flows.add(A, where="row 2", report=report)
    assert len(flows) == 1 and report.rows_skipped == 1
    with pytest.raises(
        ImportFailed, match="row 3: a second, different record for the same flow .reporter 156"
    ):
        flows.add(A._replace(value_usd=1.0), where="row 3", report=report)
    assert flows.data_date() == "2017-01"


@pytest.mark.parametrize(("code", "level"), [(TOTAL, 0), ("85", 2), ("8542", 4), ("854231", 6)])
def test_hs_level(code: str, level: int) -> None:
    assert hs_level(code) == level


@pytest.mark.parametrize(("period", "freq", "label"), [(202412, "M", "2024-12"), (202400, "A", "2024")])
def test_period_label(period: int, freq: str, label: str) -> None:
    assert period_label(period, freq) == label


def test_total_sorts_after_every_hs_range() -> None:
    """An HS prefix range (e.g. '85' <= code < '86', or all digits '0' <= code < ':') never includes TOTAL."""
    assert TOTAL > "99999999" and TOTAL >= ":"


@pytest.mark.parametrize("dialect", [sqlite.dialect(paramstyle="qmark"), postgresql.asyncpg.dialect()])
@pytest.mark.parametrize("upsert", [False, True])
def test_insert_sql_takes_flow_tuples(dialect, upsert: bool) -> None:  # type: ignore[no-untyped-def]
    sql = insert_sql(dialect, source_id=3, snapshot_id=9, upsert=upsert)
    assert "VALUES (3, 9, " in sql and "RETURNING" not in sql
    assert (
        "ON CONFLICT (reporter, partner, flow, hs_code, period, freq, source_id) DO UPDATE" in sql
    ) is upsert


def test_multirow_sql_is_what_sqlalchemy_compiles_for_several_rows() -> None:
    dialect = sqlite.dialect(paramstyle="qmark")
    one_row = insert_sql(dialect, source_id=3, snapshot_id=9, upsert=False)
    ids = {"source_id": literal_column("3"), "snapshot_id": literal_column("9")}
    rows = [{**{c: bindparam(f"{c}_{i}") for c in Flow._fields}, **ids} for i in range(3)]
    compiled = insert(TradeFlow.__table__).values(rows).compile(dialect=dialect)
    assert multirow_sql(one_row, 3) == str(compiled)
    assert tuple(compiled.positiontup or ()) == tuple(f"{c}_{i}" for i in range(3) for c in Flow._fields)
    with pytest.raises(ValueError, match="plain one-row INSERT"):
        multirow_sql(insert_sql(dialect, source_id=3, snapshot_id=9, upsert=True), 3)


async def _index_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: {i["name"] for i in inspect(c).get_indexes("trade_flows")})


async def test_bulk_path_rebuilds_indexes_and_a_failure_restores_them(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    shared_data: Path,
    lookups: Lookups,
    china_frame: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the bulk threshold lowered to the real table's size, SQLite takes the drop-and-rebuild path."""
    monkeypatch.setattr(trade_load, "BULK_REBUILD_MIN", 100)
    indexes = await _index_names(engine)
    assert {"uq_trade_flows_natural_key", "ix_trade_flows_goods"} <= indexes
    during_inserts: list[set[str]] = []
    real_insert = trade_write.insert_sqlite

    async def insert_sqlite(session, ids, flows, bar):  # type: ignore[no-untyped-def]
        conn = await session.connection()
        during_inserts.append(
            await conn.run_sync(lambda c: {i["name"] for i in inspect(c).get_indexes("trade_flows")})
        )
        await real_insert(session, ids, flows, bar)

    monkeypatch.setattr(trade_write, "insert_sqlite", insert_sqlite)
    report = await trade_csv.run_import(
        sessions, shared_data / CHINA_TABLE, now=NOW, lookups=lookups, mapping="china_exports_hs6_monthly"
    )
    assert report.rows_loaded == len(china_frame) == len(await flow_rows(sessions))
    assert await _index_names(engine) == indexes
    if engine.dialect.name == "sqlite":  # rows go in in natural-key order: only the goods index is rebuilt
        assert during_inserts == [indexes - {"ix_trade_flows_goods"}]

    # A load that fails after the goods index was dropped (a duplicate key injected into the plan, refused by
    # the natural-key index that stays) rolls the drop back too. On PostgreSQL the COPY path fails the same way.
    def broken_plan(flows, existing, *, replace):  # type: ignore[no-untyped-def]
        new = sorted(flows.values())
        return trade_load.Plan(new + new[:1], [], 0, [])

    monkeypatch.setattr(trade_load, "plan_load", broken_plan)
    monkeypatch.setattr(trade_load, "_bulk_rebuild", _always_on_sqlite)
    before = await flow_rows(sessions)
    with pytest.raises(ImportFailed, match="the same rows"):
        await trade_csv.run_import(
            sessions,
            shared_data / CHINA_TABLE,
            now=NOW,
            lookups=lookups,
            mapping="china_exports_hs6_monthly",
            source_key="test_dup",
            source_title="test",
            publisher="test",
        )
    assert await _index_names(engine) == indexes
    assert await flow_rows(sessions) == before


async def _always_on_sqlite(session: AsyncSession, new_rows: int, concurrent: bool) -> bool:
    return session.get_bind().dialect.name == "sqlite"


async def test_a_bulk_load_writes_every_row_in_natural_key_order(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Indexes dropped and rebuilt, rows in multi-row INSERTs and a remainder: all written, in key order."""
    monkeypatch.setattr(trade_load, "_bulk_rebuild", _always_on_sqlite)
    # SQLite: batches of one INSERT of two rows (3 rounded down to whole statements), then one of one row
    monkeypatch.setattr(trade_write, "ROWS_PER_INSERT", 2)
    monkeypatch.setattr(trade_write, "BATCH_SIZE", 3)
    written = [A, B, C, A._replace(period=201702), C._replace(period=201702)]
    flows = FlowSet({key(f): f for f in written})  # type: ignore[misc]
    report = IngestReport(source="test", file="x")
    async with sessions() as session, session.begin():
        assert await trade_load.write_parsed(
            session,
            spec=trade_load.SourceSpec("test_bulk", "test", "test"),
            parsed=trade_load.ParsedFlows(flows, None),
            sha256="0" * 64,
            file_name="x",
            now=NOW,
            report=report,
        )
    assert report.rows_loaded == 5 and report.extra["new / updated / removed rows"] == "5 / 0 / 0"
    async with sessions() as session:
        cols = [getattr(TradeFlow, c) for c in Flow._fields]
        in_id_order = (await session.execute(select(*cols).order_by(TradeFlow.id))).all()
    assert [tuple(r) for r in in_id_order] == sorted(written)  # written in natural-key order
