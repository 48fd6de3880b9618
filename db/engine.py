"""Engine and session factory for SQLite (embedded default) and PostgreSQL, and schema upgrades."""

from __future__ import annotations

import ast
import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import column, event, inspect, select, table
from sqlalchemy.engine import Connection, ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Alembic's own bookkeeping table: read directly for the start-up check, so that alembic (its imports and
# migration scripts, about 0.1 s of CPU) is only loaded when the schema actually needs upgrading.
VERSION_TABLE = table("alembic_version", column("version_num"))


class SchemaOutOfDate(RuntimeError):
    """The database is not at the current schema and will not be upgraded automatically."""


def async_url(url: str) -> str:
    """Return `url` with the async driver this project uses for its backend.

    Args:
        url: a SQLAlchemy URL such as `sqlite:///var/tw.sqlite3` or `postgresql://postgres@127.0.0.1/test`.
    Returns:
        The same URL with `+aiosqlite` or `+asyncpg` as its driver.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    driver = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}.get(backend)
    if driver is None:
        raise ValueError(f"unsupported database backend {backend!r}: use sqlite or postgresql")
    return parsed.set(drivername=f"{backend}+{driver}").render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the bot read while an import or sync writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


SQLITE_READONLY = 8  # primary result code; extended codes (READONLY_DBMOVED ...) share the low byte


def _sqlite_reopen_when_read_only(context: ExceptionContext) -> None:
    # SQLite opens a file it may not write read-only, and such a connection stays read-only after the file
    # (or disk) becomes writable again: treat the error as a lost connection so the pool opens fresh ones and
    # the bot recovers by itself (tests/reliability/test_serve_faults.py).
    error = context.original_exception
    code = getattr(error, "sqlite_errorcode", None)
    if (code is not None and code & 0xFF == SQLITE_READONLY) or "readonly database" in str(error):
        context.is_disconnect = True


# PostgreSQL behind a silent network partition never refuses: without bounds a client waits for asyncpg's
# 60-second connect timeout, or forever on a connection already open. Connecting and waiting for a pooled
# connection are bounded for every process; single statements only where asked (the bot: `statement_timeout`),
# since an import's bulk COPY may rightly run for minutes.
CONNECT_TIMEOUT_SECONDS = 5.0
POOL_TIMEOUT_SECONDS = 10.0


def make_engine(url: str, *, echo: bool = False, statement_timeout: float | None = None) -> AsyncEngine:
    """Create an async engine for `url`; SQLite files get their parent folder and WAL pragmas.

    Args:
        url: the database URL (any driver suffix is replaced by the async one).
        echo: log SQL statements.
        statement_timeout: PostgreSQL: seconds one statement may take before it fails with TimeoutError.
    Returns:
        An `AsyncEngine`.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    else:
        connect_args: dict[str, Any] = {"timeout": CONNECT_TIMEOUT_SECONDS}
        if statement_timeout is not None:
            connect_args["command_timeout"] = statement_timeout
        kwargs.update(
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=10,
            pool_timeout=POOL_TIMEOUT_SECONDS,
            connect_args=connect_args,
        )
    engine = create_async_engine(async_url(url), **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "handle_error", _sqlite_reopen_when_read_only)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return the session factory used by commands, importers and the bot."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _alembic_config(connection: Connection | None = None) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration revision shipped with this code."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


@functools.cache
def declared_heads() -> frozenset[str]:
    """The head revision(s) the migration files declare, read from their text without importing alembic.

    Only a fast path for the start-up check: `head_revision()` (alembic's own reading) stays the authority.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                target, value = node.target, node.value
            else:
                continue
            name = target.id if isinstance(target, ast.Name) else None
            if name not in ("revision", "down_revision"):
                continue
            found = ast.literal_eval(value)
            found = [found] if isinstance(found, str) else list(found or ())
            (revisions if name == "revision" else parents).update(found)
    return frozenset(revisions - parents)


def _version_rows(connection: Connection) -> list[str] | None:
    """The revisions in alembic's version table, or None when there is no such table (an empty database)."""
    if not inspect(connection).has_table(VERSION_TABLE.name):
        return None
    return [str(v) for v in connection.execute(select(VERSION_TABLE.c.version_num)).scalars()]


def _current_revision(connection: Connection) -> str | None:
    rows = _version_rows(connection)
    if rows is None or len(rows) <= 1:
        return rows[0] if rows else None
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()  # raises its own error for branches


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current_revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Run Alembic migrations up to `revision` over the engine's own connection."""
    from alembic import command

    def _run(connection: Connection) -> None:
        command.upgrade(_alembic_config(connection), revision)

    async with engine.begin() as conn:
        await conn.run_sync(_run)


async def ensure_schema(engine: AsyncEngine) -> None:
    """Bring the database to the current schema where that is safe to do without asking.

    An empty database (any backend) and any SQLite database are upgraded automatically. A PostgreSQL
    database at an older revision is shared by a team: it is left alone and `tradewatch db upgrade`
    is asked for, so that two processes never migrate at once.

    Raises:
        SchemaOutOfDate: a PostgreSQL database is behind (or ahead of) this code's migrations.
    """
    heads = declared_heads()
    current = await current_revision(engine)
    if len(heads) == 1 and current in heads:
        return  # at head: the usual start, decided without loading alembic
    head = head_revision()
    if current == head:
        return
    if current is None or engine.dialect.name == "sqlite":
        log.info("upgrading database schema from %s to %s", current or "empty", head)
        await upgrade(engine)
        return
    raise SchemaOutOfDate(
        f"the database is at schema revision {current}, this code needs {head}: run `tradewatch db upgrade`"
    )
