"""Application command definitions: validation of a bulk sync as Discord does it, and the echoed objects.

Rules from Docs interactions/application-commands.mdx: names 1-32 chars matching Discord's pattern, lower case for
slash commands; descriptions 1-100; at most 25 options and 25 choices; required options before optional ones;
subcommands and groups not mixed with plain options; choices and autocomplete mutually exclusive; unique names.
The `code` strings in the 50035 tree for command errors are the stand-in's own (Discord's are not all documented).
"""

from __future__ import annotations

import re
from typing import Any

from .errors import FormErrors

NAME = re.compile(r"^[-_'\w]{1,32}$")
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
OPTION_TYPES = set(range(1, 12))
CHAT_INPUT = 1
MAX_COMMANDS = 100

Path = tuple[str | int, ...]


def _name(errors: FormErrors, path: Path, name: Any, *, lower: bool) -> None:
    if not isinstance(name, str) or not NAME.match(name) or (lower and name != name.lower()):
        errors.add(path + ("name",), "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}")


def _description(errors: FormErrors, path: Path, text: Any) -> None:
    if not isinstance(text, str) or not 1 <= len(text) <= 100:
        errors.add(path + ("description",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")


def _choices(errors: FormErrors, path: Path, option: dict[str, Any]) -> None:
    choices = option.get("choices") or []
    if len(choices) > 25:
        errors.add(path + ("choices",), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    if choices and option.get("autocomplete"):
        errors.add(
            path + ("autocomplete",),
            "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_CHOICES",
            "Autocomplete and choices are mutually exclusive",
        )
    for index, choice in enumerate(choices):
        name = choice.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            errors.add(
                path + ("choices", index, "name"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            )


def _options(errors: FormErrors, path: Path, options: list[dict[str, Any]], depth: int) -> None:
    if len(options) > 25:
        errors.add(path + ("options",), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    kinds = {option.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP) for option in options}
    if len(kinds) > 1:
        errors.add(
            path + ("options",),
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-commands cannot be mixed with options",
        )
    seen_optional, names = False, set()
    for index, option in enumerate(options):
        here = path + ("options", index)
        kind = option.get("type")
        if kind not in OPTION_TYPES:
            errors.add(here + ("type",), "ENUM_TYPE_COERCE", f'Value "{kind}" is not a valid enum value.')
        _name(errors, here, option.get("name"), lower=True)
        _description(errors, here, option.get("description"))
        if option.get("name") in names:
            errors.add(
                here + ("name",),
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            )
        names.add(option.get("name"))
        if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
            _nested(errors, here, option, depth)
            continue
        if option.get("required"):
            if seen_optional:
                errors.add(
                    here + ("required",),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True
        _choices(errors, here, option)


def _nested(errors: FormErrors, path: Path, option: dict[str, Any], depth: int) -> None:
    children = option.get("options") or []
    if option["type"] == SUB_COMMAND_GROUP:
        if depth > 0 or any(child.get("type") != SUB_COMMAND for child in children):
            errors.add(
                path + ("options",),
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "A group may only hold sub-commands",
            )
    elif any(child.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP) for child in children):
        errors.add(
            path + ("options",),
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "A sub-command cannot hold sub-commands",
        )
    _options(errors, path, children, depth + 1)


def validate_commands(commands: Any) -> None:
    """Raise 400 50035 if Discord would refuse this bulk overwrite."""
    errors = FormErrors()
    if not isinstance(commands, list):
        errors.add((), "BASE_TYPE_BAD_TYPE", "Must be an array of application commands.")
        errors.raise_if_any()
    if len(commands) > MAX_COMMANDS:
        errors.add((), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_COMMANDS} or fewer in length.")
    seen: set[tuple[int, str]] = set()
    for index, command in enumerate(commands):
        kind = command.get("type", CHAT_INPUT)
        _name(errors, (index,), command.get("name"), lower=kind == CHAT_INPUT)
        if kind == CHAT_INPUT:
            _description(errors, (index,), command.get("description"))
            _options(errors, (index,), command.get("options") or [], 0)
        key = (kind, command.get("name"))
        if key in seen:
            errors.add(
                (index, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            )
        seen.add(key)
    errors.raise_if_any()


def echo_command(
    command: dict[str, Any], *, command_id: int, application_id: int, guild_id: int | None
) -> dict[str, Any]:
    """The object Discord returns (and later shows to users) for one synced command."""
    body = {
        "id": str(command_id),
        "application_id": str(application_id),
        "version": str(command_id),
        "type": command.get("type", CHAT_INPUT),
        "name": command["name"],
        "name_localizations": command.get("name_localizations"),
        "description": command.get("description", ""),
        "description_localizations": command.get("description_localizations"),
        "options": command.get("options") or [],
        "default_member_permissions": command.get("default_member_permissions"),
        "nsfw": command.get("nsfw", False),
        "contexts": command.get("contexts"),
        "integration_types": command.get("integration_types", [0]),
    }
    if guild_id is not None:
        body["guild_id"] = str(guild_id)
    return body
