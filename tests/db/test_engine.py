"""Schema migrations: they build every model's table, on both backends, and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import current_revision, ensure_schema, head_revision, make_engine
from db.models import Base


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
