"""The topology of the end-to-end tests: the bot runs as its own process, configured only through
DISCORD_API_BASE / DISCORD_GATEWAY_URL / DISCORD_TOKEN, here without `zstandard` so that discord.py itself
chooses zlib-stream (utils.py:86-98)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.discord_standin import BotExited, Driver

REPO = Path(__file__).resolve().parents[2]
WITHOUT_ZSTD = (
    "import sys, asyncio; sys.modules['zstandard'] = None; sys.modules['compression.zstd'] = None; "
    "from tests.discord_standin_tests.tinybot import run_from_environment; asyncio.run(run_from_environment())"
)


async def test_bot_process_configured_by_environment() -> None:
    async with Driver() as driver:
        env = os.environ | driver.env() | {"STANDIN_GUILD_ID": str(driver.guild.id)}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WITHOUT_ZSTD,
            cwd=REPO,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        driver.watch_process(process)
        try:
            await driver.wait_ready(commands={"quick", "chart"}, timeout=30)
            connect = next(e for e in driver.gateway_events if e.kind == "connect")
            assert connect.detail["compress"] == "zlib-stream"
            reply = await (await driver.invoke("chart", {"commodity": "bearings"})).reply()
            assert reply.attachment("chart.png").data.startswith(b"\x89PNG")
            mark = driver.gateway_mark()
            driver.reconnect()
            await driver.wait_gateway("resumed", after=mark)
            assert (await (await driver.invoke("ping")).reply()).content == "pong"
            driver.assert_all_implemented()
        finally:
            driver.forget_process()
            process.terminate()
            _, stderr = await asyncio.wait_for(process.communicate(), 10)
    assert b"Traceback" not in stderr, stderr.decode()


async def test_a_dead_bot_process_fails_the_wait_at_once() -> None:
    async with Driver() as driver:
        process = await asyncio.create_subprocess_exec(sys.executable, "-c", "raise SystemExit(3)")
        driver.watch_process(process)
        with pytest.raises(BotExited, match="exited with code 3"):
            await driver.wait_ready(timeout=30)
