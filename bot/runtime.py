"""Process-wide resources shared by the CLI and the bot: config, engine, sessions, lookups."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Config
from db.engine import ensure_schema, make_engine, make_sessionmaker
from db.lookups import Lookups, load_lookups


@dataclass
class App:
    config: Config
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    lookups: Lookups


@contextlib.asynccontextmanager
async def open_app(
    config: Config, *, upgrade: bool = True, statement_timeout: float | None = None
) -> AsyncIterator[App]:
    """Open the database (upgrading an empty or SQLite one) and load the lookups; dispose on exit.

    `statement_timeout` bounds each PostgreSQL statement (see db.engine.make_engine).
    """
    engine = make_engine(config.database_url, statement_timeout=statement_timeout)
    try:
        if upgrade:
            await ensure_schema(engine)
        yield App(config, engine, make_sessionmaker(engine), load_lookups(config.lookups_dir))
    finally:
        await engine.dispose()
