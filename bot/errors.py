"""Errors from slash commands -> short private messages; unexpected ones logged with an error id.

One table (like yente's HANDLERS) maps each expected error type to the text the user sees. Anything
else is a bug: it is logged with the command, options, guild and user, and the user gets a polite
message naming the error id so the team can find the log line. Nothing here ever raises: one bad
interaction must not stop the bot.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import discord
from discord import app_commands
from sqlalchemy import exc as sa_exc

from bot.logs import event
from bot.render import render_text
from commands.errors import CommandError, TemporarilyUnavailable

log = logging.getLogger(__name__)


def _command_error(error: Exception) -> str:
    assert isinstance(error, CommandError)
    return error.user_text()


def _cooldown(error: Exception) -> str:
    assert isinstance(error, app_commands.CommandOnCooldown)
    return f"Slow down a little: try again in {error.retry_after:.0f} s."


def _transform(error: Exception) -> str:
    assert isinstance(error, app_commands.TransformerError)
    return f"{error.value!r} is not a valid value for this option."


def _outdated(_error: Exception) -> str:
    return "This command changed since Discord last loaded it. Try again in a minute (or reload Discord)."


def _check(error: Exception) -> str:
    return str(error) or "You cannot use this command here."


# Expected errors, most specific first: type -> the message for the user.
HANDLERS: list[tuple[type[Exception], Callable[[Exception], str]]] = [
    (CommandError, _command_error),
    (app_commands.CommandOnCooldown, _cooldown),
    (app_commands.TransformerError, _transform),
    (app_commands.CommandNotFound, _outdated),
    (app_commands.CommandSignatureMismatch, _outdated),
    (app_commands.CheckFailure, _check),
]

UNEXPECTED = (
    "Sorry, something went wrong on our side while answering {command}. It has been logged with "
    "error id {error_id}; mention that id to the team if it happens again."
)


def database_down() -> TemporarilyUnavailable:
    """What a user is told when the database is unreachable (see `database_outage`)."""
    return TemporarilyUnavailable(
        "Tradewatch cannot reach its database right now (it may be restarting or out of disk space).",
        "Try again in a minute. Nothing was changed.",
    )


DATABASE_MODULES = ("sqlalchemy.", "asyncpg.", "aiosqlite.")


def _raised_in_database_driver(error: BaseException) -> bool:
    """Whether the exception came up through the database layers (not, say, an HTTP fetch's timeout)."""
    tb = error.__traceback__
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith(DATABASE_MODULES):
            return True
        tb = tb.tb_next
    return False


def database_outage(error: BaseException) -> bool:
    """True when the database could not be reached, written or waited for: the same request may work soon.

    A PostgreSQL restart cuts open connections (DBAPIError with `connection_invalidated`) and refuses new
    ones for a few seconds (ConnectionRefusedError or asyncpg's "starting up" raised by the connect); SQLite
    reports a full or read-only disk and a lock held too long as OperationalError; a pool with no free
    connection raises sqlalchemy's TimeoutError. A silent network partition refuses nothing: the connect or
    the statement times out (db.engine bounds both) with a plain TimeoutError from inside the driver.
    """
    if isinstance(error, sa_exc.TimeoutError):
        return True
    if isinstance(error, TimeoutError) and _raised_in_database_driver(error):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        return error.connection_invalidated or isinstance(
            error, sa_exc.OperationalError | sa_exc.InterfaceError
        )
    return isinstance(
        error,
        ConnectionError
        | asyncpg.PostgresConnectionError
        | asyncpg.exceptions.OperatorInterventionError
        | asyncpg.InterfaceError,
    )


def unwrap(error: BaseException) -> BaseException:
    """The exception the command raised, without discord.py's CommandInvokeError wrapper."""
    while isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    return error


def user_message(error: BaseException) -> str | None:
    """The text for an expected error, or None when the error is a bug."""
    for kind, handler in HANDLERS:
        if isinstance(error, kind):
            return handler(error)
    return None


def describe(interaction: discord.Interaction[Any]) -> dict[str, Any]:
    """Context for a log line: which command, with what options, where and by whom."""
    command = interaction.command
    options: dict[str, Any] = {}
    with contextlib.suppress(Exception):
        options = {k: v for k, v in interaction.namespace.__dict__.items() if not k.startswith("_")}
    return {
        "command": f"/{command.qualified_name}" if command else "?",
        "options": options,
        "interaction": interaction.id,
        "guild": interaction.guild_id,
        "channel": interaction.channel_id,
        "user": interaction.user.id if interaction.user else None,
    }


async def send_private(interaction: discord.Interaction[Any], text: str) -> None:
    """Answer `text` ephemerally, whether or not the interaction was already deferred."""
    message = render_text(text, ephemeral=True)
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(**message)
            return
        # A public "thinking…" placeholder exists and the first followup would edit it in public:
        # remove it so that the error is seen by the asker only.
        with contextlib.suppress(discord.HTTPException):
            await interaction.delete_original_response()
        await interaction.followup.send(**message)
    except discord.HTTPException as exc:
        event(log, "reply_failed", logging.WARNING, status=exc.status, code=exc.code, **describe(interaction))


async def handle_error(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """The tree's on_error: tell the user, log bugs with an id. Never raises."""
    try:
        original = unwrap(error)
        text = user_message(original)
        context = describe(interaction)
        if isinstance(original, discord.NotFound) and original.code == 10062:
            # Unknown interaction: we answered after Discord's 3 seconds; nobody is left to tell.
            event(log, "interaction_expired", logging.WARNING, **context)
            return
        if text is not None:
            event(log, "command_refused", kind=getattr(original, "kind", type(original).__name__), **context)
        else:
            error_id = uuid.uuid4().hex[:8]
            event(
                log,
                "command_failed",
                logging.ERROR,
                error_id=error_id,
                error=repr(original)[:500],
                exc_info=(type(original), original, original.__traceback__),
                **context,
            )
            text = UNEXPECTED.format(command=context["command"], error_id=error_id)
        await send_private(interaction, text)
    except Exception:  # the error handler itself must never take the bot down
        log.exception("error_handler_failed")
