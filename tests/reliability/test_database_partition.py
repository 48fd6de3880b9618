"""A silent network partition between `tradewatch serve` and PostgreSQL (issue 18, points 6 and 10).

Nothing is refused or reset: packets just stop (tests/reliability/partition.py). Commands asked meanwhile must
get the outage answer ("cannot reach its database … try again in a minute", privately, no error id) well within
a minute; once the network heals the next command is answered in full; and SIGTERM during a partition stops
serve within the statement timeout. SQLite has no network: PostgreSQL only.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.reliability.partition import PartitionProxy
from tests.reliability.stack import clone_database, discard_database, running_stack
from tests.reliability.test_discord_faults import HS, answered, expected_hs

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

STATEMENT_TIMEOUT = 4.0
# The longest a user may wait for the outage answer here (connect 5 s, pool 10 s, statements 4 s).
OUTAGE_ANSWER_SECONDS = 20.0


@pytest.fixture
def postgresql_url(loaded_url: str) -> str:
    if make_url(loaded_url).get_backend_name() != "postgresql":
        pytest.skip("a network partition needs a network: PostgreSQL only")
    return loaded_url


async def test_a_silent_partition_is_answered_as_an_outage_then_recovers(
    postgresql_url: str, tmp_path: Path
) -> None:
    url = await clone_database(postgresql_url, tmp_path / "db")
    parsed = make_url(url)
    proxy = await PartitionProxy(parsed.host or "127.0.0.1", parsed.port or 5432).start()
    proxied = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        # A short statement timeout keeps the test short; the default (20 s) answers in about 22 s.
        timeout = ["[database]", f"statement_timeout_seconds = {STATEMENT_TIMEOUT}"]
        async with running_stack(proxied, tmp_path / "serve", users=4, config_extra=timeout) as stack:
            expected = await expected_hs(stack)
            await answered(stack, expected, stack.users[0])  # pooled connections exist and work
            proxy.silence()
            started = time.monotonic()
            handles = [await stack.discord.invoke("hs", HS, user=user) for user in stack.users[1:3]]
            for handle in handles:
                assert (await handle.ack(timeout=5)).delay < 3
                reply = await handle.reply(timeout=OUTAGE_ANSWER_SECONDS)
                text = reply.content + " ".join(str(e.get("description", "")) for e in reply.embeds)
                assert reply.ephemeral and "cannot reach its database" in text, text
                assert "error id" not in text
            waited = time.monotonic() - started
            assert waited < OUTAGE_ANSWER_SECONDS
            assert not stack.serve.events("command_failed"), stack.serve.text()[-4000:]
            proxy.heal()
            await answered(stack, expected, stack.users[3], timeout=60)
            # Point 10: SIGTERM while partitioned again (connections held open, unanswered) ends serve promptly.
            proxy.silence()
            await stack.discord.invoke("hs", HS, user=stack.users[0])
            await asyncio.sleep(1.0)
            stopping = time.monotonic()
            # An interrupted query makes asyncpg send a cancel request over a new connection, which waits for the
            # partitioned server for at most the statement timeout (without one it waited forever: point 10).
            assert await stack.serve.stop(signal.SIGTERM, timeout=STATEMENT_TIMEOUT + 10) == 0
            print(
                f"outage answered after {waited:.1f} s; stopped {time.monotonic() - stopping:.1f} s after SIGTERM"
            )
    finally:
        await proxy.stop()
        await discard_database(url)
