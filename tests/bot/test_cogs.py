"""Adapter tests: the slash-command definitions, and cog callbacks driven with a fake interaction.

The callbacks run against a real database (SQLite and PostgreSQL) loaded with the real HS file; the
protocol itself (defer timing, multipart, limits) is checked end to end in tests/e2e.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from discord import app_commands
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.client import TradewatchBot
from bot.config import Config
from bot.runtime import App
from bot.suggest import CommoditySuggester, CountrySuggester
from commands.errors import InvalidInput, NotFound
from db.lookups import Lookups
from db.sources import load_importer
from tests.bot.fakes import FakeInteraction

NOW = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
# Every command in DESIGN.md, as Discord shows it; /watch has its own tests (test_watch_cog.py).
CORE = {"exports", "top partners", "top goods", "hs", "entity", "help", "sources"}
CORE_COGS = ["bot.cogs.trade", "bot.cogs.hs", "bot.cogs.entity", "bot.cogs.help", "bot.cogs.sources"]


@pytest.fixture
async def bot(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path
) -> AsyncIterator[TradewatchBot]:
    """A bot whose setup has been done by hand (no login): real database with the HS file, cogs loaded."""
    await load_importer("hs")(sessions, shared_data / "hs" / "harmonized-system.csv", now=NOW)
    # The core families; the watch cog starts a delivery loop and has its own tests (test_watch_cog.py).
    client = TradewatchBot(Config(), sync_guilds=False, cog_modules=CORE_COGS)
    client._app = App(Config(), engine, sessions, lookups)
    client.commodities = CommoditySuggester(lookups, [("8542", "Electronic integrated circuits")])
    client.countries = CountrySuggester(lookups)
    for module in client.cog_modules:
        await client.load_extension(module)
    await client.get_cog("EntityCog").index_ready()  # type: ignore[union-attr]
    yield client
    for module in list(client.extensions):
        await client.unload_extension(module)


def _command(bot: TradewatchBot, name: str) -> app_commands.Command[Any, ..., Any]:
    command = bot.tree.get_command(name.split()[0])
    if " " in name:
        assert isinstance(command, app_commands.Group)
        command = command.get_command(name.split()[1])
    assert isinstance(command, app_commands.Command)
    return command


def test_definitions_are_valid_for_discord() -> None:
    """Names, descriptions and option counts within Discord's limits; autocomplete where users type names."""
    import asyncio

    async def definitions() -> list[dict[str, Any]]:
        client = TradewatchBot(Config(), open_database=False, sync_guilds=False)
        for module in client.cog_modules:
            await client.load_extension(module)
        return [c.to_dict(client.tree) for c in client.tree.get_commands()]

    payload = asyncio.run(definitions())

    def walk(items: list[dict[str, Any]], prefix: str = "") -> dict[str, dict[str, Any]]:
        out = {}
        for item in items:
            assert 1 <= len(item["name"]) <= 32 and item["name"] == item["name"].lower()
            assert 1 <= len(item["description"]) <= 100, item["description"]
            subs = [o for o in item.get("options", []) if o["type"] in (1, 2)]
            if subs:
                out.update(walk(subs, prefix + item["name"] + " "))
            else:
                out[prefix + item["name"]] = item
        return out

    leaves = walk(payload)
    assert CORE <= set(leaves)
    for name, definition in leaves.items():
        options = definition.get("options", [])
        assert len(options) <= 25
        autocompleted = {o["name"] for o in options if o.get("autocomplete")}
        expected = {
            o["name"]
            for o in options
            if o["name"] in {"commodity", "partner", "reporter", "country", "query"}
        }
        if name == "entity":
            expected.add("name")
        assert expected <= autocompleted, name
        for option in options:
            assert 1 <= len(option["description"]) <= 100, (name, option["name"])
    exports = {o["name"]: o for o in leaves["exports"]["options"]}
    assert {c["value"] for c in exports["flow"]["choices"]} == {"exports", "imports"}
    for name in ("exports", "top partners", "top goods"):
        options = {o["name"]: o for o in leaves[name]["options"]}
        assert {c["value"] for c in options["measure"]["choices"]} == {
            "value",
            "weight",
            "quantity",
            "unit-value",
        }
        assert options["vs"]["type"] == 4 and options["months"].get("autocomplete")


async def test_hs_defers_then_sends_the_rendered_reply(bot: TradewatchBot) -> None:
    interaction = FakeInteraction(client=bot)
    await _command(bot, "hs").callback(bot.get_cog("HsCog"), interaction, query="8542")  # type: ignore[arg-type]
    assert interaction.response.calls == [("defer", {"thinking": True, "ephemeral": False})]
    [message] = interaction.followup.sent
    embed = message["embeds"][0]
    assert "8542" in embed.title and "Electronic integrated circuits" in embed.description + str(embed.fields)
    assert message["allowed_mentions"].to_dict()["parse"] == []
    assert embed.footer.text.startswith("Source: Harmonized System")


async def test_bad_options_are_refused_before_acknowledging(bot: TradewatchBot) -> None:
    """Input errors come from memory, before the defer: the tree answers them privately at once."""
    interaction = FakeInteraction(client=bot)
    with pytest.raises(NotFound, match="Narnia"):
        await _command(bot, "exports").callback(
            bot.get_cog("TradeCog"),
            interaction,  # type: ignore[arg-type]
            commodity="chips",
            partner="Narnia",
        )
    assert interaction.response.calls == []


async def test_entity_acknowledges_before_importing_its_command(bot: TradewatchBot) -> None:
    """/entity's first import (followthemoney, the search) can pass Discord's 3 s on a loaded machine: the
    cog defers first; a bad name is still refused (the tree's on_error answers privately after the defer)."""
    interaction = FakeInteraction(client=bot)
    with pytest.raises(InvalidInput):
        await _command(bot, "entity").callback(
            bot.get_cog("EntityCog"),
            interaction,  # type: ignore[arg-type]
            name="@everyone",
        )
    assert interaction.response.calls == [("defer", {"thinking": True, "ephemeral": False})]
    assert interaction.followup.sent == []


async def test_help_is_private(bot: TradewatchBot) -> None:
    interaction = FakeInteraction(client=bot)
    await _command(bot, "help").callback(bot.get_cog("HelpCog"), interaction, command=None)  # type: ignore[arg-type]
    assert interaction.response.calls == [("defer", {"thinking": True, "ephemeral": True})]
    names = [f.name for f in interaction.followup.sent[0]["embeds"][0].fields]
    assert any(n.startswith("/exports") for n in names)


async def test_autocomplete_callbacks_answer_from_memory(bot: TradewatchBot) -> None:
    interaction = FakeInteraction(client=bot)
    exports = _command(bot, "exports")
    partner = exports._params["partner"].autocomplete
    commodity = exports._params["commodity"].autocomplete
    assert [c.value for c in await partner(interaction, "rus")][:1] == ["RU"]  # type: ignore[misc]
    assert [c.value for c in await commodity(interaction, "854")] == ["8542"]  # type: ignore[misc]


async def test_sources_shows_the_loaded_hs_snapshot(bot: TradewatchBot) -> None:
    """/sources answers from the database: the HS file loaded by the fixture is listed with its rows."""
    interaction = FakeInteraction(client=bot)
    await _command(bot, "sources").callback(bot.get_cog("SourcesCog"), interaction, source=None)  # type: ignore[arg-type]
    assert interaction.response.calls == [("defer", {"thinking": True, "ephemeral": False})]
    embed = interaction.followup.sent[0]["embeds"][0]
    text = embed.title + (embed.description or "") + " ".join(f.name + f.value for f in embed.fields)
    assert "Harmonized System" in text and "6,9" in text  # 6,9xx HS codes loaded from the real file
