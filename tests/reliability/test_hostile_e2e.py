"""Hostile values end to end: typed into Discord (the stand-in), answered by the real `tradewatch serve`.

Each value goes into each text option of /exports, /top goods, /hs and /entity, and into autocomplete. Every
interaction is acknowledged within 3 s and answered (publicly or with a private refusal); the stand-in, which
enforces Discord's limits, refused nothing; no answer can ping anyone or shows a mention unescaped; and the
bot logged no failure. Discord caps a string option at 6,000 characters, so the longest value is that long.
"""

from __future__ import annotations

import pytest

from tests.discord_standin.store import Message
from tests.reliability.hostile import PING
from tests.reliability.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

VALUES = [
    "@everyone",
    "<@&123456789012345678> look",
    "'; DROP TABLE entities; --",
    "**Poly** __Group__ ||x||",
    "\u202eGroup Poly\u202c \u200b\u200d",
    "\x00\x1b[31m\r\n",
    "中国保利集团 Сибирь 😀👨‍👩‍👧",
    "A" * 6000,
]
OPTIONS = [
    ("exports", lambda v: {"commodity": v, "partner": "RU"}),
    ("exports", lambda v: {"commodity": "graphite", "partner": v, "year": 2023}),
    ("top goods", lambda v: {"partner": v}),
    ("hs", lambda v: {"query": v}),
    ("entity", lambda v: {"name": v, "list": v}),
]
AUTOCOMPLETE = [("exports", "commodity"), ("exports", "partner"), ("entity", "name")]


def message_texts(message: Message) -> list[str]:
    out = [message.content]
    for embed in message.embeds:
        out += [
            embed.get("title", ""),
            embed.get("description", ""),
            (embed.get("footer") or {}).get("text", ""),
        ]
        out += [part for f in embed.get("fields", []) for part in (f["name"], f["value"])]
    return out


@pytest.mark.parametrize("value", VALUES, ids=[f"v{i}" for i in range(len(VALUES))])
async def test_hostile_values_typed_in_discord_are_answered_safely(stack: Stack, value: str) -> None:
    discord = stack.discord
    log_start = len(stack.serve.text())
    rejections = len(discord.rejections)
    handles = []
    for (command, build), user in zip(OPTIONS, stack.users, strict=False):
        handles.append(await discord.invoke(command, build(value), user=user))
    for handle in handles:
        assert (await handle.ack(timeout=10)).delay < 3
        reply = await handle.reply(timeout=60)
        assert reply.allowed_mentions == {"parse": []} and not any(reply.pings().values())
        assert reply.unresolved_attachment_refs == []
        for text in message_texts(reply):
            assert not PING.search(text or ""), text[:200]
        assert "went wrong" not in reply.content
    for command, focused in AUTOCOMPLETE:
        choices = await discord.autocomplete(command, focused, value, user=stack.users[-1])
        assert len(choices) <= 25
    assert discord.rejections[rejections:] == []
    log = stack.serve.text()[log_start:]
    assert "event=command_failed" not in log and "Traceback" not in log and "level=error" not in log
