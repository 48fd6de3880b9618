"""Fault injection: REST 429/5xx absorbed by discord.py's retries, and gateway RECONNECT, INVALID_SESSION and
dropped connections after which the client resumes or re-identifies and keeps answering."""

from __future__ import annotations

import asyncio

import discord
import pytest

from tests.discord_standin import Driver

from .tinybot import TinyBot

CHANNEL_MESSAGES = "POST /channels/{channel_id}/messages"
CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback"
FOLLOWUP = "POST /webhooks/{webhook_id}/{webhook_token}"
ONE_MODE = pytest.mark.parametrize("compression", ["zstd-stream"], indirect=True)


async def _send(bot: TinyBot, driver: Driver, text: str) -> discord.Message:
    await asyncio.wait_for(bot.wait_until_ready(), 5)
    return await bot.get_channel(driver.channel("alerts").id).send(text)


@ONE_MODE
@pytest.mark.parametrize("is_global", [False, True])
async def test_429_on_channel_send_is_retried(bot: TinyBot, discord_server: Driver, is_global: bool) -> None:
    discord_server.fail_next(CHANNEL_MESSAGES, 429, count=2, retry_after=0.05, is_global=is_global)
    sent = await _send(bot, discord_server, "alert after 429")
    assert [r.status for r in discord_server.requests(CHANNEL_MESSAGES)] == [429, 429, 200]
    assert [m.id for m in discord_server.messages("alerts")] == [sent.id]


@ONE_MODE
async def test_429_on_interaction_callback_is_retried(bot: TinyBot, discord_server: Driver) -> None:
    discord_server.fail_next(CALLBACK, 429, retry_after=0.05)
    handle = await discord_server.invoke("ping")
    assert (await handle.reply()).content == "pong"
    assert [r.status for r in discord_server.requests(CALLBACK)] == [429, 200]


@ONE_MODE
async def test_5xx_are_retried_on_rest_and_webhook_routes(bot: TinyBot, discord_server: Driver) -> None:
    discord_server.fail_next(CHANNEL_MESSAGES, 500)
    discord_server.fail_next(FOLLOWUP, 502)
    await _send(bot, discord_server, "after a 500")  # discord.py waits 1 s before its retry
    handle = await discord_server.invoke("chart", {"commodity": "optics"})
    assert (await handle.reply()).embeds[0]["title"] == "optics all years"
    assert [r.status for r in discord_server.requests(CHANNEL_MESSAGES)] == [500, 200]
    assert [r.status for r in discord_server.requests(FOLLOWUP)][:2] == [502, 200]


async def test_reconnect_resumes_and_the_bot_keeps_answering(bot: TinyBot, discord_server: Driver) -> None:
    mark = discord_server.gateway_mark()
    resumed = asyncio.ensure_future(bot.wait_for("resumed", timeout=5))
    assert discord_server.reconnect() == 1
    resume = await discord_server.wait_gateway("resume", after=mark)
    assert resume.detail["path"] == "/resume/"  # the client used READY.resume_gateway_url
    await resumed
    assert (await (await discord_server.invoke("ping")).reply()).content == "pong"
    assert not [e for e in discord_server.gateway_events[mark:] if e.kind == "identify"]


async def test_events_sent_while_disconnected_are_replayed_on_resume(
    bot: TinyBot, discord_server: Driver
) -> None:
    mark = discord_server.gateway_mark()
    assert await discord_server.drop_connection() == 1
    await discord_server.wait_gateway("disconnect", after=mark)
    handle = await discord_server.invoke("ping")  # buffered in the session until the client resumes
    resume = await discord_server.wait_gateway("resume", after=mark)
    assert resume.detail["replayed"] >= 1
    assert (await handle.reply()).content == "pong"


async def test_resumable_invalid_session_resumes(bot: TinyBot, discord_server: Driver) -> None:
    mark = discord_server.gateway_mark()
    discord_server.invalid_session(resumable=True)
    await discord_server.wait_gateway("resumed", after=mark)
    assert (await (await discord_server.invoke("ping")).reply()).content == "pong"


@pytest.mark.parametrize("compression", ["zlib-stream"], indirect=True)  # re-IDENTIFY costs 5 s (client.py)
async def test_invalid_session_makes_the_client_identify_again(bot: TinyBot, discord_server: Driver) -> None:
    old = discord_server.standin.gateway.live_sessions()[0].id
    mark = discord_server.gateway_mark()
    discord_server.invalid_session(resumable=False)
    identify = await discord_server.wait_gateway("identify", after=mark)
    assert identify.session_id != old and identify.detail["path"] == "/"  # back to DEFAULT_GATEWAY
    await discord_server.wait_ready()
    assert (await (await discord_server.invoke("ping")).reply()).content == "pong"


@ONE_MODE  # re-IDENTIFY costs 5 s: discord.py's before_identify_hook sleeps before every non-initial IDENTIFY
async def test_stale_resume_gets_invalid_session_then_identify(bot: TinyBot, discord_server: Driver) -> None:
    mark = discord_server.gateway_mark()
    assert discord_server.expire_sessions() == 1  # as if Discord had forgotten the session
    await discord_server.close_gateway(4000)
    refused = await discord_server.wait_gateway("invalid_session", after=mark)
    assert refused.detail["reason"] == "unknown session"
    await discord_server.wait_gateway("identify", after=mark)
    await discord_server.wait_ready()
    assert (await (await discord_server.invoke("ping")).reply()).content == "pong"


async def test_wrong_token_fails_login(discord_server: Driver) -> None:
    client = discord.Client(intents=discord.Intents.default())
    with pytest.raises(discord.LoginFailure):
        await client.login("not-the-token")
    await client.close()
    assert discord_server.requests()[0].status == 401
