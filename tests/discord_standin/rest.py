"""REST routes for the bot itself: login, command sync, channel messages, attachment downloads.

Each handler gets the parsed body from the server middleware (`request[PAYLOAD]`, `request[FILES]`), raises
DiscordError for Discord's error answers, and returns a JSON response with the exact Content-Type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import limits
from .bodies import FILES, PAYLOAD
from .commanddefs import echo_command, validate_commands
from .errors import DiscordError, json_response, unknown
from .store import Message

if TYPE_CHECKING:
    from .server import StandIn

NONCE_WINDOW = 300.0  # seconds; Discord documents "the past few minutes" for enforce_nonce


def bot_routes(standin: StandIn) -> list[web.RouteDef]:
    handlers = BotHandlers(standin)
    return [
        web.get("/users/@me", handlers.me),
        web.get("/oauth2/applications/@me", handlers.application),
        web.get("/gateway", handlers.gateway),
        web.get("/gateway/bot", handlers.gateway_bot),
        web.put("/applications/{application_id}/commands", handlers.put_commands),
        web.get("/applications/{application_id}/commands", handlers.get_commands),
        web.put("/applications/{application_id}/guilds/{guild_id}/commands", handlers.put_commands),
        web.get("/applications/{application_id}/guilds/{guild_id}/commands", handlers.get_commands),
        web.get("/channels/{channel_id}", handlers.get_channel),
        web.post("/channels/{channel_id}/messages", handlers.post_message),
        web.get("/channels/{channel_id}/messages", handlers.history),
        web.get("/channels/{channel_id}/messages/{message_id}", handlers.get_message),
        web.patch("/channels/{channel_id}/messages/{message_id}", handlers.edit_message),
        web.delete("/channels/{channel_id}/messages/{message_id}", handlers.delete_message),
    ]


class BotHandlers:
    def __init__(self, standin: StandIn) -> None:
        self.standin = standin
        self.world = standin.world
        self.store = standin.store

    async def me(self, request: web.Request) -> web.Response:
        user = self.world.bot.payload() | {
            "verified": True,
            "mfa_enabled": False,
            "locale": "en-US",
            "email": None,
        }
        return json_response(user)

    async def application(self, request: web.Request) -> web.Response:
        owner = next(u for u in self.world.users.values() if not u.bot)
        return json_response(
            {
                "id": str(self.world.application_id),
                "name": self.world.bot.username,
                "icon": None,
                "description": "Stand-in application for tests",
                "summary": "",
                "rpc_origins": [],
                "bot_public": False,
                "bot_require_code_grant": False,
                "bot": self.world.bot.payload(),
                "owner": owner.payload(),
                "team": None,
                "verify_key": "0" * 64,
                "flags": 0,
                "interactions_endpoint_url": None,
                "approximate_guild_count": len(self.world.guilds),
                "tags": [],
                "redirect_uris": [],
            }
        )

    async def gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.standin.gateway_url.rstrip("/")})

    async def gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return json_response(
            {"url": self.standin.gateway_url.rstrip("/"), "shards": 1, "session_start_limit": limit}
        )

    def _scope(self, request: web.Request) -> int | None:
        if request.match_info["application_id"] != str(self.world.application_id):
            raise DiscordError(403, 50001, "Missing Access")
        guild_id = request.match_info.get("guild_id")
        if guild_id is None:
            return None
        if int(guild_id) not in self.world.guilds:
            raise DiscordError(403, 50001, "Missing Access")
        return int(guild_id)

    async def put_commands(self, request: web.Request) -> web.Response:
        guild_id = self._scope(request)
        commands = request[PAYLOAD]
        validate_commands(commands)
        echoed = {}
        for command in commands:
            key = (guild_id, command.get("type", 1), command["name"])
            command_id = self.store.command_ids.setdefault(
                key, self.world.ids.next()
            )  # ids survive a re-sync
            echoed[command["name"]] = echo_command(
                command, command_id=command_id, application_id=self.world.application_id, guild_id=guild_id
            )
        if guild_id is None:
            self.store.global_commands = echoed
        else:
            self.store.guild_commands[guild_id] = echoed
        self.store.syncs.append((guild_id, list(echoed)))
        return json_response(list(echoed.values()))

    async def get_commands(self, request: web.Request) -> web.Response:
        guild_id = self._scope(request)
        commands = (
            self.store.global_commands if guild_id is None else self.store.guild_commands.get(guild_id, {})
        )
        return json_response(list(commands.values()))

    def _channel(self, request: web.Request) -> Any:
        channel = self.world.find_channel(int(request.match_info["channel_id"]))
        if channel is None:
            raise unknown("Channel", 10003)
        return channel

    async def get_channel(self, request: web.Request) -> web.Response:
        return json_response(self._channel(request).payload())

    async def post_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if not channel.bot_can_send:
            raise DiscordError(403, 50013, "Missing Permissions")
        payload, files = request[PAYLOAD] or {}, request[FILES]
        guild = self.world.guilds[channel.guild_id]
        limits.check_message(payload, files, attachment_size_limit=guild.attachment_size_limit)
        nonce = payload.get("nonce")
        if nonce is not None:
            limits.check_nonce(nonce)
            if payload.get("enforce_nonce") and (earlier := self._same_nonce(channel.id, str(nonce))):
                return json_response(earlier.payload())
        message = self.standin.factory.create(
            channel.id, guild.id, self.world.bot.payload(), payload, files, nonce=nonce
        )
        if nonce is not None:
            self.store.nonces[(channel.id, self.world.bot.id, str(nonce))] = (
                message.id,
                self.standin.clock.now(),
            )
        self.standin.dispatch_message("MESSAGE_CREATE", message)
        return json_response(message.payload())

    def _same_nonce(self, channel_id: int, nonce: str) -> Message | None:
        seen = self.store.nonces.get((channel_id, self.world.bot.id, nonce))
        if seen is None or self.standin.clock.now() - seen[1] > self.standin.nonce_window:
            return None
        message = self.store.messages[seen[0]]
        if message.deleted:
            # discord.py documents NotFound for a nonce whose message was deleted shortly before (abc.py send).
            raise unknown("Message", 10008)
        return message

    def _message(self, request: web.Request) -> Message:
        channel = self._channel(request)
        message = self.store.messages.get(int(request.match_info["message_id"]))
        if message is None or message.deleted or message.channel_id != channel.id or message.ephemeral:
            raise unknown("Message", 10008)
        return message

    async def get_message(self, request: web.Request) -> web.Response:
        return json_response(self._message(request).payload())

    async def history(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        limit = min(int(request.query.get("limit", 50)), 100)
        before, after = request.query.get("before"), request.query.get("after")
        found = [m for m in self.store.channel_messages(channel.id) if not m.ephemeral]
        found = sorted(
            (
                m
                for m in found
                if (before is None or m.id < int(before)) and (after is None or m.id > int(after))
            ),
            key=lambda m: m.id,
        )
        # Discord answers newest first; with `after` it is the `limit` messages just after that id (abc.py history).
        page = found[:limit] if after is not None and before is None else found[-limit:]
        return json_response([m.payload() for m in reversed(page)])

    async def edit_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if message.author["id"] != str(self.world.bot.id):
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        payload, files = request[PAYLOAD] or {}, request[FILES]
        guild = self.world.guilds[self.world.find_channel(message.channel_id).guild_id]
        limits.check_message(payload, files, attachment_size_limit=guild.attachment_size_limit, editing=True)
        self.standin.factory.apply(message, payload, files)
        self.standin.dispatch_message("MESSAGE_UPDATE", message)
        return json_response(message.payload())

    async def delete_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        message.deleted = True
        self.standin.dispatch_message("MESSAGE_DELETE", message)
        return web.Response(status=204)
