"""Fixtures for the stand-in's own tests: the stand-in, discord.py pointed at it in either compression mode,
and the tiny bot running in-process."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import sys
from collections.abc import AsyncIterator

import discord
import pytest
import yarl

from tests.discord_standin import Driver

from .tinybot import TinyBot

COMPRESSIONS = ["zstd-stream", "zlib-stream"]


def zlib_decompression_context() -> type:
    """discord.py's own zlib-stream decoder: load a second copy of discord/utils.py as it loads on a machine
    without zstandard (the choice is made at import time, utils.py:86-98), and take its decoder class."""
    spec = importlib.util.spec_from_file_location(
        "discord._standin_utils_without_zstd", discord.utils.__file__
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "discord"
    blocked = {name: sys.modules.get(name) for name in ("zstandard", "compression.zstd")}
    sys.modules.update(dict.fromkeys(blocked))  # a None entry makes the import fail
    try:
        spec.loader.exec_module(module)
    finally:
        for name, previous in blocked.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous
    return module._ActiveDecompressionContext


@pytest.fixture(params=COMPRESSIONS)
def compression(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which gateway compression discord.py asks for; every bot test runs in both modes."""
    if request.param == "zlib-stream":
        monkeypatch.setattr(discord.utils, "_ActiveDecompressionContext", zlib_decompression_context())
    assert discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE == request.param
    return request.param


@pytest.fixture
async def discord_server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Driver]:
    """A running stand-in, with discord.py's two class attributes pointed at it (restored afterwards)."""
    async with Driver() as driver:
        monkeypatch.setattr(discord.http.Route, "BASE", driver.standin.api_base)
        monkeypatch.setattr(
            discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(driver.standin.gateway_url)
        )
        yield driver
        driver.assert_all_implemented()


class BotRunner:
    """Starts TinyBots in this event loop and checks at the end that none of them died."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.running: list[tuple[TinyBot, asyncio.Task[None]]] = []
        self.expected_log_errors: list[str] = []

    async def start(self, *, wait: bool = True, **options: bool) -> TinyBot:
        bot = TinyBot(self.driver.guild.id, **options)
        mark = self.driver.gateway_mark()
        task = asyncio.create_task(bot.start(self.driver.token), name="tinybot")
        self.running.append((bot, task))
        if wait:
            await self.driver.wait_gateway("ready", after=mark, timeout=10)
            await self.driver.wait_ready(commands={"quick", "chart", "watch"}, timeout=10)
        return bot

    def assert_alive(self) -> None:
        for _, task in self.running:
            if task.done():
                raise AssertionError(f"the discord.py client stopped: {task.exception()!r}")

    async def close(self) -> None:
        for bot, task in self.running:
            await bot.close()
            await asyncio.wait_for(task, 10)


@pytest.fixture
async def bots(
    discord_server: Driver, compression: str, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[BotRunner]:
    """Runs TinyBots; afterwards every bot must still be alive and discord.py must have logged no errors
    other than those the test listed in `bots.expected_log_errors` (substrings)."""
    caplog.set_level(logging.INFO, logger="discord")
    runner = BotRunner(discord_server)
    try:
        yield runner
        runner.assert_alive()
    finally:
        await runner.close()
    logged = [r for phase in ("setup", "call") for r in caplog.get_records(phase)]
    errors = [r.getMessage() for r in logged if r.levelno >= logging.ERROR and r.name.startswith("discord")]
    unexpected = [e for e in errors if not any(part in e for part in runner.expected_log_errors)]
    assert not unexpected, f"discord.py logged errors: {unexpected}"


@pytest.fixture
async def bot(bots: BotRunner) -> TinyBot:
    """One TinyBot, logged in, READY and with its commands synced."""
    return await bots.start()
