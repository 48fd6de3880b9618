"""/exports and /top partners|goods: trade flows with charts (deferred: the chart takes a moment).

The commands' logic (matplotlib draws their charts) is imported when first used, not with the
cog, so that the bot registers its commands and connects first; bot/client.py preloads PRELOAD right after.
"""

from __future__ import annotations

from discord import Interaction, app_commands
from discord.ext import commands

from bot.client import TradewatchBot
from bot.cogs import answer, commodity_choices, country_choices
from commands.resolve import YEAR_MAX, YEAR_MIN

PRELOAD = ("commands.exports", "commands.top")
Year = app_commands.Range[int, YEAR_MIN, YEAR_MAX]
FLOWS = [
    app_commands.Choice(name="exports (reporter → partner)", value="exports"),
    app_commands.Choice(name="imports (partner → reporter)", value="imports"),
]
COMMON = {
    "year": "Year to show against the year before (default: the latest year with data).",
    "reporter": "Country whose customs reported the flow (default: China, CN).",
    "flow": "Exports from the reporter (default) or its imports.",
}


def _flow(choice: app_commands.Choice[str] | None) -> str | None:
    return choice.value if choice else None


class TradeCog(commands.Cog):
    """Trade flows from UN Comtrade and the other loaded trade tables."""

    def __init__(self, bot: TradewatchBot) -> None:
        self.bot = bot

    @app_commands.command(name="exports")
    @app_commands.describe(
        commodity="What is traded: an alias (chips, aluminium oxide), an HS code (8542) or words.",
        partner="The partner country: name, ISO code or alias (RU, Russia, Hong Kong).",
        **COMMON,
    )
    @app_commands.autocomplete(commodity=commodity_choices, partner=country_choices, reporter=country_choices)
    @app_commands.choices(flow=FLOWS)
    @app_commands.guild_only()
    async def exports(
        self,
        interaction: Interaction[TradewatchBot],
        commodity: str,
        partner: str,
        year: Year | None = None,
        reporter: str | None = None,
        flow: app_commands.Choice[str] | None = None,
    ) -> None:
        """Monthly trade for a year against the year before: total, change, peak, chart and CSV."""
        from commands.exports import ExportsParams, run_exports

        params = ExportsParams.build(
            commodity=commodity,
            partner=partner,
            year=year,
            reporter=reporter,
            flow=_flow(flow),
            lookups=self.bot.app.lookups,
        )
        await answer(interaction, run_exports, params)

    top = app_commands.Group(
        name="top",
        description="Rankings: top partners for a commodity, top goods for a partner.",
        guild_only=True,
    )

    @top.command(name="partners")
    @app_commands.describe(
        commodity="What is traded: an alias (chips, graphite), an HS code (8542) or words.",
        **COMMON,
    )
    @app_commands.autocomplete(commodity=commodity_choices, reporter=country_choices)
    @app_commands.choices(flow=FLOWS)
    async def top_partners(
        self,
        interaction: Interaction[TradewatchBot],
        commodity: str,
        year: Year | None = None,
        reporter: str | None = None,
        flow: app_commands.Choice[str] | None = None,
    ) -> None:
        """The 10 biggest partners for a commodity, with shares, growth and a bar chart."""
        from commands.top import TopPartnersParams, run_top_partners

        params = TopPartnersParams.build(
            commodity=commodity, year=year, reporter=reporter, flow=_flow(flow), lookups=self.bot.app.lookups
        )
        await answer(interaction, run_top_partners, params)

    @top.command(name="goods")
    @app_commands.describe(partner="The partner country: name, ISO code or alias (RU, Kazakhstan).", **COMMON)
    @app_commands.autocomplete(partner=country_choices, reporter=country_choices)
    @app_commands.choices(flow=FLOWS)
    async def top_goods(
        self,
        interaction: Interaction[TradewatchBot],
        partner: str,
        year: Year | None = None,
        reporter: str | None = None,
        flow: app_commands.Choice[str] | None = None,
    ) -> None:
        """The 10 biggest goods (HS headings) traded with a partner, with shares, growth and a bar chart."""
        from commands.top import TopGoodsParams, run_top_goods

        params = TopGoodsParams.build(
            partner=partner, year=year, reporter=reporter, flow=_flow(flow), lookups=self.bot.app.lookups
        )
        await answer(interaction, run_top_goods, params)


async def setup(bot: TradewatchBot) -> None:
    await bot.add_cog(TradeCog(bot))
