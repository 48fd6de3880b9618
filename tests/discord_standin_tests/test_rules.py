"""Discord's rules as the stand-in enforces them: limits (50035, 50006, 30015, 40005), the 3 s deadline (10062),
one initial response (40060), the 15 min token (50027), unknown objects, permissions and unimplemented routes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import discord
import pytest

from tests.discord_standin import Driver

from .tinybot import TinyBot

ONE_MODE = pytest.mark.parametrize("compression", ["zstd-stream"], indirect=True)
pytestmark = pytest.mark.usefixtures("compression")


async def raw(
    driver: Driver, method: str, path: str, *, auth: bool = True, **kwargs: Any
) -> tuple[int, dict, Any]:
    """A request straight to the stand-in, for what discord.py itself refuses to send."""
    headers = ({"Authorization": f"Bot {driver.token}"} if auth else {}) | kwargs.pop("headers", {})
    async with aiohttp.ClientSession() as session:
        async with session.request(
            method, driver.standin.api_base + path, headers=headers, **kwargs
        ) as response:
            text = await response.text()
            body = json.loads(text) if response.headers.get("Content-Type") == "application/json" else text
            return response.status, dict(response.headers), body


def embed(**fields: Any) -> discord.Embed:
    result = discord.Embed(title=fields.pop("title", None), description=fields.pop("description", None))
    for name, value in fields.pop("fields", []):
        result.add_field(name=name, value=value)
    if "footer" in fields:
        result.set_footer(text=fields.pop("footer"))
    if "author" in fields:
        result.set_author(name=fields.pop("author"))
    return result


OVER_LIMIT = [
    ({"content": "x" * 2001}, ("content",), "BASE_TYPE_MAX_LENGTH"),
    ({"embeds": [embed(title="x" * 257)]}, ("embeds", "0", "title"), "BASE_TYPE_MAX_LENGTH"),
    ({"embeds": [embed(description="x" * 4097)]}, ("embeds", "0", "description"), "BASE_TYPE_MAX_LENGTH"),
    ({"embeds": [embed(fields=[("n", "v")] * 26)]}, ("embeds", "0", "fields"), "BASE_TYPE_MAX_LENGTH"),
    (
        {"embeds": [embed(fields=[("n" * 257, "v")])]},
        ("embeds", "0", "fields", "0", "name"),
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        {"embeds": [embed(fields=[("n", "v" * 1025)])]},
        ("embeds", "0", "fields", "0", "value"),
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        {"embeds": [embed(title="t", footer="f" * 2049)]},
        ("embeds", "0", "footer", "text"),
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        {"embeds": [embed(title="t", author="a" * 257)]},
        ("embeds", "0", "author", "name"),
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        {"embeds": [embed(description="x" * 3001), embed(description="y" * 3000)]},
        ("embeds",),
        "MAX_EMBED_SIZE_EXCEEDED",
    ),
]


def error_at(body: dict[str, Any], path: tuple[str, ...]) -> str:
    node = body["errors"]
    for part in path:
        node = node[part]
    return node["_errors"][0]["code"]


@ONE_MODE
@pytest.mark.parametrize(("kwargs", "path", "code"), OVER_LIMIT)
async def test_message_limits_give_50035_with_the_error_tree(
    bot: TinyBot, discord_server: Driver, kwargs, path, code
) -> None:
    await asyncio.wait_for(bot.wait_until_ready(), 5)
    with pytest.raises(discord.HTTPException) as raised:
        await bot.get_channel(discord_server.channel("alerts").id).send(**kwargs)
    assert (raised.value.status, raised.value.code) == (400, 50035)
    assert error_at(discord_server.rejections[-1].body, path) == code
    assert discord_server.messages("alerts") == []


@ONE_MODE
async def test_limits_discord_py_does_not_check_itself(bot: TinyBot, discord_server: Driver) -> None:
    channel = discord_server.channel("alerts").id
    await asyncio.wait_for(bot.wait_until_ready(), 5)
    with pytest.raises(discord.HTTPException) as raised:
        await bot.get_channel(channel).send(content="   ")
    assert raised.value.code == 50006
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("payload_json", json.dumps({"content": "eleven files"}), content_type="application/json")
    for index in range(11):
        form.add_field(
            f"files[{index}]", b"x", filename=f"f{index}.txt", content_type="application/octet-stream"
        )
    assert (await raw(discord_server, "POST", f"/channels/{channel}/messages", data=form))[2]["code"] == 30015
    big = aiohttp.FormData(quote_fields=False)
    big.add_field("payload_json", json.dumps({}), content_type="application/json")
    big.add_field(
        "files[0]", b"x" * (10 * 1024 * 1024 + 1), filename="big.bin", content_type="application/octet-stream"
    )
    status, _, body = await raw(discord_server, "POST", f"/channels/{channel}/messages", data=big)
    assert (status, body["code"]) == (413, 40005)
    status, _, body = await raw(
        discord_server,
        "POST",
        f"/channels/{channel}/messages",
        data="hi",
        headers={"Content-Type": "text/plain"},
    )
    assert (status, body["code"]) == (400, 50035)
    status, _, body = await raw(
        discord_server, "POST", f"/channels/{channel}/messages", json={"content": "x", "nonce": "n" * 26}
    )
    assert error_at(body, ("nonce",)) == "BASE_TYPE_MAX_LENGTH"


async def test_reply_over_limit_is_refused_and_the_bot_can_still_answer(
    bot: TinyBot, discord_server: Driver
) -> None:
    handle = await discord_server.invoke("toolong")
    rejection = await handle.rejection(50035)
    assert error_at(rejection.body, ("data", "embeds", "0", "description")) == "BASE_TYPE_MAX_LENGTH"
    assert await bot.next_error() == ("toolong", 50035)
    reply = await handle.reply()  # the bot's error handler answered within the 3 s instead
    assert reply.content == "failed with code 50035" and reply.ephemeral


async def test_acknowledging_after_3_seconds_gives_10062(bot: TinyBot, discord_server: Driver) -> None:
    handle = await discord_server.invoke("slow")
    discord_server.advance(3.5)
    bot.release.set()
    rejection = await handle.rejection()
    assert (rejection.status, rejection.code) == (404, 10062)
    assert await bot.next_error() == ("slow", 10062)
    assert handle.record.ack is None


@ONE_MODE
async def test_second_initial_response_gives_40060(bots, discord_server: Driver) -> None:
    first, second = await bots.start(), await bots.start()  # two processes of one bot: both get the event
    handle = await discord_server.invoke("ping")
    assert (await handle.reply()).content == "pong"
    rejection = await handle.rejection(40060)
    assert rejection.status == 400
    losers = [bot for bot in (first, second) if not bot.errors.empty()]
    assert len(losers) == 1 and await losers[0].next_error() == ("ping", 40060)


async def test_followup_after_15_minutes_gives_50027(bot: TinyBot, discord_server: Driver) -> None:
    handle = await discord_server.invoke("late")
    assert (await handle.ack()).deferred
    discord_server.advance(15 * 60 + 1)
    bot.release.set()
    rejection = await handle.rejection()
    assert (rejection.status, rejection.code) == (401, 50027)
    assert await bot.next_error() == ("late", 50027)


@ONE_MODE
async def test_unknown_channel_and_missing_permission(bot: TinyBot, discord_server: Driver) -> None:
    with pytest.raises(discord.NotFound) as missing:
        await bot.get_partial_messageable(123456789).send("where?")
    assert missing.value.code == 10003
    discord_server.channel("newsroom").bot_can_send = False
    with pytest.raises(discord.Forbidden) as forbidden:
        await bot.get_partial_messageable(discord_server.channel("newsroom").id).send("not allowed")
    assert forbidden.value.code == 50013


@ONE_MODE
async def test_wire_details(bot: TinyBot, discord_server: Driver) -> None:
    status, headers, body = await raw(discord_server, "GET", "/users/@me")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert {
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset-After",
        "X-RateLimit-Bucket",
    } <= set(headers)
    assert (await raw(discord_server, "GET", "/users/@me", auth=False))[0] == 401
    discord_server.fail_next("GET /users/@me", 429, retry_after=0.25)
    status, headers, body = await raw(discord_server, "GET", "/users/@me")
    assert status == 429 and headers["Via"] and body["retry_after"] == 0.25 and body["global"] is False
    status, _, body = await raw(discord_server, "POST", "/webhooks/1/nosuchtoken", json={"content": "x"})
    assert status == 404 and body["code"] == 10015
    discord_server.unimplemented.clear()  # that webhook was recorded as unimplemented, as intended


@ONE_MODE
async def test_a_real_rate_limit_is_announced_and_enforced() -> None:
    async with Driver(rate_limit=(2, 30.0)) as driver:
        path = f"/channels/{driver.channel('alerts').id}/messages"
        answers = [await raw(driver, "POST", path, json={"content": str(n)}) for n in range(3)]
    assert [status for status, _, _ in answers] == [200, 200, 429]
    assert [headers["X-RateLimit-Remaining"] for _, headers, _ in answers[:2]] == ["1", "0"]
    assert answers[2][1]["Via"] and 0 < answers[2][2]["retry_after"] <= 30


@ONE_MODE
async def test_unimplemented_routes_are_loud(discord_server: Driver) -> None:
    status, _, body = await raw(discord_server, "GET", "/guilds/1/bans")
    assert status == 404 and "not implemented: GET /api/v10/guilds/1/bans" in body["message"]
    assert [r.path for r in discord_server.unimplemented] == ["/api/v10/guilds/1/bans"]
    with pytest.raises(AssertionError, match="does not implement"):
        discord_server.assert_all_implemented()
    discord_server.unimplemented.clear()


@ONE_MODE
async def test_command_sync_is_validated(discord_server: Driver) -> None:
    app, guild = discord_server.application_id, discord_server.guild.id
    bad = [
        {"name": "Exports", "description": "upper case"},
        {
            "name": "top",
            "description": "d",
            "options": [
                {"type": 3, "name": "a", "description": "optional"},
                {"type": 3, "name": "b", "description": "required after optional", "required": True},
            ],
        },
    ]
    status, _, body = await raw(
        discord_server, "PUT", f"/applications/{app}/guilds/{guild}/commands", json=bad
    )
    assert (status, body["code"]) == (400, 50035)
    assert error_at(body, ("0", "name")) == "APPLICATION_COMMAND_INVALID_NAME"
    assert error_at(body, ("1", "options", "1", "required")) == "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"
    status, _, body = await raw(discord_server, "PUT", f"/applications/{app}/guilds/999/commands", json=[])
    assert (status, body["code"]) == (403, 50001)
