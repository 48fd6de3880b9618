"""One cog per command family. Each command does four things: defer, open a session, run, send."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands

from bot.render import render
from bot.suggest import Suggestion
from commands.context import Context
from commands.replies import Reply

if TYPE_CHECKING:
    from bot.client import TradewatchBot

P = TypeVar("P")


async def answer(
    interaction: discord.Interaction[TradewatchBot],
    run: Callable[[Context, P], Awaitable[Reply]],
    params: P,
    *,
    ephemeral: bool = False,
) -> None:
    """Acknowledge at once (Discord allows 3 s), run the command in a session, send the rendered reply.

    At most `MAX_RUNNING_COMMANDS` run at once (bot/client.py); the rest wait after their acknowledgement.

    Errors propagate to the tree's on_error (bot/errors.py), which answers them privately.
    """
    await interaction.response.defer(thinking=True, ephemeral=ephemeral)
    bot = interaction.client
    async with bot.command_slots, bot.app.sessions() as session:
        reply = await run(bot.command_context(session), params)
    await interaction.followup.send(**render(reply, attachment_size_limit=interaction.filesize_limit))


def choices(suggestions: list[Suggestion]) -> list[app_commands.Choice[str]]:
    """Autocomplete choices (the suggesters already cap them at 25 and 100 characters)."""
    return [app_commands.Choice(name=s.name, value=s.value) for s in suggestions[:25]]


async def commodity_choices(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    """Commodity aliases and HS codes/descriptions, from memory."""
    suggester = interaction.client.commodities
    return choices(suggester.suggest(current)) if suggester else []


async def country_choices(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    """Countries by code, name or alias, from memory."""
    suggester = interaction.client.countries
    return choices(suggester.suggest(current)) if suggester else []
