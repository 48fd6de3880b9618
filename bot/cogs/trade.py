"""/exports and /top partners|goods: trade flows with charts (deferred: the chart takes a moment).

The commands' logic (matplotlib draws their charts) is imported when first used, not with the
cog, so that the bot registers its commands and connects first; bot/client.py preloads PRELOAD right after.
The arguments are validated with the light commands.trade_params, and the command module is imported only
after the acknowledgement: a first command that meets the preload mid-import still acknowledges within 3 s.
"""

from __future__ import annotations

from discord import Interaction, app_commands
from discord.ext import commands

from bot.client import TradewatchBot
from bot.cogs import answer, commodity_choices, country_choices
from commands.basis import MONTHS
from commands.context import Context
from commands.replies import Reply
from commands.resolve import YEAR_MAX, YEAR_MIN
from commands.trade_params import ExportsParams, TopGoodsParams, TopPartnersParams

PRELOAD = ("commands.exports", "commands.top")
Year = app_commands.Range[int, YEAR_MIN, YEAR_MAX]
FLOWS = [
    app_commands.Choice(name="exports (reporter → partner)", value="exports"),
    app_commands.Choice(name="imports (partner → reporter)", value="imports"),
]
MEASURES = [
    app_commands.Choice(name="value (US$)", value="value"),
    app_commands.Choice(name="weight (kg or t)", value="weight"),
    app_commands.Choice(name="quantity (in its unit)", value="quantity"),
    app_commands.Choice(name="unit value ($/kg)", value="unit-value"),
]
COMMON = {
    "year": "Year to show (default: the latest year with data).",
    "reporter": "Country whose customs reported the flow (default: China, CN).",
    "flow": "Exports from the reporter (default) or its imports.",
    "measure": "What to measure: value (default), weight, quantity or unit value.",
    "vs": "Base year to compare with (default: the year before).",
    "months": "A span of months, FROM-TO, e.g. 1-5 for January to May (default: the whole year).",
}
# Spans offered as you type months (any FROM-TO is accepted).
SPANS = [(1, 3), (1, 5), (1, 6), (1, 9), (4, 6), (7, 9), (7, 12), (10, 12), (1, 12)]


async def run_exports(ctx: Context, params: ExportsParams) -> Reply:
    from commands.exports import run_exports as run

    return await run(ctx, params)


async def run_top_partners(ctx: Context, params: TopPartnersParams) -> Reply:
    from commands.top import run_top_partners as run

    return await run(ctx, params)


async def run_top_goods(ctx: Context, params: TopGoodsParams) -> Reply:
    from commands.top import run_top_goods as run

    return await run(ctx, params)


def _flow(choice: app_commands.Choice[str] | None) -> str | None:
    return choice.value if choice else None


def _choice(choice: app_commands.Choice[str] | None) -> str | None:
    return choice.value if choice else None


async def month_spans(
    interaction: Interaction[TradewatchBot], current: str
) -> list[app_commands.Choice[str]]:
    """Common spans of months (`1-5 (Jan–May)`), filtered by what is typed; the typed span itself first."""
    spans = [(f"{a}-{b}", f"{a}-{b} ({MONTHS[a - 1]}–{MONTHS[b - 1]})") for a, b in SPANS]
    typed = current.strip()
    hits = [app_commands.Choice(name=label, value=value) for value, label in spans if value.startswith(typed)]
    if typed and not any(c.value == typed for c in hits):
        hits.insert(0, app_commands.Choice(name=typed[:100], value=typed[:100]))
    return hits[:25]


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
    @app_commands.autocomplete(
        commodity=commodity_choices, partner=country_choices, reporter=country_choices, months=month_spans
    )
    @app_commands.choices(flow=FLOWS, measure=MEASURES)
    @app_commands.guild_only()
    async def exports(
        self,
        interaction: Interaction[TradewatchBot],
        commodity: str,
        partner: str,
        year: Year | None = None,
        reporter: str | None = None,
        flow: app_commands.Choice[str] | None = None,
        measure: app_commands.Choice[str] | None = None,
        vs: Year | None = None,
        months: app_commands.Range[str, 1, 20] | None = None,
    ) -> None:
        """One flow for a year or months against a base year: total, multiple, peak, chart and CSV."""
        params = ExportsParams.build(
            commodity=commodity,
            partner=partner,
            year=year,
            reporter=reporter,
            flow=_flow(flow),
            lookups=self.bot.app.lookups,
            measure=_choice(measure),
            vs=vs,
            months=months,
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
    @app_commands.autocomplete(commodity=commodity_choices, reporter=country_choices, months=month_spans)
    @app_commands.choices(flow=FLOWS, measure=MEASURES)
    async def top_partners(
        self,
        interaction: Interaction[TradewatchBot],
        commodity: str,
        year: Year | None = None,
        reporter: str | None = None,
        flow: app_commands.Choice[str] | None = None,
        measure: app_commands.Choice[str] | None = None,
        vs: Year | None = None,
        months: app_commands.Range[str, 1, 20] | None = None,
    ) -> None:
        """The 10 biggest partners for a commodity, with shares, growth and a bar chart."""
        params = TopPartnersParams.build(
            commodity=commodity,
            year=year,
            reporter=reporter,
            flow=_flow(flow),
            lookups=self.bot.app.lookups,
            measure=_choice(measure),
            vs=vs,
            months=months,
        )
        await answer(interaction, run_top_partners, params)

    @top.command(name="goods")
    @app_commands.describe(partner="The partner country: name, ISO code or alias (RU, Kazakhstan).", **COMMON)
    @app_commands.autocomplete(partner=country_choices, reporter=country_choices, months=month_spans)
    @app_commands.choices(flow=FLOWS, measure=MEASURES)
    async def top_goods(
        self,
        interaction: Interaction[TradewatchBot],
        partner: str,
        year: Year | None = None,
        reporter: str | None = None,
        flow: app_commands.Choice[str] | None = None,
        measure: app_commands.Choice[str] | None = None,
        vs: Year | None = None,
        months: app_commands.Range[str, 1, 20] | None = None,
    ) -> None:
        """The 10 biggest goods (HS headings) traded with a partner, with shares, growth and a bar chart."""
        params = TopGoodsParams.build(
            partner=partner,
            year=year,
            reporter=reporter,
            flow=_flow(flow),
            lookups=self.bot.app.lookups,
            measure=_choice(measure),
            vs=vs,
            months=months,
        )
        await answer(interaction, run_top_goods, params)


async def setup(bot: TradewatchBot) -> None:
    await bot.add_cog(TradeCog(bot))
