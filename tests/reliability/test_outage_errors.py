"""Which failures count as "the database is unreachable right now" (a try-again answer, not a bug report),
and what a user is told then; plus the cap on commands running at once that keeps autocomplete fast.

The end-to-end proofs are test_database_faults.py (PostgreSQL connections cut mid-query), test_serve_faults.py
(full and read-only SQLite) and test_load.py (autocomplete under load); these pin the classification.
"""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc

from bot.client import MAX_RUNNING_COMMANDS
from bot.errors import database_down, database_outage, user_message
from commands.errors import TemporarilyUnavailable


def dbapi(error: Exception, cls: type[sa_exc.DBAPIError] = sa_exc.DBAPIError, invalidated: bool = False):  # type: ignore[no-untyped-def]
    return cls("SELECT 1", {}, error, connection_invalidated=invalidated)


OUTAGES = [
    ("postgresql cut mid-query", dbapi(asyncpg.ConnectionDoesNotExistError("closed"), invalidated=True)),
    ("postgresql refusing connections", ConnectionRefusedError(111, "Connect call failed")),
    ("postgresql starting up", asyncpg.CannotConnectNowError("the database system is starting up")),
    ("postgresql shutting down", asyncpg.AdminShutdownError("terminating connection")),
    (
        "sqlite disk full",
        dbapi(sqlite3.OperationalError("database or disk is full"), sa_exc.OperationalError),
    ),
    (
        "sqlite read-only",
        dbapi(sqlite3.OperationalError("attempt to write a readonly database"), sa_exc.OperationalError),
    ),
    ("sqlite locked", dbapi(sqlite3.OperationalError("database is locked"), sa_exc.OperationalError)),
    ("no free pooled connection", sa_exc.TimeoutError("QueuePool limit reached")),
]
BUGS = [
    ("integrity error", dbapi(sqlite3.IntegrityError("UNIQUE constraint failed"), sa_exc.IntegrityError)),
    ("programming error", dbapi(sqlite3.ProgrammingError("bad SQL"), sa_exc.ProgrammingError)),
    ("a plain bug", KeyError("x")),
    ("a file that is missing", FileNotFoundError("chart font")),
]


@pytest.mark.parametrize(("case", "error"), OUTAGES, ids=[c for c, _ in OUTAGES])
def test_outages_are_temporary(case: str, error: BaseException) -> None:
    assert database_outage(error), case


@pytest.mark.parametrize(("case", "error"), BUGS, ids=[c for c, _ in BUGS])
def test_bugs_are_not_outages(case: str, error: BaseException) -> None:
    assert not database_outage(error), case


async def test_a_timeout_inside_the_driver_is_an_outage_and_any_other_timeout_is_not() -> None:
    """A silent partition: the server accepts nothing back, asyncpg's connect times out (a plain TimeoutError)."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)  # accepts, never answers
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(TimeoutError) as raised:
            await asyncpg.connect(host="127.0.0.1", port=port, user="x", database="x", timeout=0.3)
        assert database_outage(raised.value)
    finally:
        server.close()
    with pytest.raises(TimeoutError) as elsewhere:
        await asyncio.wait_for(asyncio.sleep(1), 0.01)  # e.g. an HTTP fetch: not the database
    assert not database_outage(elsewhere.value)


def test_the_user_is_told_to_try_again_privately_without_details() -> None:
    error = database_down()
    assert isinstance(error, TemporarilyUnavailable) and error.kind == "temporary"
    text = user_message(error)
    assert text is not None and "Try again in a minute" in text
    assert database_down() is not database_down()  # a fresh exception each time: tracebacks never shared


async def test_at_most_max_running_commands_run_at_once() -> None:
    """bot/cogs/__init__.answer runs commands under `command_slots`: the cap holds for a burst of 30."""
    from bot.client import TradewatchBot
    from bot.config import Config

    bot = TradewatchBot(Config(), open_database=False, sync_guilds=False)
    running, peak = 0, 0

    async def command() -> None:
        nonlocal running, peak
        async with bot.command_slots:
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01)
            running -= 1

    await asyncio.wait_for(asyncio.gather(*(command() for _ in range(30))), 10)
    assert peak == MAX_RUNNING_COMMANDS
    await bot.close()
