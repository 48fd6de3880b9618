"""Builds INTERACTION_CREATE `data` from the synced command definitions, as a user's Discord client would.

The Discord client only lets a user pick commands that were synced, options that exist, values of the right type
within min/max and among the choices, and it requires required options. Anything else here is a test mistake, so
it raises UsageError instead of sending a payload real Discord could never send.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from typing import Any

from .world import ADMINISTRATOR, Channel, Guild, Role, User

STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 3, 4, 5, 6, 7, 8, 9, 10, 11
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
MAX_SAFE_INT = 2**53


class UsageError(Exception):
    """The test asked for something a user's Discord client would not let a user do."""


@dataclass
class FileOption:
    """A file a user attaches to an attachment option."""

    filename: str
    data: bytes
    content_type: str | None = None


@dataclass
class Resolver:
    """Turns user/channel/role/attachment option values into ids plus `resolved` entries."""

    world: Any  # World
    guild: Guild
    store_attachment: Any  # callable(FileOption) -> Attachment

    def __post_init__(self) -> None:
        self.resolved: dict[str, dict[str, Any]] = {}

    def add(self, kind: str, key: int, body: dict[str, Any]) -> str:
        self.resolved.setdefault(kind, {})[str(key)] = body
        return str(key)

    def user(self, value: Any) -> str:
        user = self.world.user(value)
        member = self.guild.members.get(user.id)
        if member is not None:
            perms = self.guild.permissions(member.role_ids, user.id)
            self.add("members", user.id, member.payload(with_user=False, permissions=perms))
        return self.add("users", user.id, user.payload())

    def channel(self, value: Any, option: dict[str, Any]) -> str:
        channel = value if isinstance(value, Channel) else self.guild.channel(value)
        allowed = option.get("channel_types")
        if allowed and channel.type not in allowed:
            raise UsageError(f"option {option['name']!r} accepts channel types {allowed}, not {channel.type}")
        body = channel.payload() | {"permissions": str(self.guild.permissions([], None))}
        return self.add("channels", channel.id, body)

    def role(self, value: Any) -> str:
        role = value if isinstance(value, Role) else self.guild.role(value)
        return self.add("roles", role.id, role.payload())

    def mentionable(self, value: Any) -> str:
        if isinstance(value, Role):
            return self.role(value)
        if isinstance(value, User):
            return self.user(value)
        try:
            return self.user(value)
        except LookupError:
            return self.role(value)

    def attachment(self, value: Any) -> str:
        if not isinstance(value, FileOption):
            raise UsageError("attachment options take FileOption(filename, data)")
        value.content_type = (
            value.content_type or mimetypes.guess_type(value.filename)[0] or "application/octet-stream"
        )
        attachment = self.store_attachment(value)
        return self.add("attachments", attachment.id, attachment.payload() | {"ephemeral": True})


def find_command(commands: dict[str, dict[str, Any]], path: str) -> tuple[dict[str, Any], list[str]]:
    """Split "top partners" into the root command definition and the subcommand path."""
    root, *rest = path.strip().lstrip("/").split()
    if root not in commands:
        raise UsageError(f"no synced command /{root}; synced: {sorted(commands) or 'none'}")
    return commands[root], rest


def check_visible(command: dict[str, Any], guild: Guild, member_role_ids: list[int], user_id: int) -> None:
    """Discord hides commands whose default_member_permissions the member lacks (no per-command overrides here)."""
    required = command.get("default_member_permissions")
    if required is None:
        return
    have = guild.permissions(member_role_ids, user_id)
    if int(required) and not (have & ADMINISTRATOR) and (have & int(required)) != int(required):
        raise UsageError(f"/{command['name']} is hidden from this member (needs permissions {required})")


def build_data(
    command: dict[str, Any],
    subpath: list[str],
    values: dict[str, Any],
    resolver: Resolver,
    *,
    focused: str | None = None,
) -> dict[str, Any]:
    """The `data` object of INTERACTION_CREATE for this command, subcommand path and option values."""
    options, level = _leaf_options(command, subpath)
    built = _leaf_values(command["name"], subpath, level, values, resolver, focused)
    for name, kind in reversed(options):
        built = [{"name": name, "type": kind, "options": built}]
    data: dict[str, Any] = {
        "id": command["id"],
        "name": command["name"],
        "type": command.get("type", 1),
        "options": built,
    }
    if command.get("guild_id"):
        data["guild_id"] = command["guild_id"]
    if resolver.resolved:
        data["resolved"] = resolver.resolved
    return data


def _leaf_options(
    command: dict[str, Any], subpath: list[str]
) -> tuple[list[tuple[str, int]], list[dict[str, Any]]]:
    """Walk subcommand groups and subcommands; return the path taken and the leaf's option definitions."""
    level, taken = command.get("options") or [], []
    for word in subpath:
        subs = {o["name"]: o for o in level if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)}
        if word not in subs:
            raise UsageError(
                f"/{command['name']} has no subcommand {word!r}; it has {sorted(subs) or 'none'}"
            )
        taken.append((word, subs[word]["type"]))
        level = subs[word].get("options") or []
    remaining = sorted(o["name"] for o in level if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP))
    if remaining:
        raise UsageError(f"/{' '.join([command['name'], *subpath])} needs a subcommand: {remaining}")
    return taken, level


def _leaf_values(
    name: str,
    subpath: list[str],
    level: list[dict[str, Any]],
    values: dict[str, Any],
    resolver: Resolver,
    focused: str | None,
) -> list[dict[str, Any]]:
    defs = {option["name"]: option for option in level}
    label = "/" + " ".join([name, *subpath])
    unknown = sorted(set(values) - set(defs) - ({focused} if focused else set()))
    if unknown:
        raise UsageError(f"{label} has no option {unknown}; it has {sorted(defs) or 'none'}")
    if focused is not None and not defs.get(focused, {}).get("autocomplete"):
        raise UsageError(f"{label} option {focused!r} has no autocomplete")
    built = []
    for option in level:
        key = option["name"]
        if key == focused:
            built.append(
                {"name": key, "type": option["type"], "value": str(values.get(key, "")), "focused": True}
            )
        elif key in values:
            built.append(
                {"name": key, "type": option["type"], "value": _convert(option, values[key], resolver)}
            )
        elif option.get("required") and focused is None:
            raise UsageError(f"{label} requires option {key!r}")
    return built


def _convert(option: dict[str, Any], value: Any, resolver: Resolver) -> Any:
    kind, name = option["type"], option["name"]
    if kind in (STRING, INTEGER, NUMBER):
        return _scalar(option, value)
    if kind == BOOLEAN:
        if not isinstance(value, bool):
            raise UsageError(f"option {name!r} is a boolean, got {value!r}")
        return value
    converters = {
        USER: resolver.user,
        ROLE: resolver.role,
        MENTIONABLE: resolver.mentionable,
        ATTACHMENT: resolver.attachment,
    }
    try:
        if kind == CHANNEL:
            return resolver.channel(value, option)
        return converters[kind](value)
    except LookupError as error:
        raise UsageError(f"option {name!r}: {error}") from None


def _scalar(option: dict[str, Any], value: Any) -> Any:
    kind, name = option["type"], option["name"]
    if kind == STRING and not isinstance(value, str):
        raise UsageError(f"option {name!r} is a string, got {value!r}")
    if kind == INTEGER and (
        isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_SAFE_INT
    ):
        raise UsageError(f"option {name!r} is an integer, got {value!r}")
    if kind == NUMBER and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise UsageError(f"option {name!r} is a number, got {value!r}")
    choices = option.get("choices")
    if choices and value not in [choice["value"] for choice in choices]:
        raise UsageError(f"option {name!r} must be one of {[c['value'] for c in choices]}, got {value!r}")
    if kind == STRING:
        low, high = option.get("min_length", 0), option.get("max_length", 6000)
        if not low <= len(value) <= high:
            raise UsageError(f"option {name!r} must be {low}-{high} characters long")
        return value
    low, high = option.get("min_value"), option.get("max_value")
    if (low is not None and value < low) or (high is not None and value > high):
        raise UsageError(f"option {name!r} must be within {low}..{high}, got {value}")
    return value
