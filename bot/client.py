"""The discord.py client: a `commands.Bot` whose tree checks access and maps errors, with one cog per family.

`setup_hook` (after login, before the gateway) opens the database and lookups (bot/runtime.py), an
aiohttp session, the in-memory autocomplete indexes, loads the cogs and registers the slash commands in
each configured guild (instant). Global registration is rate-limited by Discord and takes a while to
show, so it is done on demand only: `tradewatch sync-commands`.

Everything before the gateway connects delays the bot's start, so the cogs import their command modules
(matplotlib, followthemoney ...) on first use, and once connected the bot imports them in a thread
(each cog's `PRELOAD`): the first command then finds them loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import importlib
import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.access import AccessPolicy
from bot.config import Config, DiscordConfig
from bot.errors import describe, handle_error, send_private
from bot.logs import event
from bot.options import option_problem
from bot.runtime import App, open_app
from bot.suggest import CommoditySuggester, CountrySuggester
from commands.context import Context, utcnow
from db.engine import current_revision
from db.queries.hs import all_codes
from db.queries.trade_sources import loaded_sources

if TYPE_CHECKING:
    from bot.trade_fetch import OnDemandFetcher

log = logging.getLogger(__name__)

# Commands that run at once (each holds a database connection while it queries and draws its chart); the
# others wait, already acknowledged. Without a cap, 50 users at once took every pooled connection and
# autocomplete, which must answer within 3 seconds, queued behind them (tests/reliability/test_load.py).
MAX_RUNNING_COMMANDS = 6
# The command modules are imported after the name index is ready, or this long after connecting when it is
# still being built (the first start on a machine: seconds at a million names).
PRELOAD_WAIT_SECONDS = 3.0

# One module per command family; each has `async def setup(bot)`. New families (watch, sources) add a line.
COG_MODULES: list[str] = [
    "bot.cogs.trade",
    "bot.cogs.compare",
    "bot.cogs.hs",
    "bot.cogs.entity",
    "bot.cogs.help",
    "bot.cogs.sources",
    "bot.cogs.brief",  # /changes and /brief
    "bot.cogs.watch",  # /watch, and the alert delivery loop (started in the cog's cog_load)
]


def apply_endpoints(config: DiscordConfig) -> None:
    """Point discord.py at another Discord (a local stand-in) when DISCORD_API_BASE / _GATEWAY_URL are set.

    Both are class attributes read at run time (discord-protocol.md §1.1-1.2). Set them before the client
    logs in, and never call `discord.http._set_api_version` afterwards: it rewrites Route.BASE.
    """
    if config.api_base:
        discord.http.Route.BASE = config.api_base.rstrip("/")
    if config.gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(config.gateway_url)


# What decoding or parsing one gateway frame raises when the frame itself is bad: orjson's JSONDecodeError
# (a lone UTF-16 surrogate, truncated or non-JSON text) and UnicodeDecodeError are ValueErrors; a payload
# without the fields its event needs raises KeyError/TypeError/AttributeError in discord.py's parser.
# discord.py's own control flow (ReconnectWebSocket, ConnectionClosed) is none of these.
MALFORMED_FRAME_ERRORS = (ValueError, LookupError, TypeError, AttributeError)


def drop_malformed_gateway_frames() -> None:
    """Make a malformed gateway frame cost that frame only: logged (`gateway_frame_dropped`), then dropped.

    discord.py decodes each frame (with orjson when it is installed, which refuses a lone surrogate that the
    standard json module accepts) and parses its event inside `DiscordWebSocket.received_message`; anything
    raised there ends `Client.connect` and so the process: one `/entity name:\ud800` from anyone in any guild
    stopped the bot. discord.py offers no public hook between the socket and the parser (`on_socket_raw_receive`
    sees the frame but cannot stop it), so this wraps that one method, once per process, and lets everything
    else it raises through unchanged. The session goes on with the next frame (tests/reliability/
    test_gateway_frames.py sends such frames through the Discord stand-in, then a command that is answered).
    """
    websocket = discord.gateway.DiscordWebSocket
    original = websocket.received_message
    if getattr(original, "tradewatch_guard", False):
        return

    @functools.wraps(original)
    async def received_message(self: discord.gateway.DiscordWebSocket, msg: Any, /) -> None:
        try:
            await original(self, msg)
        except MALFORMED_FRAME_ERRORS as exc:
            if self.session_id is None:  # no READY yet: a session without its state is no session; fail
                raise  # (serve exits with 1 and its service manager starts it again, deploy/)
            event(
                log,
                "gateway_frame_dropped",
                logging.WARNING,
                error=repr(exc)[:300],
                frame_bytes=len(msg) if isinstance(msg, str | bytes) else None,
            )

    received_message.tradewatch_guard = True  # type: ignore[attr-defined]
    websocket.received_message = received_message  # type: ignore[method-assign]


def least_intents() -> discord.Intents:
    """Only `guilds` (not privileged): guild and role names for access and the health line.

    Slash commands arrive as INTERACTION_CREATE whatever the intents; members, presences and message
    content are never needed.
    """
    intents = discord.Intents.none()
    intents.guilds = True
    return intents


class TradewatchTree(app_commands.CommandTree["TradewatchBot"]):
    """The command tree: a global access check and one error handler for every command."""

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        try:
            user = interaction.user
            # `_roles` holds the role ids from the interaction payload itself; `.roles` would drop any role
            # not (yet) in the guild cache.
            role_ids = list(getattr(user, "_roles", None) or [r.id for r in getattr(user, "roles", [])])
            names = {r.id: r.name for r in interaction.guild.roles} if interaction.guild else {}
            reason = self.client.access.refusal(interaction.guild_id, role_ids, names)
        except Exception:
            log.exception("access_check_failed")
            reason = "Tradewatch could not check your access just now; please try again."
        if reason is not None:
            event(log, "access_refused", **describe(interaction))
        else:  # allowed: now every option must have its declared type and bounds, before any query runs
            autocomplete = interaction.type is discord.InteractionType.autocomplete
            data = getattr(interaction, "data", None)
            reason = option_problem(interaction.command, data, autocomplete=autocomplete)
            if reason is None:
                return True
            event(log, "option_refused", reason=reason, **describe(interaction))
        if interaction.type is discord.InteractionType.autocomplete:
            with contextlib.suppress(discord.HTTPException):
                await interaction.response.autocomplete([])
        else:
            await send_private(interaction, reason)
        return False

    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError, /
    ) -> None:
        await handle_error(interaction, error)


class TradewatchBot(commands.Bot):
    """The Tradewatch bot process.

    Args:
        config: the loaded configuration.
        open_database: False for `sync-commands`, which only needs the command definitions.
        sync_guilds: register commands in each configured guild during setup (default from config).
        cog_modules: the command families to load.
    """

    def __init__(
        self,
        config: Config,
        *,
        open_database: bool = True,
        sync_guilds: bool | None = None,
        cog_modules: Sequence[str] | None = None,
        **options: Any,
    ) -> None:
        drop_malformed_gateway_frames()
        # The bot never joins voice: skip discord.py's warnings about missing voice libraries.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,  # required by commands.Bot; only slash commands are used
            intents=least_intents(),
            tree_cls=TradewatchTree,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            **options,
        )
        self.config = config
        self.access = AccessPolicy.from_config(config.discord)
        self.open_database = open_database
        self.sync_guilds = config.discord.sync_commands_on_start if sync_guilds is None else sync_guilds
        self.cog_modules = list(COG_MODULES if cog_modules is None else cog_modules)
        self._resources = contextlib.AsyncExitStack()
        self._app: App | None = None
        self.http_session: aiohttp.ClientSession | None = None
        self.commodities: CommoditySuggester | None = None
        self.countries: CountrySuggester | None = None
        self.health: dict[str, Any] = {}
        self._announced = False
        self._lag_task: asyncio.Task[None] | None = None
        self._preload_task: asyncio.Task[None] | None = None
        self._indexes_task: asyncio.Task[None] | None = None
        self._stopping = threading.Event()  # tells the preload thread to stop between modules
        self.command_slots = asyncio.Semaphore(MAX_RUNNING_COMMANDS)

    @property
    def app(self) -> App:
        if self._app is None:
            raise RuntimeError("the database is not open (setup_hook has not run)")
        return self._app

    @functools.cached_property
    def fetch_trade(self) -> OnDemandFetcher | None:
        """One fetcher for the process: it remembers which Comtrade questions came back empty.

        Made on first use (its importer modules are preloaded after connecting, not before).
        """
        from bot.trade_fetch import trade_fetcher

        return trade_fetcher(self.config)

    def command_context(self, session: Any) -> Context:
        """The Context a command runs with: this session, the shared lookups, the real clock."""
        return Context(
            session=session,
            lookups=self.app.lookups,
            now=utcnow,
            fetch_trade=self.fetch_trade,
            sync_settings=self.config.sync.sources(),
            focus=self.config.focus,
        )

    async def setup_hook(self) -> None:
        if self.open_database:
            self._app = await self._resources.enter_async_context(
                open_app(self.config, statement_timeout=self.config.database.statement_timeout_seconds)
            )
            self.http_session = aiohttp.ClientSession()
            self.countries = CountrySuggester(self.app.lookups)
        for module in self.cog_modules:
            await self.load_extension(module)
        if self.sync_guilds:
            await self.sync_configured_guilds()
        if self.open_database:
            self._lag_task = asyncio.create_task(watch_loop_lag(), name="tradewatch-loop-lag")

    async def indexes_ready(self) -> None:
        """Wait for the commodity autocomplete index and the health figures.

        They are loaded once the gateway is connected (on_connect), not before: reading and folding the HS
        nomenclature is a noticeable part of a cold start, and nobody can type before the bot is connected.
        Called before that (tests, a bot that never connects), it loads them now.
        """
        if self.open_database:
            await asyncio.shield(self._start_indexes())

    def _start_indexes(self) -> asyncio.Task[None]:
        if self._indexes_task is None:
            self._indexes_task = asyncio.create_task(self._load_indexes(), name="tradewatch-indexes")
        return self._indexes_task

    async def _load_indexes(self) -> None:
        async with self.app.sessions() as session:
            hs = await all_codes(session)
            sources = await loaded_sources(session)
        self.commodities = CommoditySuggester(self.app.lookups, [(e.code, e.description) for e in hs])
        self.health |= {
            "database": self.app.engine.dialect.name,
            "schema": await current_revision(self.app.engine),
            "hs_codes": len(hs),
            "freshness": {s.key: s.data_date or f"{s.snapshots} snapshot(s), no data date" for s in sources}
            or "no data loaded",
        }

    async def sync_configured_guilds(self) -> None:
        """Register the slash commands in each configured guild: they show up at once there."""
        guilds = [discord.Object(id=g.guild_id) for g in self.config.discord.guilds]
        if not guilds:
            event(
                log,
                "commands_not_synced",
                logging.WARNING,
                hint="no [[discord.guilds]] configured: run `tradewatch sync-commands` once to register globally",
            )
        for guild in guilds:
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            event(log, "commands_synced", guild=guild.id, commands=len(synced))

    async def on_connect(self) -> None:
        if not self.open_database:
            return
        self._start_indexes()
        if self._preload_task is None:
            self._preload_task = asyncio.create_task(self._preload(), name="tradewatch-preload")

    async def _preload(self) -> None:
        """Import the cogs' command modules once the start-up work is done (or after PRELOAD_WAIT_SECONDS).

        The name index (a cog's `warming` task) and the commodity index go first: imports in a thread hold
        the GIL and would slow them, and they are what the first keystrokes need.
        """
        first = [self._indexes_task, *(getattr(cog, "warming", None) for cog in self.cogs.values())]
        await asyncio.wait([t for t in first if t is not None], timeout=PRELOAD_WAIT_SECONDS)
        modules = [
            "bot.trade_fetch",
            *(m for ext in self.extensions.values() for m in getattr(ext, "PRELOAD", ())),
        ]
        await asyncio.to_thread(preload, modules, self._stopping)

    async def on_ready(self) -> None:
        if self._announced:  # on_ready fires again after a re-IDENTIFY; the health line is once per start
            event(log, "reconnected", guilds=len(self.guilds))
            return
        self._announced = True
        try:
            await self.indexes_ready()
        except Exception as exc:  # the database went away since setup_hook: run without commodity suggestions
            event(log, "indexes_failed", logging.ERROR, exc_info=exc, error=repr(exc)[:300])
        names = sorted(c.qualified_name for c in self.tree.walk_commands())
        event(
            log,
            "ready",
            user=str(self.user),
            guilds={g.id: g.name for g in self.guilds},
            commands=len(names),
            command_names=names,
            started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            **self.health,
        )

    async def close(self) -> None:
        self._stopping.set()
        try:
            await super().close()
        finally:
            tasks = [t for t in (self._lag_task, self._indexes_task, self._preload_task) if t is not None]
            for task in tasks:
                task.cancel()
            # Wait for them to end before the database closes: a query cancelled mid-flight still hands its
            # connection back (SQLAlchemy closes it in a task of its own). Left running, that close is
            # cancelled in turn when the event loop shuts down, and aiosqlite's close then never returns:
            # the process hung at exit.
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.http_session is not None:
                await self.http_session.close()
            await self._resources.aclose()
            event(log, "closed")


def preload(modules: Sequence[str], stopping: threading.Event) -> None:
    """Import the cogs' command modules (run in a thread, after connecting); a failure is logged, and the
    command that needs the module reports it when used. Stops early when the bot is closing, so that the
    process is not kept waiting for imports nobody will use."""
    started = time.perf_counter()
    for module in modules:
        if stopping.is_set():
            return
        try:
            importlib.import_module(module)
        except Exception:
            log.exception("preloading %s failed", module)
    event(log, "commands_preloaded", modules=len(modules), seconds=round(time.perf_counter() - started, 2))


async def watch_loop_lag(interval: float = 1.0, threshold: float = 0.5) -> None:
    """Log when the event loop was blocked (heartbeats and 3-second acknowledgements wait on it).

    Charts and searches run in threads; a warning here names a regression before Discord drops the bot.
    """
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(interval)
        lag = loop.time() - started - interval
        if lag > threshold:
            event(log, "event_loop_blocked", logging.WARNING, seconds=round(lag, 2))
