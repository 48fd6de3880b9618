"""/compare: several partners (or reporters) of one flow side by side, with both reports where both are loaded.

The command's logic (matplotlib draws its chart) is imported when first used, not with the cog; bot/client.py
preloads PRELOAD right after the bot connects.
"""

from __future__ import annotations

from discord import Interaction, app_commands
from discord.ext import commands

from bot.client import TradewatchBot
from bot.cogs import answer, commodity_choices, country_choices
from bot.cogs.trade import FLOWS
from commands.resolve import YEAR_MAX, YEAR_MIN

PRELOAD = ("commands.compare",)
Year = app_commands.Range[int, YEAR_MIN, YEAR_MAX]
MAX_CHOICE_CHARS = 100  # Discord's limit for a choice's name and value
MEASURES = [
    app_commands.Choice(name="value (US$)", value="value"),
    app_commands.Choice(name="weight (kg, t)", value="weight"),
    app_commands.Choice(name="quantity (in its unit)", value="quantity"),
    app_commands.Choice(name="unit value ($/kg)", value="unit-value"),
]


async def country_list_choices(
    interaction: Interaction[TradewatchBot], current: str
) -> list[app_commands.Choice[str]]:
    """Completes the last country of a comma-separated list, keeping the ones typed before it."""
    done, _, last = current.rpartition(",")
    choices = await country_choices(interaction, last.strip())
    head = f"{done.strip()}, " if done.strip() else ""
    out = []
    for choice in choices:
        value = head + choice.value
        if len(value) <= MAX_CHOICE_CHARS:
            out.append(app_commands.Choice(name=value, value=value))
    return out


class CompareCog(commands.Cog):
    """Side-by-side trade flows."""

    def __init__(self, bot: TradewatchBot) -> None:
        self.bot = bot

    @app_commands.command(name="compare")
    @app_commands.describe(
        commodity="What is traded: an alias (graphite, chips), an HS code (2504) or words.",
        countries="Up to 8 countries, comma-separated: Russia, Kazakhstan, Kyrgyzstan, Turkey.",
        years="A year or a span, e.g. 2021-2023 (default: the latest 3 years with data).",
        reporter="The reporting country; the listed countries are its partners (default: China, CN).",
        partner="Instead of reporter: the listed countries are reporters of their flows with this partner.",
        flow="Exports from the reporter (default) or its imports.",
        vs="Base year of the multiples (default: the first year shown).",
        months="Only these months of each year, e.g. 1-5 for January to May.",
        measure="What to add up: value in US$ (default), weight, quantity or unit value.",
    )
    @app_commands.autocomplete(
        commodity=commodity_choices,
        countries=country_list_choices,
        reporter=country_choices,
        partner=country_choices,
    )
    @app_commands.choices(flow=FLOWS, measure=MEASURES)
    @app_commands.guild_only()
    async def compare(
        self,
        interaction: Interaction[TradewatchBot],
        commodity: app_commands.Range[str, 1, 100],
        countries: app_commands.Range[str, 1, 300],
        years: app_commands.Range[str, 4, 9] | None = None,
        reporter: str | None = None,
        partner: str | None = None,
        flow: app_commands.Choice[str] | None = None,
        vs: Year | None = None,
        months: app_commands.Range[str, 1, 5] | None = None,
        measure: app_commands.Choice[str] | None = None,
    ) -> None:
        """Several partners or reporters on one chart and one table, with multiples of a base year."""
        from commands.compare import CompareParams, run_compare

        params = CompareParams.build(
            commodity=commodity,
            countries=countries,
            years=years,
            reporter=reporter,
            partner=partner,
            flow=flow.value if flow else None,
            vs=vs,
            months=months,
            measure=measure.value if measure else None,
            lookups=self.bot.app.lookups,
        )
        await answer(interaction, run_compare, params)


async def setup(bot: TradewatchBot) -> None:
    await bot.add_cog(CompareCog(bot))
