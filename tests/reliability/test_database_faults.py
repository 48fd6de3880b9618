"""The database goes away under a running bot: PostgreSQL connections cut mid-query (what a restart does).

A real `pg_ctlcluster ... restart` would cut every other test's connections on the shared server, so here the
restart is simulated for this suite's own database only: `pg_terminate_backend` on every backend of that
database, which is exactly what clients see during a restart (their sockets closed with "terminating connection
due to administrator command"). The real restart runs in `python -m tests.reliability.pg_restart`.

To be sure queries are in flight when the backends go, the test holds an exclusive lock on trade_flows first:
the /exports commands it then sends are acknowledged and wait inside PostgreSQL.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.reliability.load_harness import check_reply
from tests.reliability.load_jobs import Expected, compute_expected, plan
from tests.reliability.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

EXPORTS = {"commodity": "graphite", "partner": "RU", "year": 2023}
TEMPORARY = "cannot reach its database right now"


async def connect(url: str) -> asyncpg.Connection:
    parsed = make_url(url)
    return await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database=parsed.database
    )


async def wait_for_lock_waiters(admin: asyncpg.Connection, count: int, timeout: float = 20) -> None:
    """Until `count` bot backends are waiting on a lock (their queries are in flight)."""
    try:
        await _wait_lock_waiters(admin, count, timeout)
    except TimeoutError:
        rows = await admin.fetch(
            "SELECT pid, state, wait_event_type, wait_event, left(query, 120) AS query FROM pg_stat_activity "
            "WHERE datname = current_database()"
        )
        raise AssertionError(
            f"fewer than {count} queries waiting on the lock: {[dict(r) for r in rows]}"
        ) from None


async def _wait_lock_waiters(admin: asyncpg.Connection, count: int, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while True:
            waiting = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            )
            if waiting >= count:
                return
            await asyncio.sleep(0.05)


async def terminate_others(admin: asyncpg.Connection, keep: int = 0) -> int:
    """Terminate every backend of the database but this one (and `keep`): how many were cut."""
    return int(
        await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), $1)",
            keep,
        )
    )


async def expected_exports(stack: Stack) -> Expected:
    [job] = [j for j in plan(200) if j.text == "/exports graphite RU 2023"][:1]
    return (await compute_expected(stack.url, [job]))[job]


async def test_connections_cut_mid_query_get_try_again_then_the_bot_recovers(stack: Stack) -> None:
    if stack.backend != "postgresql":
        pytest.skip(
            "connections cut by the server: PostgreSQL (SQLite faults: test_sync_faults.py, test_serve_faults.py)"
        )
    expected = await expected_exports(stack)
    # Two connections: inside the locking transaction pg_stat_activity is a frozen snapshot.
    locker, monitor = await connect(stack.url), await connect(stack.url)
    log_start = len(stack.serve.text())
    try:
        async with locker.transaction():
            await locker.execute("LOCK TABLE trade_flows IN ACCESS EXCLUSIVE MODE")
            handles = [await stack.discord.invoke("exports", EXPORTS, user=u) for u in stack.users[:4]]
            for handle in handles:
                assert (await handle.ack()).delay < 3
            await wait_for_lock_waiters(monitor, 4)
            killed = await terminate_others(monitor, keep=await locker.fetchval("SELECT pg_backend_pid()"))
            assert killed >= 4
    finally:
        await locker.close()
        await monitor.close()

    for handle in handles:
        reply = await handle.reply(timeout=30)
        assert reply.ephemeral and TEMPORARY in reply.content and "Try again" in reply.content
        assert "went wrong" not in reply.content
    # Recovered by itself: the pool drops the dead connections and the same question is answered in full.
    for user in stack.users[4:8]:
        handle = await stack.discord.invoke("exports", EXPORTS, user=user)
        assert check_reply(await handle.reply(timeout=60), expected) is None
    log = stack.serve.text()[log_start:]
    assert log.count("event=database_unavailable") == 4
    assert "event=command_failed" not in log and "Traceback" not in log


async def test_entity_autocomplete_during_a_cut_offers_nothing_then_recovers(stack: Stack) -> None:
    """Suggestions read the database: cut mid-query they are simply empty (not an unanswered keystroke)."""
    if stack.backend != "postgresql":
        pytest.skip("connections cut by the server: PostgreSQL")
    locker, monitor = await connect(stack.url), await connect(stack.url)
    log_start = len(stack.serve.text())
    try:
        async with locker.transaction():
            await locker.execute("LOCK TABLE snapshots IN ACCESS EXCLUSIVE MODE")  # the index's version stamp
            typed = asyncio.create_task(
                stack.discord.autocomplete("entity", "name", "king pa", user=stack.users[8])
            )
            await wait_for_lock_waiters(monitor, 1)
            await terminate_others(monitor, keep=await locker.fetchval("SELECT pg_backend_pid()"))
        assert await typed == []
    finally:
        await locker.close()
        await monitor.close()
    choices = await stack.discord.autocomplete("entity", "name", "king pa", user=stack.users[9])
    assert any("KING" in c["value"].upper() for c in choices)
    log = stack.serve.text()[log_start:]
    assert "event=database_unavailable" in log and "Ignoring exception" not in log
