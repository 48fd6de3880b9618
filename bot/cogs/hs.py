"""/hs: commodity lookup (HS code, description, aliases, CHPL tier)."""

from __future__ import annotations

from discord import Interaction, app_commands
from discord.ext import commands

from bot.client import TradewatchBot
from bot.cogs import answer, commodity_choices
from commands.hs import HsParams, run_hs


class HsCog(commands.Cog):
    """The Harmonized System nomenclature and the team's commodity aliases."""

    def __init__(self, bot: TradewatchBot) -> None:
        self.bot = bot

    @app_commands.command(name="hs")
    @app_commands.describe(query="Words (aluminium oxide), an alias (chips) or an HS code (8542, 281820).")
    @app_commands.autocomplete(query=commodity_choices)
    @app_commands.guild_only()
    async def hs(self, interaction: Interaction[TradewatchBot], query: str) -> None:
        """Find HS codes: description, subheadings, aliases and Common High Priority List tier."""
        params = HsParams.build(query=query, lookups=self.bot.app.lookups)
        await answer(interaction, run_hs, params)


async def setup(bot: TradewatchBot) -> None:
    await bot.add_cog(HsCog(bot))
