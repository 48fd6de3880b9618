"""Hostile gateway frames and forged option values against the real `tradewatch serve` (issue 18, points 2, 3, 7, 9).

Through the Discord stand-in: a lone UTF-16 surrogate in an option value (orjson, which discord.py uses when it
is installed, refuses to decode the frame), frames that are not JSON, cut short, not UTF-8, or JSON of the wrong
shape, and INTERACTION_CREATE payloads missing their fields. Each costs its own frame only: serve logs
`gateway_frame_dropped`, keeps its session (no new IDENTIFY) and answers the next command correctly.

Values Discord itself would never send (a modified client): a watch number of 2^53, a number or a list for a
text option. Each gets a short private refusal naming the option, before any query; the log has no failure.
Six identical `/watch add` at once make one watch; a filter of only spaces is refused.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.discord_standin.store import Message
from tests.reliability.stack import QUERY_ROLE, Stack
from tests.reliability.test_discord_faults import answered, expected_hs

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

MANAGE_CHANNELS = 1 << 4
EPHEMERAL = 1 << 6


def text_of(message: Message) -> str:
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [str(embed.get("title", "")), str(embed.get("description", ""))]
    return "\n".join(parts)


RAW_FRAMES = [
    b"not json at all",
    b'{"op":0,"t":"INTERACTION_CREATE","s":null,"d":{"id":"1',  # cut short
    b'{"op":0,"t":"MESSAGE_CREATE","s":null,"d":{"content":"\xff\xfe"}}',  # not UTF-8
    b'{"op":0,"t":"INTERACTION_CREATE","s":null,"d":{"x":"\\ud800"}}',  # lone surrogate, escaped
    b"42",
    b"[]",
    b"",
]
BAD_PAYLOADS = [{}, None, [], {"id": "12", "type": 2}, {"id": "x", "type": "y", "data": 5}]


@pytest.fixture
def sqlite_only(stack: Stack) -> Stack:
    if stack.backend != "sqlite":
        pytest.skip("gateway frames do not depend on the database: run once, on the SQLite stack")
    return stack


async def test_malformed_frames_are_dropped_and_the_session_goes_on(sqlite_only: Stack) -> None:
    stack, discord = sqlite_only, sqlite_only.discord
    expected = await expected_hs(stack)
    mark, dropped_before = discord.gateway_mark(), len(stack.serve.events("gateway_frame_dropped"))
    # The case: a lone surrogate typed into an option (the stand-in writes it as the JSON escape \ud800).
    await discord.invoke("hs", {"query": "\ud800"}, user=stack.users[0])
    for frame in RAW_FRAMES:
        assert discord.send_raw_frame(frame) == 1
    for payload in BAD_PAYLOADS:
        assert discord.dispatch_raw("INTERACTION_CREATE", payload) == 1
    await answered(stack, expected, stack.users[1])
    dropped = stack.serve.events("gateway_frame_dropped")[dropped_before:]
    assert len(dropped) >= len(RAW_FRAMES) + len(BAD_PAYLOADS) - 1, stack.serve.text()[-4000:]
    assert stack.serve.proc is not None and stack.serve.proc.returncode is None
    assert not [e for e in discord.gateway_events[mark:] if e.kind == "identify"]  # the same session
    assert not stack.serve.events("bot_failed") and not stack.serve.events("command_failed")


async def _refusal(stack: Stack, command: str, options: dict[str, object], forged: dict[str, object]) -> str:
    handle = await stack.discord.invoke(
        command, options, user=stack.users[2], roles=[QUERY_ROLE, "Editors"], forged=forged
    )
    message = await handle.reply(timeout=20)
    assert message.flags & EPHEMERAL, message
    return text_of(message)


async def test_forged_option_values_get_a_private_refusal_before_any_query(sqlite_only: Stack) -> None:
    stack = sqlite_only
    if "Editors" not in {r.name for r in stack.discord.guild.roles}:
        stack.discord.add_role("Editors", permissions=MANAGE_CHANNELS)
    text = await _refusal(stack, "watch remove", {"watch": 1}, {"watch": 2**53})
    assert '"watch"' in text and "2,147,483,647" in text
    assert "must be text" in await _refusal(stack, "hs", {"query": "chips"}, {"query": 8542})
    assert "must be text" in await _refusal(stack, "hs", {"query": "chips"}, {"query": ["8542"]})
    assert "filter is empty" in await _refusal(stack, "watch add", {"keywords": "   "}, {})
    assert not stack.serve.events("command_failed"), stack.serve.text()[-4000:]


async def test_six_identical_watch_adds_at_once_make_one_watch(stack: Stack) -> None:
    if "Editors" not in {r.name for r in stack.discord.guild.roles}:
        stack.discord.add_role("Editors", permissions=MANAGE_CHANNELS)
    options = {"keywords": f"sinno electronics {stack.backend}", "sources": "ofac_sdn"}
    handles = await asyncio.gather(
        *(
            stack.discord.invoke("watch add", options, user=user, roles=[QUERY_ROLE, "Editors"])
            for user in stack.users[3:9]
        )
    )
    replies = [await h.reply(timeout=30) for h in handles]
    texts = [text_of(r) for r in replies]
    added = [t for t in texts if "added" in t]
    assert len(added) == 1, texts
    assert sum("already posts these changes" in t for t in texts) == 5, texts
    assert not stack.serve.events("command_failed"), stack.serve.text()[-4000:]
