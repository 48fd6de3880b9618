"""Hostile text and the checks every answer to it must pass.

The values are what people paste (or try) in a newsroom server: right-to-left overrides, zero-width joiners,
combining marks, emoji sequences, 10,000-character walls, SQL and markdown injection, `@everyone` and role
mentions, control characters, and for the CLI a lone UTF-16 surrogate (what a non-UTF-8 terminal passes on). The checks
are Discord's own rules, applied by the stand-in's validator (tests/discord_standin/limits.py), plus: nobody
can be pinged, and mentions show as text.
"""

from __future__ import annotations

import re
from typing import Any

import discord
from hypothesis import strategies as st

from bot.render import render, render_text
from commands.errors import CommandError
from commands.replies import Reply
from tests.discord_standin.limits import check_message
from tests.discord_standin.store import UploadedFile

SQL = [
    "'; DROP TABLE entities; --",
    '" OR "1"="1',
    "1; DELETE FROM trade_flows",
    "Robert'); DROP TABLE watches;--",
    "%' UNION SELECT name FROM sqlite_master --",
    "$1 %s :name ?",
]
MARKDOWN = [
    "**bold**",
    "__under__ ~~strike~~",
    "`tick` ```py\nprint(1)\n```",
    "> quote\n# Heading",
    "||spoiler||",
    "[click](https://evil.example/phish)",
    "\\*escaped\\*",
]
MENTIONS = [
    "@everyone",
    "@here",
    "<@&123456789012345678>",
    "<@123456789012345678>",
    "<@!123456789012345678>",
    "<#123456789012345678>",
    "＠everyone",
]
UNICODE = [
    "\u202eevil\u202c",
    "שלום עולם",
    "مرحبا بالعالم",
    "\u200b\u200c\u200d\u2060\ufeff",
    "Z̷̢̛a̸l̶g̵o̷",
    "😀👍🏽👨‍👩‍👧",
    "Ｆｕｌｌｗｉｄｔｈ",
    "İstanbul ß ǅ",
    "中国保利集团",
    "Сибирь",
    "\U0001d400\U0001d401",
]
CONTROL = ["\x00", "\x07\x08", "\x1b[31mred", "\r\n\t", "\x7f\x85\u2028\u2029"]
# Lone surrogates reach only the CLI (undecodable argv bytes, surrogateescape): Discord's gateway JSON is decoded
# by orjson, which refuses them, so the Discord path never sees one.
TYPED_ONLY = ["\ud800", "\udcff abc"]
LONG = [
    "A" * 10_000,
    "@everyone " * 1_000,
    "\u202e" * 10_000,
    "😀" * 5_000,
    "'; DROP TABLE x; --" * 500,
    "**" * 5_000,
]
PIECES = SQL + MARKDOWN + MENTIONS + UNICODE + CONTROL

pieces = st.sampled_from(PIECES)
hostile = st.one_of(
    st.lists(st.one_of(pieces, st.text(max_size=12)), min_size=1, max_size=5).map(" ".join),
    st.sampled_from(LONG),
    st.text(max_size=40),
)
maybe_hostile = st.none() | hostile
typed = st.one_of(
    hostile, st.lists(st.sampled_from(PIECES + TYPED_ONLY), min_size=1, max_size=4).map(" ".join)
)

# What would ping if it reached Discord unescaped (discord.utils.escape_mentions inserts a zero-width space).
PING = re.compile(r"@(everyone|here|[!&]?[0-9]{17,20})")


def payload(message: dict[str, Any]) -> tuple[dict[str, Any], list[UploadedFile]]:
    """The JSON body and files discord.py would send for render()/render_text() output."""
    body: dict[str, Any] = {"allowed_mentions": message["allowed_mentions"].to_dict()}
    if "content" in message:
        body["content"] = message["content"]
    if "embeds" in message:
        body["embeds"] = [embed.to_dict() for embed in message["embeds"]]
    if message.get("ephemeral"):
        body["flags"] = 64
    files: list[discord.File] = message.get("files", [])
    uploads = [UploadedFile(i, f.filename or "file", None, f.fp.getvalue()) for i, f in enumerate(files)]
    return body, uploads


def texts(body: dict[str, Any]) -> list[str]:
    """Every piece of text a reader sees in a message body."""
    out = [body.get("content") or ""]
    for embed in body.get("embeds", []):
        out += [embed.get("title") or "", embed.get("description") or ""]
        out += [(embed.get("footer") or {}).get("text") or ""]
        for f in embed.get("fields", []):
            out += [f["name"], f["value"]]
    return out


def assert_discord_safe(message: dict[str, Any]) -> None:
    """Within every Discord limit (the stand-in's validator), pings nobody, shows mentions as text."""
    body, uploads = payload(message)
    check_message(body, uploads, attachment_size_limit=10 * 1024 * 1024, ephemeral_allowed=True)
    assert body["allowed_mentions"] == {"parse": []}
    for text in texts(body):
        assert not PING.search(text), f"unescaped mention in {text[:200]!r}"


async def answer_of(run: Any) -> dict[str, Any]:
    """Await a command; return what the bot would send (reply or private refusal). Only CommandError may escape
    the command: anything else is a bug and fails the test."""
    try:
        reply: Reply = await run
    except CommandError as error:
        return render_text(error.user_text())
    return render(reply)
