"""The client's process-level settings: endpoints from the environment, least intents, the loop-lag log."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import discord
import pytest
import yarl

from bot.client import apply_endpoints, least_intents, watch_loop_lag
from bot.config import DiscordConfig


@pytest.fixture
def restore_endpoints() -> Iterator[None]:
    """apply_endpoints sets class attributes; put Discord's own back."""
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    yield
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = base, gateway


def test_endpoints_point_rest_webhooks_and_gateway_at_the_stand_in(restore_endpoints: None) -> None:
    apply_endpoints(
        DiscordConfig(api_base="http://127.0.0.1:5555/api/v10/", gateway_url="ws://127.0.0.1:5555/")
    )
    assert discord.http.Route("GET", "/users/@me").url == "http://127.0.0.1:5555/api/v10/users/@me"
    assert discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY == yarl.URL("ws://127.0.0.1:5555/")


def test_unset_endpoints_leave_discord_alone(restore_endpoints: None) -> None:
    discord.http.Route.BASE = "https://discord.com/api/v10"  # other in-process tests may have redirected it
    apply_endpoints(DiscordConfig())
    assert discord.http.Route.BASE == "https://discord.com/api/v10"


def test_no_privileged_intents() -> None:
    intents = least_intents()
    assert intents.guilds
    assert not (intents.members or intents.presences or intents.message_content)
    assert intents.value == discord.Intents.guilds.flag  # type: ignore[attr-defined]


async def test_a_blocked_event_loop_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    watcher = asyncio.create_task(watch_loop_lag(interval=0.01, threshold=0.05))
    await asyncio.sleep(0.02)
    time.sleep(0.3)  # what a chart rendered on the loop would do
    await asyncio.sleep(0.05)
    watcher.cancel()
    lags = [r for r in caplog.records if r.getMessage() == "event_loop_blocked"]
    assert lags and lags[0].levelno == logging.WARNING
