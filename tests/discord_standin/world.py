"""The stand-in's world: the bot, its application, guilds, channels, roles and members, and their payloads.

Payload shapes follow what discord.py 2.7 reads (its payload parsing in state.py and interactions.py): a key that
discord.py indexes directly and that is missing here would kill the whole client, so every builder sends all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .clock import Clock, Snowflakes

# Permission bits (Discord docs, topics/permissions).
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_APPLICATION_COMMANDS = 1 << 31
ALL_PERMISSIONS = (1 << 53) - 1
EVERYONE_DEFAULT = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_APPLICATION_COMMANDS
)

GUILD_TEXT = 0
DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024  # 10 MiB per file for an unboosted guild


@dataclass
class User:
    id: int
    username: str
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "global_name": None if self.bot else self.username.title(),
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
        }


@dataclass
class Role:
    id: int
    name: str
    permissions: int = 0
    position: int = 0
    managed: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": self.managed,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }


@dataclass
class Channel:
    id: int
    name: str
    guild_id: int
    position: int = 0
    type: int = GUILD_TEXT
    topic: str | None = None
    bot_can_send: bool = True  # False: the bot lacks Send Messages here and gets 403 50013

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "topic": self.topic,
            "nsfw": False,
            "permission_overwrites": [],
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "parent_id": None,
            "flags": 0,
        }


@dataclass
class Member:
    user: User
    role_ids: list[int]
    joined_at: str
    nick: str | None = None

    def payload(self, *, with_user: bool = True, permissions: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "roles": [str(role_id) for role_id in self.role_ids],
            "joined_at": self.joined_at,
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            body["user"] = self.user.payload()
        if permissions is not None:
            body["permissions"] = str(permissions)
        return body


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    joined_at: str
    channels: list[Channel] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)
    members: dict[int, Member] = field(default_factory=dict)
    attachment_size_limit: int = DEFAULT_ATTACHMENT_LIMIT
    locale: str = "en-US"

    @property
    def everyone(self) -> Role:
        return next(role for role in self.roles if role.id == self.id)

    def channel(self, name_or_id: str | int) -> Channel:
        for channel in self.channels:
            if name_or_id in (channel.id, channel.name, str(channel.id)):
                return channel
        raise LookupError(
            f"no channel {name_or_id!r} in guild {self.name!r}; have {[c.name for c in self.channels]}"
        )

    def role(self, name_or_id: str | int) -> Role:
        for role in self.roles:
            if name_or_id in (role.id, role.name, str(role.id)):
                return role
        raise LookupError(
            f"no role {name_or_id!r} in guild {self.name!r}; have {[r.name for r in self.roles]}"
        )

    def permissions(self, role_ids: list[int], user_id: int | None = None) -> int:
        """Guild-level permissions for these roles (channel overwrites are not modelled)."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        value = self.everyone.permissions
        for role in self.roles:
            if role.id in role_ids:
                value |= role.permissions
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value


class World:
    """Everything the stand-in knows about: one application with its bot user, guilds and users."""

    def __init__(self, clock: Clock, *, token: str, bot_name: str = "Tradewatch") -> None:
        self.clock = clock
        self.ids = Snowflakes(clock)
        self.token = token
        self.bot = User(self.ids.next(), bot_name, bot=True)
        self.application_id = self.bot.id  # Discord gives a bot user the id of its application
        self.users: dict[int, User] = {self.bot.id: self.bot}
        self.guilds: dict[int, Guild] = {}

    def add_user(self, username: str) -> User:
        user = User(self.ids.next(), username)
        self.users[user.id] = user
        return user

    def user(self, ref: str | int | User) -> User:
        if isinstance(ref, User):
            return ref
        for user in self.users.values():
            if ref in (user.id, user.username, str(user.id)):
                return user
        raise LookupError(f"no user {ref!r}; have {[u.username for u in self.users.values()]}")

    def add_guild(self, name: str, owner: User | None = None) -> Guild:
        guild_id = self.ids.next()
        owner = owner or self.add_user(f"{name.lower().replace(' ', '-')}-owner")
        guild = Guild(guild_id, name, owner.id, joined_at=self.clock.iso())
        guild.roles.append(Role(guild_id, "@everyone", EVERYONE_DEFAULT))
        self.guilds[guild_id] = guild
        self.join(guild, owner)
        self.join(guild, self.bot)
        return guild

    def add_channel(self, guild: Guild, name: str, **options: Any) -> Channel:
        channel = Channel(self.ids.next(), name, guild.id, position=len(guild.channels), **options)
        guild.channels.append(channel)
        return channel

    def add_role(self, guild: Guild, name: str, permissions: int = 0) -> Role:
        role = Role(self.ids.next(), name, permissions, position=len(guild.roles))
        guild.roles.append(role)
        return role

    def join(self, guild: Guild, user: User, roles: list[Role] | None = None) -> Member:
        member = Member(user, [role.id for role in roles or []], joined_at=self.clock.iso())
        guild.members[user.id] = member
        return member

    def guild(self, ref: str | int | Guild | None = None) -> Guild:
        if isinstance(ref, Guild):
            return ref
        if ref is None:
            return next(iter(self.guilds.values()))
        for guild in self.guilds.values():
            if ref in (guild.id, guild.name, str(guild.id)):
                return guild
        raise LookupError(f"no guild {ref!r}; have {[g.name for g in self.guilds.values()]}")

    def find_channel(self, channel_id: int) -> Channel | None:
        for guild in self.guilds.values():
            for channel in guild.channels:
                if channel.id == channel_id:
                    return channel
        return None


def default_world(clock: Clock, token: str) -> World:
    """One guild with the channels, roles and people the end-to-end tests need.

    Invented for tests: guild "Stand-in Newsroom"; channels general, alerts, newsroom; roles Researcher (no extra
    permissions), Moderator (Manage Channels), Admin (Administrator); users alice (Researcher), bob (no role),
    carol (Moderator), dana (Admin, guild owner).
    """
    world = World(clock, token=token)
    dana = world.add_user("dana")
    guild = world.add_guild("Stand-in Newsroom", owner=dana)
    for name in ("general", "alerts", "newsroom"):
        world.add_channel(guild, name)
    researcher = world.add_role(guild, "Researcher")
    moderator = world.add_role(guild, "Moderator", MANAGE_CHANNELS)
    admin = world.add_role(guild, "Admin", ADMINISTRATOR)
    world.join(guild, dana, [admin])
    world.join(guild, world.add_user("alice"), [researcher])
    world.join(guild, world.add_user("bob"))
    world.join(guild, world.add_user("carol"), [moderator])
    return world
