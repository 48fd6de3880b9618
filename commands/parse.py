"""Parse a command line as typed in Discord (`/exports chips RU 2022 reporter=CN`) into words and options.

Discord sends typed options; the CLI and tests type the same command as one string. Quotes group words
(`/exports "aluminium oxide" "Hong Kong"`), and `key=value` sets a named option.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from commands.errors import InvalidInput


@dataclass(frozen=True)
class CommandLine:
    """A parsed command: its name (with sub-command, e.g. `top partners`), positional words, options."""

    name: str
    words: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)


def without_surrogates(text: str) -> str:
    """`text` with lone UTF-16 surrogates replaced by U+FFFD.

    A terminal that is not UTF-8 hands Python undecodable argv bytes as lone surrogates (surrogateescape);
    they cannot be encoded for the database or Discord, and used to crash `tradewatch ask` with a traceback.
    """
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)


def split_command(text: str) -> CommandLine:
    """Split `text` into a command name, positional words and `key=value` options.

    Args:
        text: e.g. `/exports chips RU 2022` (the leading slash is optional).
    Returns:
        The `CommandLine`; the name is lower case.
    Raises:
        InvalidInput: empty input or unbalanced quotes.
    """
    text = without_surrogates(text.strip())
    if not text:
        raise InvalidInput("Empty command.", "Try `/help` for the list of commands.")
    try:
        tokens = shlex.split(text)
    except ValueError:
        raise InvalidInput(
            "Unbalanced quotes in the command.", 'Close every quote, e.g. /hs "aluminium oxide".'
        ) from None
    name = tokens[0].lstrip("/").lower()
    words: list[str] = []
    options: dict[str, str] = {}
    for token in tokens[1:]:
        key, sep, value = token.partition("=")
        if sep and key.isidentifier():
            options[key.lower()] = value
        else:
            words.append(token)
    return CommandLine(name=name, words=words, options=options)
