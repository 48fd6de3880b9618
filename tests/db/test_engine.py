"""Schema migrations: they build every model's table, on both backends, and match the models."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import (
    SchemaOutOfDate,
    current_revision,
    declared_heads,
    ensure_schema,
    head_revision,
    make_engine,
    upgrade,
)
from db.models import Base
from tests.conftest import PG_ADMIN_URL
from tests.e2e.bot_harness import REPO, create_pg_database, drop_pg_database


async def test_migrations_create_every_table(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert set(Base.metadata.tables) <= names
    assert await current_revision(engine) == head_revision()


async def test_migrations_match_models(engine: AsyncEngine) -> None:
    def diff(conn):  # type: ignore[no-untyped-def]
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)

    async with engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == [], "models changed without a migration: edit the migration of that table group"


async def test_empty_sqlite_is_upgraded_on_first_use(tmp_path) -> None:  # type: ignore[no-untyped-def]
    eng = make_engine(f"sqlite:///{tmp_path / 'sub' / 'new.sqlite3'}")
    try:
        assert await current_revision(eng) is None
        await ensure_schema(eng)
        assert await current_revision(eng) == head_revision()
    finally:
        await eng.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of its own (never the shared, migrated test database)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    url = await create_pg_database(PG_ADMIN_URL)
    try:
        yield url
    finally:
        await drop_pg_database(PG_ADMIN_URL, url)


def test_the_fast_start_check_reads_the_same_head_as_alembic() -> None:
    assert declared_heads() == {head_revision()}


async def test_a_database_behind_the_code_is_upgraded_on_sqlite_and_refused_on_postgresql(
    empty_url: str,
) -> None:
    eng = make_engine(empty_url)
    try:
        await upgrade(eng, "0002")
        if eng.dialect.name == "sqlite":
            await ensure_schema(eng)
            assert await current_revision(eng) == head_revision()
        else:
            with pytest.raises(SchemaOutOfDate, match="run `tradewatch db upgrade`"):
                await ensure_schema(eng)
            assert await current_revision(eng) == "0002"
    finally:
        await eng.dispose()


async def test_a_postgresql_database_ahead_of_the_code_is_refused(empty_url: str) -> None:
    eng = make_engine(empty_url)
    try:
        await upgrade(eng)
        async with eng.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        if eng.dialect.name == "postgresql":
            with pytest.raises(SchemaOutOfDate, match="at schema revision 9999"):
                await ensure_schema(eng)
        assert await current_revision(eng) == "9999"
    finally:
        await eng.dispose()


def test_a_start_at_head_does_not_load_alembic(tmp_path: Path) -> None:
    """alembic (imports and migration scripts) is loaded only when the schema needs upgrading."""
    url = f"sqlite:///{tmp_path / 'tw.sqlite3'}"
    script = f"""
import asyncio, sys
from db.engine import current_revision, ensure_schema, make_engine

async def main():
    eng = make_engine({url!r})
    await ensure_schema(eng)  # empty: upgraded, with alembic
    await eng.dispose()

async def again():
    eng = make_engine({url!r})
    await ensure_schema(eng)
    print(await current_revision(eng), "alembic" in sys.modules)
    await eng.dispose()

asyncio.run(main())
for name in [m for m in sys.modules if m == "alembic" or m.startswith("alembic.")]:
    del sys.modules[name]
asyncio.run(again())
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [head_revision(), "False"]
