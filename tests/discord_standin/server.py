"""The stand-in server: one aiohttp app on 127.0.0.1 serving Discord's REST API (under /api/v10), the Gateway
(at / and, for RESUME, /resume/) and a local "CDN" for attachments (/attachments/...).

Every /api request is recorded. A request to a route the stand-in does not implement gets a 404 whose body
says so, and is added to `store.unimplemented`, which tests assert is empty.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import web

from . import payloads
from .bodies import FILES, INTERACTION, PAYLOAD, RECORD, read_body
from .clock import Clock
from .errors import UNAUTHORIZED, DiscordError, json_response
from .faults import RateLimits, fault_response, too_many_requests
from .gateway import Gateway
from .interactions import interaction_routes
from .messages import MessageFactory
from .options import UsageError
from .rest import NONCE_WINDOW, bot_routes
from .store import Interaction, Message, RecordedRequest, Rejection, Store
from .world import Channel, Guild, Member, World, default_world

API = "/api/v10"
NO_AUTH_PREFIXES = ("/interactions/", "/webhooks/")
GUILD_MESSAGES_INTENT = 1 << 9


class StandIn:
    """A local Discord for one bot application. Start it, point the bot at `api_base` and `gateway_url`."""

    def __init__(
        self,
        *,
        token: str | None = None,
        world: World | None = None,
        clock: Clock | None = None,
        rate_limit: tuple[int, float] = (50, 1.0),
        heartbeat_interval_ms: int = 41250,
        allowed_privileged_intents: int = 0,
        nonce_window: float | None = None,
    ) -> None:
        self.clock = clock or (world.clock if world else Clock())
        # How long a message nonce is remembered (enforce_nonce); tests shorten it to exercise the look-back.
        self.nonce_window = NONCE_WINDOW if nonce_window is None else nonce_window
        self.world = world or default_world(self.clock, token or f"standin.{secrets.token_urlsafe(24)}")
        self.store = Store()
        self.limits = RateLimits(self.clock, limit=rate_limit[0], window=rate_limit[1])
        self.gateway = Gateway(self)
        self.gateway.heartbeat_interval_ms = heartbeat_interval_ms
        self.gateway.allowed_privileged_intents = allowed_privileged_intents
        self.factory = MessageFactory(self.store, self.world.ids, self.clock, lambda: self.base_url)
        self.routes = {f"{r.method} {r.path}" for r in bot_routes(self) + interaction_routes(self)}
        self.message_listeners: list[Callable[[str, Message], None]] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    # -- addresses --------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """For `discord.http.Route.BASE` / DISCORD_API_BASE."""
        return self.base_url + API

    @property
    def gateway_url(self) -> str:
        """For `DiscordWebSocket.DEFAULT_GATEWAY` / DISCORD_GATEWAY_URL."""
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/resume/"

    # -- lifecycle --------------------------------------------------------------------------------------------

    def app(self) -> web.Application:
        api = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        api.add_routes(bot_routes(self) + interaction_routes(self))
        api.router.add_route("*", "/{tail:.*}", self._unimplemented)
        root = web.Application(
            client_max_size=64 * 1024 * 1024
        )  # the stand-in answers 413 itself, as Discord does
        root.add_subapp(API, api)
        root.router.add_get("/", self.gateway.handle)
        root.router.add_get("/resume/", self.gateway.handle)
        root.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._download)
        root.router.add_route("*", "/{tail:.*}", self._unimplemented)
        return root

    async def start(self, port: int = 0) -> None:
        self._runner = web.AppRunner(self.app(), handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        await self.gateway.shutdown()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- recording and middleware -----------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        resource = request.match_info.route.resource
        template = resource.canonical.removeprefix(API) if resource is not None else ""
        route = "" if template == "/{tail}" else f"{request.method} {template}"
        record = RecordedRequest(
            request.method,
            request.path,
            route,
            dict(request.query),
            request.content_type,
            request.headers.get("Authorization") == f"Bot {self.world.token}",
            at=self.clock.now(),
        )
        self.store.requests.append(record)
        request[RECORD] = record
        try:
            response = await self._answer(request, handler, record, template)
        except DiscordError as error:
            response = error.response()
            rejection = Rejection(record.route, error.status, error.code, error.body())
            self.store.rejections.append(rejection)
            interaction: Interaction | None = request.get(INTERACTION)
            if interaction is not None:
                rejection.interaction_id = interaction.id
                interaction.rejections.append(rejection)
        record.status = response.status
        record.response = getattr(response, "text", None) if response.status >= 400 else None
        self.store.changed()
        return response

    async def _answer(
        self, request: web.Request, handler: Any, record: RecordedRequest, template: str
    ) -> web.StreamResponse:
        if not record.route:
            return await handler(request)
        request[PAYLOAD], request[FILES] = (
            await read_body(request) if request.method in ("POST", "PUT", "PATCH") else (None, [])
        )
        record.json, record.files = request[PAYLOAD], request[FILES]
        fault = self.limits.take_fault(record.route)
        if fault is not None:
            record.fault = f"injected {fault.status}"
            return fault_response(fault)
        if not template.startswith(NO_AUTH_PREFIXES) and not record.authorized:
            raise UNAUTHORIZED
        headers, retry_after = self.limits.consume(record.route, dict(request.match_info))
        if retry_after is not None:
            record.fault = "rate limited"
            return too_many_requests(retry_after, is_global=False, headers=headers)
        response = await handler(request)
        response.headers.update(headers)
        return response

    def note_unimplemented(self, request: web.Request, reason: str) -> None:
        record: RecordedRequest | None = request.get(RECORD)
        if record is not None:
            record.response = reason
            self.store.unimplemented.append(record)

    async def _unimplemented(self, request: web.Request) -> web.Response:
        reason = f"discord stand-in: route not implemented: {request.method} {request.path}"
        record = request.get(RECORD)
        if record is None:  # outside /api: not recorded by the middleware
            record = RecordedRequest(
                request.method, request.path, "", dict(request.query), request.content_type, False, status=404
            )
            self.store.requests.append(record)
        record.response = reason
        self.store.unimplemented.append(record)
        self.store.changed()
        return json_response({"message": reason, "code": 0}, status=404)

    async def _download(self, request: web.Request) -> web.Response:
        attachment = self.store.attachments.get(int(request.match_info["attachment_id"]))
        if attachment is None or attachment.filename != request.match_info["filename"]:
            return web.Response(status=404, text="stand-in CDN: no such attachment")
        self.store.downloads.append(attachment.id)
        return web.Response(body=attachment.data, content_type=attachment.content_type)

    # -- events -----------------------------------------------------------------------------------------------

    def dispatch_message(self, event: str, message: Message) -> None:
        """MESSAGE_CREATE/UPDATE/DELETE to sessions with the GUILD_MESSAGES intent; ephemeral messages stay private.
        Listeners (`Driver.on_message`) see every event first, ephemeral ones included."""
        for listener in self.message_listeners:
            listener(event, message)
        if message.ephemeral or message.guild_id is None:
            return
        guild = self.world.guilds[message.guild_id]
        body = payloads.message_event(event, message, guild.members.get(self.world.bot.id))
        self.gateway.dispatch_guild(guild.id, event, body, intent=GUILD_MESSAGES_INTENT)

    def create_interaction(
        self,
        guild: Guild,
        channel: Channel,
        member: Member,
        interaction_type: int,
        data: dict[str, Any],
        locale: str = "en-US",
    ) -> Interaction:
        """Record an interaction and dispatch its INTERACTION_CREATE; its 3 s clock starts now."""
        interaction_id, token = self.world.ids.next(), "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48)
        body = payloads.interaction_create(
            self.world,
            guild,
            channel,
            member,
            interaction_id=interaction_id,
            token=token,
            interaction_type=interaction_type,
            data=data,
            locale=locale,
        )
        interaction = Interaction(
            interaction_id,
            token,
            interaction_type,
            body,
            self.clock.now(),
            channel.id,
            guild.id,
            member.user.id,
        )
        self.store.interactions[interaction_id] = interaction
        delivered = self.gateway.dispatch_guild(guild.id, "INTERACTION_CREATE", body)
        if not delivered:
            raise UsageError("no bot session owns this guild: wait for the bot to be READY before invoking")
        self.store.changed()
        return interaction
