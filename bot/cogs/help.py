"""/help: the command list, or one command with examples (private to the asker)."""

from __future__ import annotations

from discord import Interaction, app_commands
from discord.ext import commands

from bot.client import TradewatchBot
from bot.cogs import answer
from commands.help import HelpParams, run_help
from commands.registry import COMMANDS

TOPICS = [
    app_commands.Choice(name=f"/{name}", value=name) for name in dict.fromkeys(n.split()[0] for n in COMMANDS)
]


class HelpCog(commands.Cog):
    """How to use Tradewatch."""

    @app_commands.command(name="help")
    @app_commands.describe(command="A command to explain with examples; leave empty for the list.")
    @app_commands.choices(command=TOPICS[:25])
    @app_commands.guild_only()
    async def help(
        self, interaction: Interaction[TradewatchBot], command: app_commands.Choice[str] | None = None
    ) -> None:
        """What each Tradewatch command does, with examples and data caveats."""
        await answer(interaction, run_help, HelpParams(command.value if command else None), ephemeral=True)


async def setup(bot: TradewatchBot) -> None:
    await bot.add_cog(HelpCog())
