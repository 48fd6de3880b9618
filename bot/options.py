"""Every slash-command option checked against its declared type and bounds before any command runs.

discord.py passes option values from the gateway payload as they are: a string option may arrive as a
number or a list, an integer as 2^53 (Discord's own limit, beyond a 32-bit database id), and a string with a
lone UTF-16 surrogate that no database driver can encode. The tree (bot/client.py) calls `option_problem`
after the access check, so such a value gets a short private refusal and never reaches a query.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from discord import AppCommandOptionType, app_commands

# Discord's own ceilings: integers and numbers within ±2^53, strings of at most 6,000 characters.
MAX_SAFE_INTEGER = 2**53
MAX_STRING_LENGTH = 6000
MAX_SNOWFLAKE = 2**64 - 1
SUBCOMMANDS = (AppCommandOptionType.subcommand.value, AppCommandOptionType.subcommand_group.value)
SNOWFLAKES = {
    AppCommandOptionType.user.value,
    AppCommandOptionType.channel.value,
    AppCommandOptionType.role.value,
    AppCommandOptionType.mentionable.value,
    AppCommandOptionType.attachment.value,
}


def leaf_options(options: Any) -> Iterator[dict[str, Any]]:
    """The options given to the command itself (inside its subcommand group and subcommand, if any)."""
    if not isinstance(options, list):
        return
    for option in options:
        if not isinstance(option, dict):
            continue
        if option.get("type") in SUBCOMMANDS:
            yield from leaf_options(option.get("options"))
        else:
            yield option


def _text_problem(value: Any, parameter: app_commands.Parameter) -> str | None:
    if not isinstance(value, str):
        return "must be text"
    # For a string option, discord.py's Parameter holds the length bounds in min_value/max_value.
    longest = int(min(parameter.max_value or MAX_STRING_LENGTH, MAX_STRING_LENGTH))
    if len(value) > longest:
        return f"may have at most {longest:,} characters"
    if parameter.min_value is not None and len(value) < parameter.min_value:
        return f"needs at least {int(parameter.min_value)} characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "holds characters that are not valid text (a lone UTF-16 surrogate)"
    return None


def _partial_problem(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return "must be text"
    text = str(value)
    if len(text) > MAX_STRING_LENGTH:
        return f"may have at most {MAX_STRING_LENGTH:,} characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "holds characters that are not valid text (a lone UTF-16 surrogate)"
    return None


def _number_problem(value: Any, parameter: app_commands.Parameter, integer: bool) -> str | None:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
        return "must be a whole number" if integer else "must be a number"
    low = parameter.min_value if parameter.min_value is not None else -MAX_SAFE_INTEGER
    high = parameter.max_value if parameter.max_value is not None else MAX_SAFE_INTEGER
    low, high = max(low, -MAX_SAFE_INTEGER), min(high, MAX_SAFE_INTEGER)
    if not low <= value <= high:
        return f"must be from {low:,} to {high:,}"
    return None


def value_problem(value: Any, parameter: app_commands.Parameter) -> str | None:
    """What is wrong with one option's value for its parameter, or None when it is fine."""
    kind = parameter.type.value
    if kind == AppCommandOptionType.string.value:
        return _text_problem(value, parameter)
    if kind in (AppCommandOptionType.integer.value, AppCommandOptionType.number.value):
        return _number_problem(value, parameter, kind == AppCommandOptionType.integer.value)
    if kind == AppCommandOptionType.boolean.value:
        return None if isinstance(value, bool) else "must be true or false"
    if kind in SNOWFLAKES:
        text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
        if not text.isdigit() or int(text) > MAX_SNOWFLAKE:
            return "must name a Discord user, channel, role or file"
    return None


def option_problem(command: Any, data: Any, *, autocomplete: bool = False) -> str | None:
    """A private refusal naming the first option whose value is of the wrong type or out of bounds.

    Args:
        command: the resolved `app_commands.Command` (anything else, e.g. a context menu, is not checked).
        data: the interaction's `data` payload.
        autocomplete: the focused option holds a partial value being typed: it is checked as text only.
    """
    if not isinstance(command, app_commands.Command) or not isinstance(data, dict):
        return None
    for option in leaf_options(data.get("options")):
        parameter = command.get_parameter(str(option.get("name")))
        if parameter is None:  # discord.py reports a signature mismatch itself
            continue
        value = option.get("value")
        if autocomplete and option.get("focused"):  # what is typed so far, whatever the option's type
            problem = _partial_problem(value)
        else:
            problem = value_problem(value, parameter)
        if problem is not None:
            return (
                f'The option "{parameter.display_name}" of /{command.qualified_name} {problem}. '
                "Pick or type a value Discord offers for it and try again."
            )
    return None
