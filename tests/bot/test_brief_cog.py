"""/changes and /brief in Discord: typed options and choices, and the callbacks driven with a fake interaction
against a real database holding the real SDN snapshots of 2024-04-26 and 2024-05-01."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from discord import app_commands
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.client import TradewatchBot
from bot.config import Config
from bot.runtime import App
from bot.suggest import CountrySuggester
from commands.errors import InvalidInput
from db.lookups import Lookups
from db.sources import load_importer
from tests.bot.fakes import FakeInteraction
from tests.commands.trade_seed import NOW


@pytest.fixture
async def bot(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path
) -> AsyncIterator[TradewatchBot]:
    for date in ("2024-04-26", "2024-05-01"):
        folder = shared_data / "ofac/sdn_snapshots" / date
        await load_importer("ofac")(sessions, folder, now=NOW, data_date=date)
    client = TradewatchBot(Config(), sync_guilds=False, cog_modules=["bot.cogs.brief"])
    client._app = App(Config(), engine, sessions, lookups)
    client.countries = CountrySuggester(lookups)
    await client.load_extension("bot.cogs.brief")
    yield client
    await client.unload_extension("bot.cogs.brief")


def _command(bot: TradewatchBot, name: str) -> app_commands.Command[Any, ..., Any]:
    command = bot.tree.get_command(name)
    assert isinstance(command, app_commands.Command)
    return command


async def test_changes_definition_and_callback(bot: TradewatchBot) -> None:
    definition = _command(bot, "changes").to_dict(bot.tree)
    options = {o["name"]: o for o in definition["options"]}
    assert list(options) == ["source", "since", "country", "program", "change"]
    assert [c["value"] for c in options["change"]["choices"]] == ["added", "removed", "amended"]
    assert "ofac_sdn" in {c["value"] for c in options["source"]["choices"]}
    assert options["country"]["autocomplete"] and options["since"]["max_length"] == 10

    interaction = FakeInteraction(client=bot)
    await _command(bot, "changes").callback(
        bot.get_cog("BriefCog"), interaction, since="2024-04-27", country="HK",  # type: ignore[arg-type]
    )  # fmt: skip
    assert interaction.response.calls == [("defer", {"thinking": True, "ephemeral": False})]
    [message] = interaction.followup.sent
    embed = message["embeds"][0]
    assert embed.title == "List changes since 2024-04-27" and "ofac\\_sdn: 10 added" in embed.description
    assert [f.filename for f in message["files"]] == ["changes.csv"]
    assert message["allowed_mentions"].to_dict()["parse"] == []


async def test_brief_callback_and_bad_since(bot: TradewatchBot) -> None:
    interaction = FakeInteraction(client=bot)
    await _command(bot, "brief").callback(bot.get_cog("BriefCog"), interaction, since="2024-04-27")  # type: ignore[arg-type]
    [message] = interaction.followup.sent
    embed = message["embeds"][0]
    assert embed.title == "Editorial brief since 2024-04-27" and "298 list change(s)" in embed.description
    assert "No monthly trade data" in embed.description  # no trade loaded here: said, with how to get it
    assert [f.filename for f in message["files"]] == ["brief.csv"]
    with pytest.raises(InvalidInput, match="since"):
        await _command(bot, "brief").callback(
            bot.get_cog("BriefCog"),
            FakeInteraction(client=bot),
            since="soon",  # type: ignore[arg-type]
        )
