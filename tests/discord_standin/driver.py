"""The test driver: start the stand-in, wait for the bot, act as a user's Discord client, read what the bot sent,
and inject faults. Every wait has a timeout and raises StandInTimeout (an AssertionError) with context.

    async with Driver() as discord:
        env = discord.env()                      # DISCORD_API_BASE, DISCORD_GATEWAY_URL, DISCORD_TOKEN
        ... start the bot with env ...
        await discord.wait_ready(commands={"exports"})
        handle = await discord.invoke("exports", {"commodity": "chips", "partner": "RU"}, user="alice")
        reply = await handle.reply()
        assert reply.embeds[0]["title"].startswith("Exports")
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from .clock import Clock
from .gateway import GatewayEvent
from .options import FileOption, Resolver, UsageError, build_data, check_visible, find_command
from .server import StandIn
from .store import Ack, Interaction, Message, RecordedRequest, Rejection, StandInTimeout
from .world import Channel, Guild, Member, Role, User

T = TypeVar("T")
APPLICATION_COMMAND, AUTOCOMPLETE = 2, 4

__all__ = ["BotExited", "Driver", "FileOption", "InteractionHandle", "StandInTimeout", "UsageError"]


def _leaves(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The options holding values, inside any subcommand group and subcommand."""
    out: list[dict[str, Any]] = []
    for option in options:
        out.extend(_leaves(option["options"]) if option.get("type") in (1, 2) else [option])
    return out


class BotExited(AssertionError):
    """A watched bot process ended while a test was waiting for it."""


class InteractionHandle:
    """One INTERACTION_CREATE the driver sent, and everything the bot answered to it."""

    def __init__(self, driver: Driver, record: Interaction) -> None:
        self.driver, self.record = driver, record

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def payload(self) -> dict[str, Any]:
        """The INTERACTION_CREATE `d` object as sent to the bot."""
        return self.record.payload

    @property
    def messages(self) -> list[Message]:
        return self.record.messages

    @property
    def rejections(self) -> list[Rejection]:
        return self.record.rejections

    async def wait_for(self, check: Callable[[], T | None], what: str, timeout: float = 10.0) -> T:
        return await self.driver.wait_for(check, f"{what} for interaction {self.id}", timeout)

    async def ack(self, timeout: float = 5.0) -> Ack:
        """The initial response: type (4 reply, 5 deferred, 8 choices), delay in seconds, ephemeral."""
        return await self.wait_for(lambda: self.record.ack, "the initial response", timeout)

    async def reply(self, timeout: float = 10.0) -> Message:
        """The answer the user sees: the original response once it is no longer the deferred "thinking"
        placeholder, or, when the bot deleted that placeholder, its first followup."""

        def answer() -> Message | None:
            original = self.record.original
            if original is not None and not original.deleted:
                return None if original.loading else original
            return self.record.followups[0] if original is not None and self.record.followups else None

        return await self.wait_for(answer, "a complete reply", timeout)

    async def followups(self, count: int = 1, timeout: float = 10.0) -> list[Message]:
        """At least `count` followup messages (the first followup after a defer fills the original instead)."""
        return await self.wait_for(
            lambda: self.record.followups if len(self.record.followups) >= count else None,
            f"{count} followup(s)",
            timeout,
        )

    async def rejection(self, code: int | None = None, timeout: float = 10.0) -> Rejection:
        """The first answer the stand-in refused (optionally with this Discord error code)."""
        return await self.wait_for(
            lambda: next((r for r in self.record.rejections if code is None or r.code == code), None),
            f"a rejected response{'' if code is None else f' with code {code}'}",
            timeout,
        )


class Driver:
    """Async test API over a StandIn. Use `async with Driver() as discord:` or start()/stop()."""

    def __init__(self, standin: StandIn | None = None, **standin_options: Any) -> None:
        self.standin = standin or StandIn(**standin_options)
        self.processes: dict[str, asyncio.subprocess.Process] = {}

    async def start(self) -> Driver:
        await self.standin.start()
        return self

    async def stop(self) -> None:
        await self.standin.stop()

    async def __aenter__(self) -> Driver:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- the world ------------------------------------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        return self.standin.clock

    @property
    def token(self) -> str:
        return self.standin.world.token

    @property
    def application_id(self) -> int:
        return self.standin.world.application_id

    @property
    def guild(self) -> Guild:
        """The first (default) guild."""
        return self.standin.world.guild()

    def env(self) -> dict[str, str]:
        """Environment for the bot process: where Discord is and the bot token."""
        return {
            "DISCORD_API_BASE": self.standin.api_base,
            "DISCORD_GATEWAY_URL": self.standin.gateway_url,
            "DISCORD_TOKEN": self.token,
        }

    def user(self, ref: str | int | User) -> User:
        return self.standin.world.user(ref)

    def channel(self, ref: str | int | Channel, guild: str | int | Guild | None = None) -> Channel:
        return ref if isinstance(ref, Channel) else self.standin.world.guild(guild).channel(ref)

    def role(self, ref: str | int | Role, guild: str | int | Guild | None = None) -> Role:
        return ref if isinstance(ref, Role) else self.standin.world.guild(guild).role(ref)

    def add_user(
        self, username: str, roles: Iterable[str | Role] = (), guild: str | int | Guild | None = None
    ) -> User:
        """A new guild member. Add people, channels and roles before the bot connects (no *_CREATE events)."""
        world, target = self.standin.world, self.standin.world.guild(guild)
        user = world.add_user(username)
        world.join(target, user, [self.role(r, target) for r in roles])
        return user

    def add_guild(
        self, name: str, channels: Iterable[str] = ("general",), members: Iterable[str | User] = ()
    ) -> Guild:
        """Another guild the bot is in (a new owner is invented), with these channels and existing users as members."""
        world = self.standin.world
        guild = world.add_guild(name)
        for channel in channels:
            world.add_channel(guild, channel)
        for member in members:
            world.join(guild, self.user(member))
        return guild

    def add_channel(self, name: str, guild: str | int | Guild | None = None, **options: Any) -> Channel:
        return self.standin.world.add_channel(self.standin.world.guild(guild), name, **options)

    def add_role(self, name: str, permissions: int = 0, guild: str | int | Guild | None = None) -> Role:
        return self.standin.world.add_role(self.standin.world.guild(guild), name, permissions)

    def advance(self, seconds: float) -> None:
        """Fast-forward the stand-in clock (3 s ack deadline, 15 min token lifetime, nonce window)."""
        self.clock.advance(seconds)

    # -- waiting --------------------------------------------------------------------------------------------

    def watch_process(self, process: asyncio.subprocess.Process, name: str = "bot") -> None:
        """Make every wait fail at once (BotExited) if this bot process exits, instead of running into its timeout.
        Call `forget_process(name)` before stopping it on purpose."""
        self.processes[name] = process

    def forget_process(self, name: str = "bot") -> None:
        self.processes.pop(name, None)

    async def wait_for(self, check: Callable[[], T | None], what: str, timeout: float = 10.0) -> T:
        def guarded() -> T | None:
            for name, process in self.processes.items():
                if process.returncode is not None:
                    raise BotExited(
                        f"{name} process exited with code {process.returncode} while waiting for {what}"
                    )
            return check()

        poll = 0.2 if self.processes else None
        return await self.standin.store.notifier.wait_for(
            guarded, timeout, what, self.standin.store.summary, poll
        )

    def commands(self, guild: str | int | Guild | None = None) -> dict[str, dict[str, Any]]:
        """Synced definitions a user in this guild sees: global commands, overridden by guild commands."""
        store = self.standin.store
        return store.global_commands | store.guild_commands.get(self.standin.world.guild(guild).id, {})

    async def wait_ready(
        self,
        commands: bool | Iterable[str] = True,
        guild: str | int | Guild | None = None,
        timeout: float = 30.0,
    ) -> None:
        """Wait until a bot session is connected and READY, and (by default) has synced commands."""
        wanted = set(commands) if not isinstance(commands, bool) else set()

        def ready() -> bool:
            if not any(s.connection is not None for s in self.standin.gateway.live_sessions()):
                return False
            if commands is False:
                return True
            return bool(self.standin.store.syncs) and wanted <= set(self.commands(guild))

        await self.wait_for(ready, f"a READY bot session with commands {sorted(wanted) or 'synced'}", timeout)

    def gateway_mark(self) -> int:
        """A position in the gateway event log, to wait for events that happen after it."""
        return len(self.standin.gateway.events)

    async def wait_gateway(self, kind: str, after: int = 0, timeout: float = 10.0) -> GatewayEvent:
        """Wait for a gateway event: connect, identify, ready, resume, resumed, invalid_session, disconnect, ..."""
        events = self.standin.gateway.events
        return await self.wait_for(
            lambda: next((e for e in events[after:] if e.kind == kind), None),
            f"gateway event {kind!r}",
            timeout,
        )

    @property
    def gateway_events(self) -> list[GatewayEvent]:
        return self.standin.gateway.events

    # -- acting as a user -----------------------------------------------------------------------------------

    def _member(self, guild: Guild, user: str | int | User, roles: Iterable[str | Role] | None) -> Member:
        found = self.user(user)
        member = guild.members.get(found.id)
        if member is None:
            raise UsageError(f"{found.username} is not a member of {guild.name}")
        if roles is not None:
            member = Member(found, [self.role(r, guild).id for r in roles], member.joined_at, member.nick)
        return member

    def _data(
        self, command: str, options: dict[str, Any], guild: Guild, member: Member, focused: str | None
    ) -> dict[str, Any]:
        definition, subpath = find_command(self.commands(guild), command)
        check_visible(definition, guild, member.role_ids, member.user.id)
        factory = self.standin.factory
        resolver = Resolver(
            self.standin.world, guild, lambda f: factory.attachment(f.filename, f.data, f.content_type, 0)
        )
        return build_data(definition, subpath, options, resolver, focused=focused)

    async def invoke(
        self,
        command: str,
        options: dict[str, Any] | None = None,
        *,
        user: str | int | User = "alice",
        guild: str | int | Guild | None = None,
        channel: str | int | Channel = "general",
        roles: Iterable[str | Role] | None = None,
        locale: str = "en-US",
        forged: dict[str, Any] | None = None,
    ) -> InteractionHandle:
        """Run a slash command as `user` would: `invoke("top partners", {"commodity": "chips"})`.

        Options are checked against the synced definition (names, types, choices, ranges, required). `roles`
        replaces the member's roles for this interaction only. Raises UsageError for what Discord would prevent.
        `forged` then replaces option values unchecked (a modified client: 2^53, a list for a text option).
        """
        target = self.standin.world.guild(guild)
        member = self._member(target, user, roles)
        data = self._data(command, dict(options or {}), target, member, None)
        for option in _leaves(data.get("options", [])):
            if forged and option["name"] in forged:
                option["value"] = forged[option["name"]]
        record = self.standin.create_interaction(
            target, self.channel(channel, target), member, APPLICATION_COMMAND, data, locale
        )
        return InteractionHandle(self, record)

    async def autocomplete(
        self,
        command: str,
        focused: str,
        value: str,
        options: dict[str, Any] | None = None,
        *,
        user: str | int | User = "alice",
        guild: str | int | Guild | None = None,
        channel: str | int | Channel = "general",
        roles: Iterable[str | Role] | None = None,
        timeout: float = 5.0,
    ) -> list[dict[str, Any]]:
        """Type `value` into option `focused` and return the choices the bot offered ([{name, value}, ...])."""
        target = self.standin.world.guild(guild)
        member = self._member(target, user, roles)
        values = dict(options or {}) | {focused: value}
        data = self._data(command, values, target, member, focused)
        record = self.standin.create_interaction(
            target, self.channel(channel, target), member, AUTOCOMPLETE, data
        )
        handle = InteractionHandle(self, record)
        await handle.wait_for(
            lambda: record.choices is not None or record.rejections, "autocomplete choices", timeout
        )
        if record.choices is None:
            raise AssertionError(f"the stand-in refused the autocomplete answer: {record.rejections[0]}")
        return record.choices

    # -- reading what the bot did ---------------------------------------------------------------------------

    def post_as(
        self, user: str | int | User, channel: str | int | Channel, content: str, count: int = 1
    ) -> None:
        """`user` posts `count` messages in `channel` (a busy channel around the bot's own posts)."""
        target = self.channel(channel)
        author = self.user(user).payload()
        for n in range(count):
            text = content if count == 1 else f"{content} {n + 1}"
            message = self.standin.factory.create(target.id, target.guild_id, author, {"content": text}, [])
            self.standin.dispatch_message("MESSAGE_CREATE", message)

    def messages(
        self, channel: str | int | Channel | None = None, *, include_ephemeral: bool = False
    ) -> list[Message]:
        """Messages the bot posted and that still exist, oldest first (interaction replies included)."""
        channel_id = None if channel is None else self.channel(channel).id
        found = self.standin.store.channel_messages(channel_id)
        return sorted((m for m in found if include_ephemeral or not m.ephemeral), key=lambda m: m.id)

    async def wait_for_message(
        self,
        channel: str | int | Channel | None = None,
        predicate: Callable[[Message], bool] | None = None,
        *,
        after: int = 0,
        timeout: float = 10.0,
    ) -> Message:
        """The first message in `channel` with id > `after` that matches `predicate`."""

        def find() -> Message | None:
            return next(
                (m for m in self.messages(channel) if m.id > after and (predicate is None or predicate(m))),
                None,
            )

        return await self.wait_for(find, f"a message in {channel or 'any channel'}", timeout)

    def on_message(self, listener: Callable[[str, Message], None]) -> None:
        """Call `listener(event, message)` synchronously for every MESSAGE_CREATE / MESSAGE_UPDATE / MESSAGE_DELETE
        the stand-in produces (ephemeral messages too), e.g. to kill a bot right after it posted."""
        self.standin.message_listeners.append(listener)

    def requests(self, route: str | None = None) -> list[RecordedRequest]:
        """Recorded /api requests, optionally only one route ("POST /channels/{channel_id}/messages")."""
        return [r for r in self.standin.store.requests if route is None or r.route == route]

    @property
    def downloads(self) -> list[int]:
        """Ids of the attachments the bot downloaded from the stand-in CDN, in order."""
        return self.standin.store.downloads

    @property
    def rejections(self) -> list[Rejection]:
        return self.standin.store.rejections

    @property
    def unimplemented(self) -> list[RecordedRequest]:
        return self.standin.store.unimplemented

    def assert_all_implemented(self) -> None:
        assert not self.unimplemented, "the bot used routes the stand-in does not implement:\n" + "\n".join(
            f"  {r.method} {r.path}: {r.response}" for r in self.unimplemented
        )

    # -- faults ---------------------------------------------------------------------------------------------

    def fail_next(
        self,
        route: str = "*",
        status: int = 429,
        *,
        count: int = 1,
        retry_after: float = 0.05,
        is_global: bool = False,
    ) -> None:
        """Answer the next `count` requests on `route` ("POST /channels/{channel_id}/messages", or "*") with
        `status` (429 with Via + retry_after, or 500/502/503/504)."""
        if route != "*" and route not in self.standin.routes:
            raise UsageError(f"unknown route {route!r}; known: {sorted(self.standin.routes)}")
        self.standin.limits.inject(route, status, count, retry_after, is_global)

    def reconnect(self) -> int:
        """Send op 7 RECONNECT on every connected session; returns how many got it."""
        return self.standin.gateway.send_reconnect()

    def send_raw_frame(self, data: bytes) -> int:
        """Send one frame of exactly these bytes on every connection (compressed like the others when the
        connection asked for it); returns how many got it. For frames Discord should never send."""
        return self.standin.gateway.send_raw(data)

    def dispatch_raw(self, event: str, data: Any, guild: str | int | Guild | None = None) -> int:
        """Dispatch an event with any `d` (e.g. an INTERACTION_CREATE missing its fields), in sequence."""
        return self.standin.gateway.dispatch_guild(self.standin.world.guild(guild).id, event, data)

    def invalid_session(self, resumable: bool) -> int:
        """Send op 9 INVALID_SESSION; when not resumable the session is also discarded server-side."""
        return self.standin.gateway.send_invalid_session(resumable)

    def expire_sessions(self) -> int:
        """Invalidate every session server-side (connections stay open); a later RESUME is refused with op 9."""
        return self.standin.gateway.expire_sessions()

    async def drop_connection(self) -> int:
        """Cut every gateway connection without a close frame."""
        return await self.standin.gateway.drop()

    async def close_gateway(self, code: int = 4000) -> int:
        """Close every gateway connection with this close code (4000 resumable; 4004 etc. fatal for the client)."""
        return await self.standin.gateway.close(code)
