"""Gateway dispatch payloads: READY, GUILD_CREATE, GUILD_MEMBERS_CHUNK, MESSAGE_*, INTERACTION_CREATE.

Each builder sends every key discord.py 2.7 indexes directly (reference §1.6, §2.1): a missing one raises
KeyError inside discord.py's gateway loop and ends `bot.start()`.
"""

from __future__ import annotations

from typing import Any

from .store import Message
from .world import Channel, Guild, Member, World

PRIVILEGED_INTENTS = {1 << 1: "GUILD_MEMBERS", 1 << 8: "GUILD_PRESENCES", 1 << 15: "MESSAGE_CONTENT"}
GUILD_PRESENCES_INTENT = 1 << 8


def ready(
    world: World, *, session_id: str, resume_url: str, guilds: list[Guild], shard: list[int] | None
) -> dict[str, Any]:
    body = {
        "v": 10,
        "user": world.bot.payload() | {"verified": True, "mfa_enabled": False, "email": None},
        "guilds": [{"id": str(guild.id), "unavailable": True} for guild in guilds],
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": resume_url,
        "application": {"id": str(world.application_id), "flags": 0},
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": [],
        "auth": {},
        "user_settings": {},
        "_trace": ["discord-standin"],
    }
    if shard is not None:
        body["shard"] = shard
    return body


# GUILD_CREATE fields the stand-in never varies (Docs events/gateway-events.mdx, "Guild Create"; resources/guild.mdx).
GUILD_CONSTANTS: dict[str, Any] = {
    **dict.fromkeys(["icon", "icon_hash", "splash", "discovery_splash", "banner", "afk_channel_id"], None),
    **dict.fromkeys(
        ["application_id", "system_channel_id", "rules_channel_id", "public_updates_channel_id"], None
    ),
    **dict.fromkeys(["safety_alerts_channel_id", "vanity_url_code", "description"], None),
    **dict.fromkeys(["verification_level", "default_message_notifications", "explicit_content_filter"], 0),
    **dict.fromkeys(["mfa_level", "nsfw_level", "premium_tier", "premium_subscription_count"], 0),
    "system_channel_flags": 0,
    "afk_timeout": 300,
    "max_members": 500000,
    "max_video_channel_users": 25,
    "premium_progress_bar_enabled": False,
    "large": False,
    "unavailable": False,
}
GUILD_EMPTY_LISTS = [
    "emojis",
    "stickers",
    "features",
    "threads",
    "presences",
    "voice_states",
    "stage_instances",
    "guild_scheduled_events",
    "soundboard_sounds",
    "embedded_activities",
]


def guild_create(world: World, guild: Guild, intents: int) -> dict[str, Any]:
    # Without the GUILD_PRESENCES intent Discord sends only the bot's own member (and voice members) here;
    # discord.py then asks for the rest with op 8 when it has the GUILD_MEMBERS intent (state.py _guild_needs_chunking).
    members = guild.members.values() if intents & GUILD_PRESENCES_INTENT else [guild.members[world.bot.id]]
    return {
        **GUILD_CONSTANTS,
        **{key: [] for key in GUILD_EMPTY_LISTS},
        "id": str(guild.id),
        "name": guild.name,
        "owner_id": str(guild.owner_id),
        "preferred_locale": guild.locale,
        "joined_at": guild.joined_at,
        "member_count": len(guild.members),
        "roles": [role.payload() for role in guild.roles],
        "members": [member.payload() for member in members],
        "channels": [channel.payload() for channel in guild.channels],
    }


def members_chunk(guild: Guild, request: dict[str, Any]) -> dict[str, Any]:
    members = list(guild.members.values())
    query, user_ids = request.get("query"), request.get("user_ids")
    if user_ids:
        wanted = {int(x) for x in (user_ids if isinstance(user_ids, list) else [user_ids])}
        members = [m for m in members if m.user.id in wanted]
    elif query:
        members = [m for m in members if m.user.username.lower().startswith(query.lower())]
    limit = request.get("limit") or 0
    if limit:
        members = members[:limit]
    body: dict[str, Any] = {
        "guild_id": str(guild.id),
        "members": [member.payload() for member in members],
        "chunk_index": 0,
        "chunk_count": 1,
        "not_found": [],
    }
    if request.get("presences"):
        body["presences"] = []
    if request.get("nonce") is not None:
        body["nonce"] = request["nonce"]
    return body


def message_event(event: str, message: Message, bot_member: Member | None) -> dict[str, Any]:
    if event == "MESSAGE_DELETE":
        body = {"id": str(message.id), "channel_id": str(message.channel_id)}
    else:
        body = message.payload()
        if bot_member is not None:
            body["member"] = bot_member.payload(with_user=False)
    if message.guild_id is not None:
        body["guild_id"] = str(message.guild_id)
    return body


def interaction_create(
    world: World,
    guild: Guild,
    channel: Channel,
    member: Member,
    *,
    interaction_id: int,
    token: str,
    interaction_type: int,
    data: dict[str, Any],
    locale: str,
) -> dict[str, Any]:
    permissions = guild.permissions(member.role_ids, member.user.id)
    bot_member = guild.members[world.bot.id]
    return {
        "id": str(interaction_id),
        "application_id": str(world.application_id),
        "type": interaction_type,
        "data": data,
        "guild_id": str(guild.id),
        "guild": {"id": str(guild.id), "locale": guild.locale, "features": []},
        "channel_id": str(channel.id),
        "channel": channel.payload() | {"permissions": str(permissions)},
        "member": member.payload(permissions=permissions),
        "token": token,
        "version": 1,
        "app_permissions": str(guild.permissions(bot_member.role_ids, world.bot.id)),
        "locale": locale,
        "guild_locale": guild.locale,
        "entitlements": [],
        "entitlement_sku_ids": [],
        "authorizing_integration_owners": {"0": str(guild.id)},
        "context": 0,
        "attachment_size_limit": guild.attachment_size_limit,
    }
