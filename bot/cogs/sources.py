"""/sources: how fresh every data source is (last sync, data date, rows, last change, next sync)."""

from __future__ import annotations

from discord import Interaction, app_commands
from discord.ext import commands

from bot.client import TradewatchBot
from bot.cogs import answer
from commands.sources import SourcesParams, run_sources
from db.sources import sync_sources


class SourcesCog(commands.Cog):
    """Data freshness, so a reporter knows how current a figure or a listing is."""

    def __init__(self, bot: TradewatchBot) -> None:
        self.bot = bot

    @app_commands.command(name="sources")
    @app_commands.describe(source="Only this source (leave empty for all of them).")
    @app_commands.choices(
        source=[app_commands.Choice(name=key, value=key) for key in list(sync_sources())[:25]]
    )
    @app_commands.guild_only()
    async def sources(
        self, interaction: Interaction[TradewatchBot], source: app_commands.Choice[str] | None = None
    ) -> None:
        """Show when each source was last synced, its data date, row counts and last change; stale ones flagged."""
        params = SourcesParams((source.value,) if source else ())
        await answer(interaction, run_sources, params)


async def setup(bot: TradewatchBot) -> None:
    await bot.add_cog(SourcesCog(bot))
