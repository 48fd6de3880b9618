"""Discord misbehaves under a running `tradewatch serve`: gateway drops and bursts of REST errors.

Gateway: RECONNECT (op 7), INVALID_SESSION resumable and not (op 9), a TCP connection cut without a close
frame, a resumable close code. Interactions sent while the bot is away are buffered by the stand-in as
Discord does and must be answered (correctly, within 3 s) once the session is resumed; after a
non-resumable INVALID_SESSION the bot identifies again and answers the next interaction.

REST: bursts of 429 (route and global), 500 and 502 on the initial callback and on the followup. discord.py
retries them (429 after retry_after; 5xx after 1, 3, 5 ... s); the answer arrives intact. A callback that
keeps failing past Discord's 3 seconds cannot be saved: the bot logs it and answers the next one.

These faults do not involve the database: they run once, on the SQLite stack.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from tests.discord_standin import Driver
from tests.reliability.load_harness import check_reply
from tests.reliability.load_jobs import Expected, compute_expected, plan
from tests.reliability.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback"
FOLLOWUP = "POST /webhooks/{webhook_id}/{webhook_token}"
HS = {"query": "8542"}


@pytest.fixture
def sqlite_only(stack: Stack) -> Stack:
    if stack.backend != "sqlite":
        pytest.skip("Discord faults do not depend on the database: run once, on the SQLite stack")
    return stack


async def expected_hs(stack: Stack) -> Expected:
    job = next(j for j in plan(200) if j.text == "/hs 8542")
    return (await compute_expected(stack.url, [job]))[job]


async def answered(stack: Stack, expected: Expected, user: str, timeout: float = 30) -> float:
    """Send /hs 8542 as `user`; assert the ack came within 3 s and the reply is the expected one."""
    handle = await stack.discord.invoke("hs", HS, user=user)
    ack = await handle.ack(timeout=timeout)
    assert ack.delay < 3, f"acknowledged after {ack.delay:.2f} s"
    reply = await handle.reply(timeout=timeout)
    assert not handle.rejections
    assert check_reply(reply, expected) is None
    return ack.delay


async def _reconnect(d: Driver) -> int:
    return d.reconnect()


async def _resumable_invalid_session(d: Driver) -> int:
    return d.invalid_session(resumable=True)


async def _drop(d: Driver) -> int:
    return await d.drop_connection()


async def _close_4000(d: Driver) -> int:
    return await d.close_gateway(4000)


RESUMING: list[tuple[str, Callable[[Driver], Awaitable[int]]]] = [
    ("reconnect", _reconnect),
    ("invalid-session-resumable", _resumable_invalid_session),
    ("socket-cut-without-close-frame", _drop),
    ("close-4000", _close_4000),
]


@pytest.mark.parametrize("fault", [f for _, f in RESUMING], ids=[name for name, _ in RESUMING])
async def test_interactions_sent_during_a_gateway_drop_are_answered_after_resume(
    sqlite_only: Stack, fault: Callable[[Driver], Awaitable[int]]
) -> None:
    stack, discord = sqlite_only, sqlite_only.discord
    expected = await expected_hs(stack)
    mark = discord.gateway_mark()
    assert await fault(discord) == 1
    # Sent while the bot is away: buffered by the stand-in, replayed on RESUME, answered.
    for user in stack.users[:2]:
        await answered(stack, expected, user)
    await discord.wait_gateway("resumed", after=mark, timeout=20)
    assert not [
        e for e in discord.gateway_events[mark:] if e.kind == "identify"
    ]  # resumed, not re-identified
    await answered(stack, expected, stack.users[2])


async def test_after_a_non_resumable_invalid_session_the_bot_identifies_again_and_answers(
    sqlite_only: Stack,
) -> None:
    stack, discord = sqlite_only, sqlite_only.discord
    expected = await expected_hs(stack)
    mark, reconnects = discord.gateway_mark(), len(stack.serve.events("reconnected"))
    assert discord.invalid_session(resumable=False) == 1
    await discord.wait_gateway("ready", after=mark, timeout=30)  # discord.py waits 5 s before IDENTIFY
    await discord.wait_ready(commands={"hs"}, timeout=10)
    for user in stack.users[:3]:
        await answered(stack, expected, user)
    async with asyncio.timeout(10):  # on_ready waits for the guilds to arrive: after the first answers, maybe
        while len(stack.serve.events("reconnected")) == reconnects:
            await asyncio.sleep(0.1)


REST_BURSTS = [
    ("followup-429x3", FOLLOWUP, 429, 3, False),
    ("followup-500x2", FOLLOWUP, 500, 2, False),
    ("followup-502", FOLLOWUP, 502, 1, False),
    ("callback-429x2", CALLBACK, 429, 2, False),
    ("callback-500x1", CALLBACK, 500, 1, False),
    ("every-route-global-429x3", "*", 429, 3, True),
]


@pytest.mark.parametrize(
    ("route", "status", "count", "is_global"),
    [case[1:] for case in REST_BURSTS],
    ids=[case[0] for case in REST_BURSTS],
)
async def test_rest_error_bursts_are_retried_and_the_answer_arrives_intact(
    sqlite_only: Stack, route: str, status: int, count: int, is_global: bool
) -> None:
    stack, discord = sqlite_only, sqlite_only.discord
    expected = await expected_hs(stack)
    watched = FOLLOWUP if route == "*" else route
    before = len(discord.requests(watched))
    rejections = len(discord.rejections)
    discord.fail_next(route, status=status, count=count, retry_after=0.2, is_global=is_global)
    await answered(stack, expected, stack.users[3])
    statuses = [r.status for r in discord.requests(watched)[before:]]
    if route != "*":
        assert statuses[:count] == [status] * count and statuses[count] in (200, 204)
    assert [r for r in discord.rejections[rejections:] if r.status != 429] == []


async def test_a_callback_failing_past_three_seconds_is_logged_and_the_next_interaction_is_answered(
    sqlite_only: Stack,
) -> None:
    stack, discord = sqlite_only, sqlite_only.discord
    expected = await expected_hs(stack)
    log_start = len(stack.serve.text())
    discord.fail_next(CALLBACK, status=502, count=2)  # retried after 1 s and 3 s: past the deadline
    handle = await discord.invoke("hs", HS, user=stack.users[4])
    rejection = await handle.rejection(code=10062, timeout=20)
    assert rejection.status == 404 and handle.record.ack is None
    await stack.serve.wait_event("interaction_expired", timeout=10)
    await answered(stack, expected, stack.users[5])
    log = stack.serve.text()[log_start:]
    assert "event=command_failed" not in log and "Traceback" not in log
