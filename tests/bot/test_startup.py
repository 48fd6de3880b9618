"""What `tradewatch serve` does before it is connected, and what it leaves for after (a cold start in seconds).

The heavy command modules (matplotlib, followthemoney, the name index) are imported on first use or preloaded
after connecting; the name index and the commodity index are loaded once the gateway is connected.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import importlib.util
import logging
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.client import COG_MODULES, TradewatchBot, preload
from bot.cogs import commodity_choices
from bot.config import Config
from bot.runtime import App
from db.lookups import Lookups
from db.sources import load_importer
from tests.bot.fakes import FakeInteraction

REPO = Path(__file__).resolve().parents[2]
NOW_HS = "hs/harmonized-system.csv"
# Imported before the bot connects, these cost about a second of CPU (tracked by bench/serve.py).
DEFERRED = (
    "matplotlib",
    "followthemoney",
    "alembic",
    "rigour",
    "db.search.service",
    "db.ingest.comtrade_api",
)


def test_serve_loads_its_cogs_without_the_heavy_modules() -> None:
    script = """
import asyncio, sys
from bot.cli import cli
cli.get_command(None, "serve")
from bot.client import TradewatchBot
from bot.config import Config

async def main():
    bot = TradewatchBot(Config(), open_database=False, sync_guilds=False)
    for module in bot.cog_modules:
        await bot.load_extension(module)
    bot.tree.get_commands()

asyncio.run(main())
print(" ".join(sorted({m.split(".")[0] if m.split(".")[0] != "db" else m for m in sys.modules})))
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert not loaded & set(DEFERRED), sorted(loaded & set(DEFERRED))
    assert "discord" in loaded  # the script did run


def _local_imports(module: str) -> set[str]:
    """Modules a cog imports inside its functions (on first use)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.module and inner.level == 0:
                    found.add(inner.module)
    return found


@pytest.mark.parametrize("module", COG_MODULES)
def test_every_module_a_cog_imports_on_first_use_is_preloaded(module: str) -> None:
    lazy = _local_imports(module)
    preloaded = set(getattr(importlib.import_module(module), "PRELOAD", ()))
    # bot.alerts is imported by the watch cog once the bot is ready; it is preloaded too.
    assert lazy <= preloaded, sorted(lazy - preloaded)
    for name in preloaded:
        importlib.import_module(name)


def test_preload_imports_and_stops_when_the_bot_closes(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "bot.client")
    stopping = threading.Event()
    preload(["json", "no_such_module_xyz"], stopping)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["preloading no_such_module_xyz failed", "commands_preloaded"]
    caplog.clear()
    stopping.set()
    preload(["json"], stopping)
    assert caplog.records == []


@pytest.fixture
async def bot(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path
) -> AsyncIterator[TradewatchBot]:
    """A bot set up by hand (no login, no gateway): real database with the HS file, the entity cog loaded."""
    import datetime as dt

    await load_importer("hs")(sessions, shared_data / NOW_HS, now=dt.datetime(2026, 11, 29, tzinfo=dt.UTC))
    client = TradewatchBot(Config(), sync_guilds=False, cog_modules=["bot.cogs.entity"])
    client._app = App(Config(), engine, sessions, lookups)
    for module in client.cog_modules:
        await client.load_extension(module)
    yield client
    for module in list(client.extensions):
        await client.unload_extension(module)


async def test_the_name_index_warms_once_the_gateway_is_connected(bot: TradewatchBot) -> None:
    cog = bot.get_cog("EntityCog")
    assert cog is not None and cog.warming is not None  # type: ignore[attr-defined]
    await asyncio.sleep(0.2)
    assert not cog.warming.done()  # type: ignore[attr-defined]  (waiting for the gateway)
    await cog.on_connect()  # type: ignore[attr-defined]  (what the gateway's READY dispatches)
    await asyncio.wait_for(asyncio.shield(cog.warming), 60)  # type: ignore[attr-defined]
    assert "entity_names" in bot.health


async def test_a_bot_stopped_before_connecting_does_not_wait_for_the_warm(bot: TradewatchBot) -> None:
    started = asyncio.get_running_loop().time()
    await bot.unload_extension("bot.cogs.entity")
    assert asyncio.get_running_loop().time() - started < 5


async def test_close_returns_once_the_tasks_it_cancels_have_ended() -> None:
    """A query cancelled by close() still hands its connection back: left to the event loop's shutdown, that
    clean-up is cancelled too, and aiosqlite's close never returns (the process hung at exit)."""
    bot = TradewatchBot(Config(), open_database=False, sync_guilds=False)
    handed_back = asyncio.Event()

    async def load_indexes() -> None:
        try:
            await asyncio.Event().wait()  # the query in flight
        finally:
            await asyncio.sleep(0.01)  # closing its connection, in the driver's thread
            handed_back.set()

    bot._indexes_task = asyncio.create_task(load_indexes())
    await asyncio.sleep(0)
    await bot.close()
    assert handed_back.is_set()


async def test_commodity_autocomplete_typed_before_the_index_is_loaded_waits_for_it(
    bot: TradewatchBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.cogs.INDEXES_WAIT_SECONDS", 60.0)  # a busy test machine is not the subject
    assert bot.commodities is None  # loaded on connect, which has not happened
    choices = await commodity_choices(FakeInteraction(client=bot), "8542")  # type: ignore[arg-type]
    assert choices and choices[0].value == "8542"
    assert bot.health["hs_codes"] > 1000 and bot.health["database"] == bot.app.engine.dialect.name


async def test_preload_imports_every_cog_module_after_the_start_up_work(
    bot: TradewatchBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[list[str]] = []
    monkeypatch.setattr("bot.client.preload", lambda modules, _stopping: asked.append(list(modules)))
    await bot._preload()  # the entity index waits for the gateway: the preload goes on after its timeout
    wanted = {m for ext in bot.extensions.values() for m in getattr(ext, "PRELOAD", ())}
    assert len(asked) == 1 and "bot.trade_fetch" in asked[0] and wanted <= set(asked[0])
