"""One cog per command family. Each command does four things: defer, open a session, run, send."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands

from bot.errors import database_down, database_outage
from bot.logs import event
from bot.render import render
from bot.suggest import Suggestion
from commands.context import Context
from commands.replies import Reply

if TYPE_CHECKING:
    from bot.client import TradewatchBot

P = TypeVar("P")
log = logging.getLogger(__name__)

# Autocomplete must answer within Discord's 3 seconds: how long one may wait for the commodity index when
# it is typed in the first moment after the bot connected.
INDEXES_WAIT_SECONDS = 2.0


async def answer(
    interaction: discord.Interaction[TradewatchBot],
    run: Callable[[Context, P], Awaitable[Reply]],
    params: P,
    *,
    ephemeral: bool = False,
) -> None:
    """Acknowledge at once (Discord allows 3 s), run the command in a session, send the rendered reply.

    At most `MAX_RUNNING_COMMANDS` run at once (bot/client.py); the rest wait after their acknowledgement.

    Errors propagate to the tree's on_error (bot/errors.py), which answers them privately; a database
    that cannot be reached becomes TemporarilyUnavailable ("try again in a minute").
    """
    await interaction.response.defer(thinking=True, ephemeral=ephemeral)
    bot = interaction.client
    async with outage_is_temporary(), bot.command_slots, bot.app.sessions() as session:
        reply = await run(bot.command_context(session), params)
    await interaction.followup.send(**render(reply, attachment_size_limit=interaction.filesize_limit))


@contextlib.asynccontextmanager
async def outage_is_temporary() -> AsyncIterator[None]:
    """A database outage inside the block (restart, full or read-only disk) becomes TemporarilyUnavailable.

    It is not a bug: the user is told to try again in a minute, the operator gets a warning (not an error id).
    Put it outermost, so that a commit failing on the way out of a session is covered too.
    """
    try:
        yield
    except Exception as exc:
        if not database_outage(exc):
            raise
        event(log, "database_unavailable", logging.WARNING, error=repr(exc)[:300])
        raise database_down() from exc


def choices(suggestions: list[Suggestion]) -> list[app_commands.Choice[str]]:
    """Autocomplete choices (the suggesters already cap them at 25 and 100 characters)."""
    return [app_commands.Choice(name=s.name, value=s.value) for s in suggestions[:25]]


async def commodity_choices(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    """Commodity aliases and HS codes/descriptions, from memory (built once the bot has connected)."""
    bot = interaction.client
    if bot.commodities is None and hasattr(bot, "indexes_ready"):
        with contextlib.suppress(Exception):  # no suggestions rather than an error while they cannot load
            await asyncio.wait_for(bot.indexes_ready(), INDEXES_WAIT_SECONDS)
    suggester = bot.commodities
    return choices(suggester.suggest(current)) if suggester else []


async def country_choices(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    """Countries by code, name or alias, from memory."""
    suggester = interaction.client.countries
    return choices(suggester.suggest(current)) if suggester else []
