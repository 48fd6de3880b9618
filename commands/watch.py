"""`/watch add|list|remove|resume|test`: watch channels that post when a sanctions list changes.

`/watch schedule` (the brief on a schedule) is commands.watch_schedule; `/watch list` shows both.

Transport-free: the Discord cog (bot/cogs/watch.py) builds the params from the interaction (guild, channel,
user, options) and posts what `run_watch_test` returns. Filters are validated here, with suggestions, and
stored canonical (source keys, ISO2 country codes, entity kinds); see db.outbox for how they match.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from commands.alerts import delivery_reply
from commands.context import Context
from commands.errors import InvalidInput, NotFound
from commands.replies import Field, Reply
from commands.watch_schedule import listed_schedules, schedule_fields
from db.lookups import Lookups
from db.models import Watch
from db.outbox import (
    TYPE_GROUPS,
    ChangeFacts,
    canonical_type,
    load_facts,
    source_matches,
    watch_matches,
)
from db.queries.sources import import_holds, stored_source_keys
from db.queries.watch import (
    MAX_FILTER_TEXT,
    WatchFilters,
    create_watch,
    delete_watch,
    get_watch,
    last_changes,
    list_watches,
    resume_watch,
)
from db.sources import SOURCES, source_families, watchable_sources

MAX_KEYWORDS = 20
MAX_KEYWORD_LENGTH = 100  # longer than any listed name's distinctive part; bounds what each watch stores
_SPLIT = re.compile(r"[,;\n]+")


@dataclass(frozen=True)
class WatchAddParams:
    """Where the watch posts, who asks, and the raw filter texts (comma-separated lists, any may be empty)."""

    guild_id: int
    channel_id: int
    user_id: int | None = None
    sources: str | None = None
    countries: str | None = None
    keywords: str | None = None
    types: str | None = None


@dataclass(frozen=True)
class WatchRefParams:
    """A watch by its number, in a guild (for remove, resume and test)."""

    guild_id: int
    watch_id: int


@dataclass(frozen=True)
class WatchListParams:
    """A guild's watches (every guild's: None, on the command line), optionally one channel's."""

    guild_id: int | None
    channel_id: int | None = None


@dataclass(frozen=True)
class WatchTest:
    """What `/watch test` does: post `sample` in `channel_id`, then tell the asker `confirmation`."""

    channel_id: int
    sample: Reply
    confirmation: Reply


def _items(text: str | None, what: str = "filter") -> list[str]:
    """The comma-separated items of a filter; a filter given but holding no item (spaces, commas) is refused.

    Refusing it matters: an empty filter means "anything", so `keywords: "   "` would silently watch all.
    """
    if text is None:
        return []
    if not isinstance(text, str) or len(text) > MAX_FILTER_TEXT:
        raise InvalidInput(
            f"The {what} filter must be text of at most {MAX_FILTER_TEXT} characters.",
            "Separate values with commas.",
        )
    items = [part.strip() for part in _SPLIT.split(text) if part.strip()]
    if not items:
        raise InvalidInput(
            f"The {what} filter is empty (only spaces or commas).",
            f"Leave {what} out to match any, or give values separated by commas.",
        )
    return items


async def _known_sources(ctx: Context) -> list[str]:
    # The list sources, plus any dataset-specific source an import created (e.g. one OpenSanctions dataset).
    stored = (await stored_source_keys(ctx.session)).values()
    return sorted(set(watchable_sources()) | {k for k in stored if k not in SOURCES})


async def parse_sources(ctx: Context, text: str | None) -> tuple[str, ...]:
    """Source keys (or `ofac`) from `ofac_sdn, csl`; InvalidInput naming the known ones otherwise."""
    known = await _known_sources(ctx)
    families = source_families()
    out: list[str] = []
    for word in (w.lower() for part in _items(text, "sources") for w in part.split()):
        if word not in known and word not in families:
            close = difflib.get_close_matches(word, [*known, *families], n=3)
            hint = f"Did you mean {', '.join(close)}? " if close else ""
            raise InvalidInput(
                f"Unknown source {word!r}.", f"{hint}Sources: {', '.join([*families, *known])}."
            )
        if word not in out:
            out.append(word)
    return tuple(out)


def parse_countries(lookups: Lookups, text: str | None) -> tuple[str, ...]:
    """ISO2 codes from names or codes: `Hong Kong, China` or `HK CN`."""
    out: list[str] = []
    for part in _items(text, "countries"):
        found = lookups.country(part)
        candidates = [found] if found else [lookups.country(w) for w in part.split()]
        if not candidates or any(c is None for c in candidates):
            raise InvalidInput(
                f"Unknown country {part!r}.",
                "Use ISO codes or names separated by commas, e.g. `HK, CN` or `Hong Kong, China`.",
            )
        for country in candidates:
            assert country is not None
            if not country.iso2:
                raise InvalidInput(
                    f"{country.name} has no ISO country code, so lists cannot name it.",
                    "Pick a country with an ISO code.",
                )
            if country.iso2.upper() not in out:
                out.append(country.iso2.upper())
    return tuple(out)


def parse_keywords(text: str | None) -> tuple[str, ...]:
    """Keywords separated by commas (a keyword may hold spaces: `sinno electronics`)."""
    words = list(dict.fromkeys(" ".join(k.split()) for k in _items(text, "keywords")))
    if any(len(w) < 2 for w in words):
        raise InvalidInput("Each keyword needs at least 2 characters.", "Separate keywords with commas.")
    if any(len(w) > MAX_KEYWORD_LENGTH for w in words):
        raise InvalidInput(
            f"Each keyword may have at most {MAX_KEYWORD_LENGTH} characters.",
            "Use a distinctive part of the name, e.g. `sinno electronics`.",
        )
    if len(words) > MAX_KEYWORDS:
        raise InvalidInput(f"At most {MAX_KEYWORDS} keywords per watch.", "Add a second watch for more.")
    return tuple(words)


def parse_types(text: str | None) -> tuple[str, ...]:
    """Entity kinds from `person, company, vessel` (canonical names)."""
    out: list[str] = []
    for word in (w for part in _items(text, "types") for w in part.split()):
        kind = canonical_type(word)
        if kind is None:
            raise InvalidInput(f"Unknown entity type {word!r}.", f"Types: {', '.join(TYPE_GROUPS)}.")
        if kind not in out:
            out.append(kind)
    return tuple(out)


def describe_filters(filters: WatchFilters) -> str:
    """One line: `sources ofac_sdn · countries HK, CN · keywords any · types any`."""

    def show(values: tuple[str, ...]) -> str:
        return ", ".join(values) if values else "any"

    return (
        f"sources {show(filters.sources)} · countries {show(filters.countries)} · "
        f"keywords {show(filters.keywords)} · types {show(filters.types)}"
    )


def _channel(channel_id: int) -> str:
    return f"<#{channel_id}>"  # Discord shows a channel link


async def run_watch_add(ctx: Context, params: WatchAddParams) -> Reply:
    """Add a watch for a channel (the caller commits the session).

    Raises:
        InvalidInput: a filter names an unknown source, country or type, or the same watch exists.
    """
    filters = WatchFilters(
        sources=await parse_sources(ctx, params.sources),
        countries=parse_countries(ctx.lookups, params.countries),
        keywords=parse_keywords(params.keywords),
        types=parse_types(params.types),
    )
    watch, created = await create_watch(
        ctx.session,
        guild_id=params.guild_id,
        channel_id=params.channel_id,
        filters=filters,
        created_by=params.user_id,
        now=ctx.now(),
    )
    if not created:
        raise InvalidInput(
            f"Watch #{watch.id} already posts these changes in this channel.",
            "Use /watch list to see the channel's watches.",
        )
    return Reply(
        title=f"Watch #{watch.id} added",
        summary=[
            f"New changes matching {describe_filters(filters)} will be posted in {_channel(params.channel_id)}.",
            f"A burst of more than a few changes at once arrives as one digest with a CSV of every entry. "
            f"Try it with /watch test watch:{watch.id}.",
        ],
        numbers={"watch_id": watch.id, "channel_id": params.channel_id, **filters.as_columns()},
        ephemeral=True,
    )


async def run_watch_list(ctx: Context, params: WatchListParams) -> Reply:
    """The guild's watches (or one channel's) with their filters, status and alert counts."""
    summaries = await list_watches(ctx.session, params.guild_id, params.channel_id)
    if not summaries:
        return Reply(
            title="No watches", summary=["Add one with /watch add."], ephemeral=True, numbers={"watches": []}
        )
    fields = []
    for s in summaries:
        w = s.watch
        state = f"PAUSED: {w.paused_reason}" if w.paused else "active"
        last = f", last posted {s.last_delivered_at:%Y-%m-%d %H:%M} UTC" if s.last_delivered_at else ""
        fields.append(
            Field(
                f"Watch #{w.id} in {_channel(w.channel_id)} ({state})",
                f"{describe_filters(WatchFilters.of(w))}\nalerts: {s.sent} posted, {s.pending} waiting, "
                f"{s.failed} failed{last}",
            )
        )
    fields += await schedule_fields(ctx, params.guild_id, params.channel_id)
    holds = await import_holds(ctx.session)
    return Reply(
        title=f"{len(summaries)} watch{'es' if len(summaries) != 1 else ''}",
        summary=(
            [
                "A paused watch posts nothing and records no new changes until /watch resume; "
                "the alerts it had waiting are kept and posted then. A channel whose watches are all paused "
                "gets no scheduled brief either."
            ]
            if any(s.watch.paused for s in summaries)
            else []
        )
        + [
            f"Update held: {h.source_key} ({h.file_name}): {h.reason}. No alert was sent for it; /sources says "
            "how to apply it once the publisher is checked."
            for h in holds.values()
        ],
        fields=fields,
        numbers={
            "held": sorted(holds),
            "watches": [
                {
                    "id": s.watch.id,
                    "channel_id": s.watch.channel_id,
                    "paused": s.watch.paused,
                    "sent": s.sent,
                    "pending": s.pending,
                    "failed": s.failed,
                }
                for s in summaries
            ],
            "briefs": await listed_schedules(ctx, params.guild_id, params.channel_id),
        },
        ephemeral=True,
    )


async def _watch(ctx: Context, params: WatchRefParams) -> Watch:
    watch = await get_watch(ctx.session, params.watch_id, params.guild_id)
    if watch is None:
        raise NotFound(f"There is no watch #{params.watch_id} in this server.", hint="See /watch list.")
    return watch


async def run_watch_remove(ctx: Context, params: WatchRefParams) -> Reply:
    """Remove a watch and its alerts not yet posted (the caller commits)."""
    watch = await _watch(ctx, params)
    channel_id = watch.channel_id
    await delete_watch(ctx.session, watch.id, params.guild_id)
    return Reply(
        title=f"Watch #{params.watch_id} removed",
        summary=[f"Nothing more will be posted for it in {_channel(channel_id)}."],
        numbers={"watch_id": params.watch_id},
        ephemeral=True,
    )


async def run_watch_resume(ctx: Context, params: WatchRefParams) -> Reply:
    """Resume a paused watch: its held alerts and new ones are posted again (the caller commits)."""
    watch = await _watch(ctx, params)
    if not watch.paused:
        raise InvalidInput(f"Watch #{watch.id} is not paused.", "See /watch list.")
    reason = watch.paused_reason
    await resume_watch(ctx.session, watch)
    return Reply(
        title=f"Watch #{watch.id} resumed",
        summary=[
            f"It had been paused because {reason}.",
            "The alerts it had waiting are posted now, and new changes alert again "
            "(changes detected while it was paused were not recorded for it). If Discord refuses again, "
            "it pauses again.",
        ],
        numbers={"watch_id": watch.id},
        ephemeral=True,
    )


async def _sample_change(ctx: Context, watch: Watch) -> int | None:
    """The last real change this watch would have posted, else the last one of its sources."""
    stored = await stored_source_keys(ctx.session)
    source_ids = [i for i, key in stored.items() if not watch.sources or source_matches(watch.sources, key)]
    changes = await last_changes(ctx.session, source_ids)
    if not changes:
        return None
    facts: list[ChangeFacts] = await load_facts(ctx.session, changes)
    matching = next((f.change_id for f in facts if watch_matches(watch, f)), None)
    return matching or changes[0].id


async def run_watch_test(ctx: Context, params: WatchRefParams) -> WatchTest:
    """A sample alert for a watch, built from the last real change of its sources and labelled TEST.

    Raises:
        NotFound: no such watch, or no change of its sources has been detected yet.
    """
    watch = await _watch(ctx, params)
    change_id = await _sample_change(ctx, watch)
    if change_id is None:
        raise NotFound(
            "No change has been detected yet in this watch's sources, so there is nothing to show.",
            ["Changes appear from the second snapshot of a source on (see /sources)."],
        )
    sample = await delivery_reply(ctx.session, [change_id], digest=False, lookups=ctx.lookups, test=True)
    assert sample is not None
    confirmation = Reply(
        title=f"Test alert posted for watch #{watch.id}",
        summary=[
            f"A sample (marked TEST) built from the last change of its sources was posted in "
            f"{_channel(watch.channel_id)}.",
            "No alert was used up: real ones still arrive as usual.",
        ],
        numbers={"watch_id": watch.id, "change_id": change_id},
        ephemeral=True,
    )
    return WatchTest(watch.channel_id, sample, confirmation)
