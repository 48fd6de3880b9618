"""/changes and /brief: what changed on the lists, and the editorial meeting's brief."""

from __future__ import annotations

from discord import Interaction, app_commands
from discord.ext import commands

from bot.client import TradewatchBot
from bot.cogs import answer, country_choices
from commands.brief import BriefParams, run_brief
from commands.changes import CHANGE_KINDS, ChangesParams, run_changes
from db.sources import watchable_sources


class BriefCog(commands.Cog):
    """Quick lookups for editorial meetings."""

    def __init__(self, bot: TradewatchBot) -> None:
        self.bot = bot

    @app_commands.command(name="changes")
    @app_commands.describe(
        source="Only this list (leave empty for all of them).",
        since="Lists published since: 7d (days back) or a date, YYYY-MM-DD.",
        country="Only entries tied to this country: ISO2 code or name, e.g. CN.",
        program="Only entries under a program containing this text, e.g. RUSSIA-EO14024.",
        change="Only this kind of change.",
    )
    @app_commands.choices(
        source=[app_commands.Choice(name=key, value=key) for key in list(watchable_sources())[:25]],
        change=[app_commands.Choice(name=kind, value=kind) for kind in CHANGE_KINDS],
    )
    @app_commands.autocomplete(country=country_choices)
    @app_commands.guild_only()
    async def changes(
        self,
        interaction: Interaction[TradewatchBot],
        source: app_commands.Choice[str] | None = None,
        since: app_commands.Range[str, 1, 10] | None = None,
        country: app_commands.Range[str, 1, 60] | None = None,
        program: app_commands.Range[str, 1, 60] | None = None,
        change: app_commands.Choice[str] | None = None,
    ) -> None:
        """List changes: counts by list and kind, focus entries first, every entry as CSV."""
        params = ChangesParams(
            source.value if source else None, since, country, program, change.value if change else None
        )
        await answer(interaction, run_changes, params)

    @app_commands.command(name="brief")
    @app_commands.describe(since="Changes since: 7d (days back, the default) or a date, YYYY-MM-DD.")
    @app_commands.guild_only()
    async def brief(
        self, interaction: Interaction[TradewatchBot], since: app_commands.Range[str, 1, 10] | None = None
    ) -> None:
        """The meeting brief: list changes, trade movers, stale sources; a chart and a CSV of everything."""
        await answer(interaction, run_brief, BriefParams(since))


async def setup(bot: TradewatchBot) -> None:
    await bot.add_cog(BriefCog(bot))
