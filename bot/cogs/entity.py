"""/entity: fuzzy, cross-script lookup of listed and curated entities (with a network chart when linked).

The command's logic (followthemoney's model) and the name index (numpy, rapidfuzz, rigour) are imported
when first used, not with the cog: the bot registers its commands and connects first (bot/client.py
preloads PRELOAD right after that), and the index warms once the gateway is connected.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord
from discord import Interaction, app_commands
from discord.ext import commands

from bot.client import TradewatchBot
from bot.cogs import answer, country_choices
from bot.errors import database_outage
from bot.logs import event
from commands.context import Context
from commands.replies import Reply

if TYPE_CHECKING:
    from commands.screen_table import ScreenParams

log = logging.getLogger(__name__)

PRELOAD = (
    "commands.entity",
    "commands.entity_params",
    "commands.errors",
    "commands.screen",
    "commands.screen_table",
    "db.search.cache",
    "db.search.service",
)

# Autocomplete must answer within Discord's 3 seconds; past this the user just gets no suggestions.
SUGGEST_SECONDS = 1.5
FRESHNESS_SECONDS = 60.0
TYPES = [app_commands.Choice(name=name, value=name) for name in ("person", "company", "vessel", "aircraft")]


class EntityCog(commands.Cog):
    """Sanctions lists, the screening list, OpenSanctions and the team's curated files."""

    def __init__(self, bot: TradewatchBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        if not self.bot.open_database:  # `sync-commands` only needs the definitions
            return
        # Build the name index in the background: at a million names it takes seconds, and the bot must
        # reach Discord first. The first /entity waits for the same build (the index holder's lock).
        # It starts once the gateway is connected (on_connect) so that reading a million names never
        # competes with the start-up itself; index_ready() starts it at once.
        self._connected = asyncio.Event()
        self._warm_task = asyncio.create_task(self._warm())
        self._stopping = asyncio.Event()
        self._fresh_task = asyncio.create_task(self._keep_fresh())

    async def cog_unload(self) -> None:
        # Let a running build finish rather than cancel it mid-query: cancelling a task inside an aiosqlite
        # call while the engine closes can hang the shutdown. A build past a minute is cancelled.
        if hasattr(self, "_stopping"):
            self._stopping.set()
            if not self._connected.is_set():  # stopped before the gateway connected: nothing to wait for
                self._warm_task.cancel()
        tasks = [t for t in (getattr(self, "_warm_task", None), getattr(self, "_fresh_task", None)) if t]
        if any(not t.done() for t in tasks):
            _, pending = await asyncio.wait(tasks, timeout=60)
            for stuck in pending:
                stuck.cancel()

    @property
    def warming(self) -> asyncio.Task[None] | None:
        """The start-up warm of the name index (bot/client.py preloads the command modules after it)."""
        return getattr(self, "_warm_task", None)

    @commands.Cog.listener()
    async def on_connect(self) -> None:
        if hasattr(self, "_connected"):
            self._connected.set()

    async def index_ready(self) -> None:
        """Wait for the start-up build of the name index (tests and callers that need it built); start it now
        if the gateway has not connected yet."""
        task = getattr(self, "_warm_task", None)
        if task is not None:
            self._connected.set()
            await asyncio.wait([task])

    async def _warm(self) -> None:
        await self._connected.wait()
        try:
            from db.search.cache import INDEX_FOLDER, warm_index_cached

            # Read back from the data folder when saved for exactly this database content (a million names:
            # milliseconds instead of seconds of CPU), else built and saved for the next start.
            folder = self.bot.config.cache_dir / INDEX_FOLDER
            names, from_disk = await warm_index_cached(self.bot.app.sessions, folder)
            self.bot.health["entity_names"] = names
            event(log, "entity_index_ready", names=names, source="saved" if from_disk else "built")
        except Exception:  # the first /entity retries the build and reports its own error
            log.exception("building the name index at start failed")

    async def _keep_fresh(self) -> None:
        """Check the lists' version every minute, so that after a sync the index is rebuilt (and saved for the
        next start) before anyone asks, not by the first /entity after it."""
        await self._warm_task
        while True:
            try:
                await asyncio.wait_for(self._stopping.wait(), FRESHNESS_SECONDS)
                return
            except TimeoutError:
                pass
            try:
                from db.search.service import get_index

                async with self.bot.app.sessions() as session:
                    await get_index(session)
            except Exception as exc:  # the database is away: the next check (or /entity) tries again
                log.debug("name index freshness check failed: %s", exc)

    async def name_choices(
        self, interaction: Interaction[TradewatchBot], current: str
    ) -> list[app_commands.Choice[str]]:
        """Listed names (original script) matching what has been typed so far."""
        from db.search.service import suggest_names

        try:
            async with self.bot.app.sessions() as session:
                names = await asyncio.wait_for(suggest_names(session, current, limit=25), SUGGEST_SECONDS)
        except TimeoutError:
            event(log, "autocomplete_slow", logging.WARNING, command="entity", typed_chars=len(current))
            return []
        except Exception as exc:
            if not database_outage(exc):
                raise
            # No suggestions while the database restarts (discord.py would log an error and answer nothing).
            event(
                log,
                "database_unavailable",
                logging.WARNING,
                command="entity autocomplete",
                error=repr(exc)[:300],
            )
            return []
        return [app_commands.Choice(name=n[:100], value=n[:100]) for n in names[:25]]

    @app_commands.command(name="entity")
    @app_commands.describe(
        name="Company, person or vessel name, in any script (Poly Group, Сибирь, 华为); word order does not matter.",
        country="Only entities linked to this country (name or ISO code).",
        list_term="Only listings whose list or programme contains this word (SDN, Entity List, RUSSIA-EO14024).",
        entity_type="Only this kind of entity.",
    )
    @app_commands.rename(list_term="list", entity_type="type")
    @app_commands.autocomplete(name=name_choices, country=country_choices)
    @app_commands.choices(entity_type=TYPES)
    @app_commands.guild_only()
    async def entity(
        self,
        interaction: Interaction[TradewatchBot],
        name: str,
        country: str | None = None,
        list_term: str | None = None,
        entity_type: app_commands.Choice[str] | None = None,
    ) -> None:
        """Who is this? Listings, aliases, identifiers, owners and shipments, with sources."""
        options = EntityOptions(name, country, list_term, entity_type.value if entity_type else None)
        await answer(interaction, _run_entity, options)

    @app_commands.command(name="screen")
    @app_commands.describe(
        file="A CSV or XLSX sheet with one name per row (up to 5,000 rows, 8 MB).",
        name_column="The column of names (default: name).",
        country_column="A column of countries to compare with the lists' (default: country, if there is one).",
        all_candidates="One result row per candidate that reaches a possible match, not only the best.",
    )
    @app_commands.guild_only()
    async def screen(
        self,
        interaction: Interaction[TradewatchBot],
        file: discord.Attachment,
        name_column: str | None = None,
        country_column: str | None = None,
        all_candidates: bool = False,
    ) -> None:
        """Screen every name of a sheet against the lists; the verdicts come back as a CSV."""
        from commands.screen_table import MAX_ROWS, ScreenParams, check_size  # light: pandas comes later

        check_size(file.size, file.filename)  # refused before anything is downloaded

        async def read() -> bytes:
            return await download(file)

        settings = self.bot.config.screen
        params = ScreenParams(
            file.filename,
            read,
            name_column,
            country_column,
            all_candidates,
            settings.match_score,
            settings.possible_score,
            MAX_ROWS,
        )
        await answer(interaction, _run_screen, params)


@dataclass(frozen=True)
class EntityOptions:
    """/entity's options as typed; checked after the acknowledgement (see _run_entity)."""

    name: str
    country: str | None
    list_term: str | None
    entity_type: str | None


async def _run_entity(ctx: Context, options: EntityOptions) -> Reply:
    """Imported after the interaction is acknowledged: the first import (followthemoney, the search) can
    take seconds on a loaded machine, past Discord's 3 s. Bad options are answered privately all the same
    (bot/errors.py removes the public "thinking…" placeholder)."""
    from commands.entity import run_entity
    from commands.entity_params import EntityParams

    params = EntityParams.build(
        options.name,
        ctx.lookups,
        country=options.country,
        list_term=options.list_term,
        entity_type=options.entity_type,
    )
    return await run_entity(ctx, params)


async def _run_screen(ctx: Context, params: ScreenParams) -> Reply:
    """Imported after the interaction is acknowledged: the first import (pandas, the search) takes a moment."""
    from commands.screen import run_screen

    return await run_screen(ctx, params)


async def download(file: discord.Attachment) -> bytes:
    """The attachment's bytes, at most the size Discord announced (checked against the limit before).

    Raises:
        TemporarilyUnavailable: Discord's file server failed; sending the file again may work.
        InvalidInput: the download is larger than announced and over the limit.
    """
    from commands.errors import TemporarilyUnavailable
    from commands.screen_table import check_size

    try:
        data = await file.read()
    except discord.HTTPException as exc:
        event(log, "attachment_download_failed", logging.WARNING, status=exc.status)
        raise TemporarilyUnavailable(
            "Could not download the file from Discord.", "Send it again in a minute."
        ) from exc
    check_size(len(data), file.filename)
    return data


async def setup(bot: TradewatchBot) -> None:
    await bot.add_cog(EntityCog(bot))
