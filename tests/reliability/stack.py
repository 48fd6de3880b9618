"""The system under test for the reliability suite: a database loaded from the real files, the Discord
stand-in, and one real `tradewatch serve` process between them.

Used by the tests in this folder (pytest fixtures in conftest.py) and by the load harness CLI
(`python -m tests.reliability.load_harness`), so both drive exactly the same stack. The database is loaded
through the real importers (tests/e2e/bot_harness.REAL_IMPORTS); PostgreSQL databases are created per run
(never the shared test database, which other tests truncate) and can be cloned cheaply from a loaded one.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.conftest import PG_ADMIN_URL
from tests.discord_standin import Driver
from tests.e2e.bot_harness import ServeProcess, load_real_files, process_env

CORE = {"exports", "top", "hs", "entity", "help"}
QUERY_ROLE = "Researcher"


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


def pg_url(database: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


async def create_pg_database(prefix: str = "tw_reliability", template: str | None = None) -> str:
    """A new PostgreSQL database of this run (optionally a copy of `template`, which must have no sessions)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    clone = f' TEMPLATE "{template}"' if template else ""
    await _pg_admin(f'CREATE DATABASE "{name}"{clone}')
    return pg_url(name)


async def drop_pg_database(url: str) -> None:
    await _pg_admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


async def load_database(backend: str, folder: Path, shared_data: Path) -> str:
    """A database of `backend` loaded from the real files; returns its URL."""
    if backend == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{folder / 'tradewatch.sqlite3'}"
    else:
        url = await create_pg_database()
    try:
        await load_real_files(url, shared_data)
    except BaseException:
        if backend != "sqlite":
            await drop_pg_database(url)
        raise
    return url


async def clone_database(url: str, folder: Path) -> str:
    """An independent copy of a loaded database (a file copy, or CREATE DATABASE ... TEMPLATE)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "tradewatch.sqlite3"
        shutil.copy(parsed.database or "", target)
        return f"sqlite:///{target}"
    return await create_pg_database("tw_reliability_copy", template=parsed.database)


async def discard_database(url: str) -> None:
    if make_url(url).get_backend_name() == "postgresql":
        await drop_pg_database(url)


def config_lines(folder: Path, guild_id: int, role_id: int) -> list[str]:
    """The base config: one guild, one query role, no Comtrade fetching, no sync schedule.

    The database URL goes in the environment (TRADEWATCH_DATABASE_URL), as an operator with a password does.
    """
    return [
        "[data]",
        f'data_dir = "{folder / "var"}"',
        "[comtrade]",
        "fetch_on_demand = false",
        "[sync]",
        "enabled = false",
        "[discord]",
        f"guilds = [{{ id = {guild_id}, roles = [{role_id}] }}]",
    ]


@dataclass
class Stack:
    """One running system: the stand-in, the serve process, its database."""

    discord: Driver
    serve: ServeProcess
    backend: str
    url: str
    users: list[str] = field(default_factory=list)
    folder: Path = Path()


def add_users(discord: Driver, count: int, prefix: str = "user") -> list[str]:
    """`count` guild members with the query role (added before the bot connects)."""
    names = [f"{prefix}{i:03d}" for i in range(count)]
    for name in names:
        discord.add_user(name, roles=[QUERY_ROLE])
    return names


@contextlib.asynccontextmanager
async def running_stack(
    url: str,
    folder: Path,
    *,
    users: int = 50,
    config_extra: Sequence[str] = (),
    config: Callable[[Driver, Path], Sequence[str]] | None = None,
    env_extra: dict[str, str] | None = None,
    ready_timeout: float = 120.0,
    serve_args: Sequence[str] = (),
) -> AsyncIterator[Stack]:
    """Start the stand-in and `tradewatch serve` on `url`; stop both at the end (SIGTERM, then kill).

    `config(discord, folder)` gives the config file's lines (default: `config_lines`, plus `config_extra`);
    the database URL always goes in the environment.
    """
    backend = make_url(url).get_backend_name()
    folder.mkdir(parents=True, exist_ok=True)
    async with Driver() as discord:
        names = add_users(discord, users)
        if config is None:
            lines = config_lines(folder, discord.guild.id, discord.role(QUERY_ROLE).id)
        else:
            lines = list(config(discord, folder))
        config_file = folder / "config.toml"
        config_file.write_text("\n".join([*lines, *config_extra]) + "\n", encoding="utf-8")
        env = process_env(discord.env() | {"TRADEWATCH_DATABASE_URL": url} | (env_extra or {}))
        serve = ServeProcess(config_file, env, folder / "serve.log", args=tuple(serve_args))
        await serve.start()
        assert serve.proc is not None
        discord.watch_process(serve.proc)
        try:
            await discord.wait_ready(commands=CORE, timeout=ready_timeout)
            await serve.wait_event("ready", timeout=60)
            yield Stack(discord, serve, backend, url, names, folder)
        finally:
            discord.forget_process()
            if serve.proc.returncode is None:
                await serve.stop()
