"""`tradewatch sync-commands` and the start-up failures of `tradewatch serve`, as processes against the stand-in."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from tests.discord_standin import Driver
from tests.e2e.bot_harness import REPO, ServeProcess, process_env

pytestmark = pytest.mark.e2e

CORE = {"exports", "top", "hs", "entity", "help"}


async def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode()


async def test_sync_commands_registers_globally_and_clears_the_guild_copies(tmp_path: Path) -> None:
    async with Driver() as discord:
        store = discord.standin.store
        store.guild_commands[discord.guild.id] = {"hs": {"name": "hs", "description": "old copy"}}
        config = tmp_path / "config.toml"
        config.write_text(f"[discord]\nguilds = [{{ id = {discord.guild.id} }}]\n", encoding="utf-8")
        code, out = await run_cli(
            ["--config", str(config), "sync-commands", "--clear-guilds"], process_env(discord.env()), tmp_path
        )
        assert code == 0, out
        assert CORE <= set(store.global_commands)
        assert store.guild_commands[discord.guild.id] == {}
        assert "registered" in out and "/exports" in out
        assert discord.token not in out
        # sync-commands never opens the gateway
        assert not [e for e in discord.gateway_events if e.kind == "identify"]


async def test_a_refused_token_stops_serve_with_a_configuration_exit_code(tmp_path: Path) -> None:
    async with Driver() as discord:
        env = process_env(
            discord.env()
            | {
                "DISCORD_TOKEN": "not-the-token-123",
                "TRADEWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'tw.sqlite3'}",
            }
        )
        config = tmp_path / "config.toml"
        config.write_text("[sync]\nenabled = false\n", encoding="utf-8")
        serve = ServeProcess(config, env, tmp_path / "serve.log")
        await serve.start()
        assert serve.proc is not None
        assert await asyncio.wait_for(serve.proc.wait(), 60) == 78
        assert serve.events("login_failed")
        assert "not-the-token-123" not in serve.text() and "Traceback" not in serve.text()


def test_serve_without_a_token_says_what_to_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 1
    assert "DISCORD_TOKEN is not set" in result.output
