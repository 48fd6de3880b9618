"""/compare in Discord: its definition (typed options, autocomplete, choices) and the cog callback driven with a
fake interaction against a real database holding the real China monthly exports table."""

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
from bot.suggest import CommoditySuggester, CountrySuggester
from commands.errors import InvalidInput
from db.lookups import Lookups
from tests.bot.fakes import FakeInteraction
from tests.commands.trade_seed import seed_derived, seed_hs


@pytest.fixture
async def bot(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path
) -> AsyncIterator[TradewatchBot]:
    await seed_derived(sessions, shared_data, lookups)
    await seed_hs(sessions, shared_data)
    client = TradewatchBot(Config(), sync_guilds=False, cog_modules=["bot.cogs.compare"])
    client._app = App(Config(), engine, sessions, lookups)
    client.commodities = CommoditySuggester(lookups, [("2504", "Natural graphite")])
    client.countries = CountrySuggester(lookups)
    await client.load_extension("bot.cogs.compare")
    yield client
    await client.unload_extension("bot.cogs.compare")


def _compare(bot: TradewatchBot) -> app_commands.Command[Any, ..., Any]:
    command = bot.tree.get_command("compare")
    assert isinstance(command, app_commands.Command)
    return command


async def test_definition_has_typed_options_and_autocomplete(bot: TradewatchBot) -> None:
    definition = _compare(bot).to_dict(bot.tree)
    options = {o["name"]: o for o in definition["options"]}
    assert [o["name"] for o in definition["options"] if o.get("required")] == ["commodity", "countries"]
    assert all(
        options[name].get("autocomplete") for name in ("commodity", "countries", "reporter", "partner")
    )
    assert options["vs"]["type"] == 4 and {c["value"] for c in options["flow"]["choices"]} == {
        "exports",
        "imports",
    }
    assert options["countries"]["max_length"] == 300  # bounded before it reaches the command
    assert [c["value"] for c in options["measure"]["choices"]] == [
        "value",
        "weight",
        "quantity",
        "unit-value",
    ]


async def test_callback_defers_then_sends_chart_and_csv(bot: TradewatchBot) -> None:
    interaction = FakeInteraction(client=bot)
    await _compare(bot).callback(
        bot.get_cog("CompareCog"), interaction, commodity="graphite",  # type: ignore[arg-type]
        countries="Russia, Kazakhstan, Turkey", years="2021-2023",
    )  # fmt: skip
    assert interaction.response.calls == [("defer", {"thinking": True, "ephemeral": False})]
    [message] = interaction.followup.sent
    embed = message["embeds"][0]
    assert embed.title.startswith("China's exports of graphite") and "2.1× 2021 by value" in embed.description
    assert sorted(f.filename.rsplit(".", 1)[1] for f in message["files"]) == ["csv", "png"]
    assert message["allowed_mentions"].to_dict()["parse"] == []


async def test_bad_input_is_refused_before_acknowledging(bot: TradewatchBot) -> None:
    interaction = FakeInteraction(client=bot)
    with pytest.raises(InvalidInput, match="too many"):
        await _compare(bot).callback(
            bot.get_cog("CompareCog"), interaction, commodity="graphite",  # type: ignore[arg-type]
            countries=",".join(["RU", "KZ", "KG", "TR", "US", "JP", "DE", "FR", "IT"]),
        )  # fmt: skip
    assert interaction.response.calls == []


async def test_countries_autocomplete_completes_the_last_of_the_list(bot: TradewatchBot) -> None:
    complete = _compare(bot)._params["countries"].autocomplete
    interaction = FakeInteraction(client=bot)
    choices = await complete(interaction, "Russia, Kazakhstan, kyr")  # type: ignore[misc]
    assert choices and choices[0].value == "Russia, Kazakhstan, KG"
    assert all(c.value.startswith("Russia, Kazakhstan, ") and len(c.value) <= 100 for c in choices)
    assert (await complete(interaction, "rus"))[0].value == "RU"  # type: ignore[misc]
