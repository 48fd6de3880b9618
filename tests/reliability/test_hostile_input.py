"""Hostile arguments to every command, in-process, on a database loaded from the real files.

For each command, hypothesis draws arguments from tests/reliability/hostile.py and runs them two ways:

- the Discord path: the params dataclass the cog builds from its typed options, the command's `run`, and
  `bot.render` (or `render_text` for a refusal), exactly what bot/cogs/* do;
- the text path: the same values typed as one line through `commands.registry.run_text` (the CLI's `ask`).

Only CommandError subclasses may come out; whatever is sent must pass the stand-in's validator of Discord's
limits, ping nobody and show mentions as text. At the end every table is exactly as it was: nothing the
arguments said was executed. Hypothesis runs derandomized (the same examples every run) and bounded; the
PostgreSQL run replays a fixed table of hostile values (the same code, another SQL dialect).
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from commands.context import Context
from commands.entity import EntityParams, run_entity
from commands.exports import ExportsParams, run_exports
from commands.help import HelpParams, run_help
from commands.hs import HsParams, run_hs
from commands.registry import run_text
from commands.replies import Reply
from commands.sources import SourcesParams, run_sources
from commands.top import TopPartnersParams, run_top_partners
from commands.top_goods import TopGoodsParams, run_top_goods
from commands.watch import WatchAddParams, WatchListParams, run_watch_add, run_watch_list
from db.engine import make_engine, make_sessionmaker
from db.lookups import Lookups
from db.models import Base
from db.search.service import warm_index
from tests.reliability.hostile import (
    LONG,
    MENTIONS,
    PIECES,
    SQL,
    TYPED_ONLY,
    answer_of,
    assert_discord_safe,
    hostile,
    maybe_hostile,
    typed,
)
from tests.reliability.stack import clone_database, discard_database

T = TypeVar("T")
EXAMPLES = 40
SLOW_EXAMPLES = 15  # commodity and partner resolution: a fuzzy pass over 7,000 HS descriptions each
BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
years = st.none() | st.integers(1990, 2035)
flows = st.sampled_from([None, "exports", "imports"])
types = st.sampled_from([None, "person", "company", "vessel", "aircraft"])


async def fingerprint(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Rows per table: what a successful injection (DROP, DELETE, INSERT) would change."""
    async with sessions() as session:
        return {
            table.name: int((await session.execute(select(func.count()).select_from(table))).scalar_one())
            for table in Base.metadata.sorted_tables
        }


@dataclass
class Harness:
    """A clone of the loaded database, opened on an event loop of this module's own (hypothesis is sync)."""

    backend: str
    loop: asyncio.AbstractEventLoop
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    lookups: Lookups
    before: dict[str, int]

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def answer(self, command: Callable[[Context], Awaitable[Reply]]) -> dict[str, Any]:
        """What the bot would send for `command` run in a fresh session (rolled back)."""

        async def go() -> dict[str, Any]:
            async with self.sessions() as session:
                return await answer_of(_call(command, Context(session, self.lookups)))

        return self.run(go())

    def text(self, line: str) -> dict[str, Any]:
        return self.answer(lambda ctx: run_text(ctx, line))


@pytest.fixture(scope="module")
def harness(loaded_url: str, tmp_path_factory: pytest.TempPathFactory, lookups: Lookups) -> Iterator[Harness]:
    loop = asyncio.new_event_loop()
    url = loop.run_until_complete(clone_database(loaded_url, tmp_path_factory.mktemp("hostile")))
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    loop.run_until_complete(warm_index(sessions))
    h = Harness(
        engine.dialect.name, loop, engine, sessions, lookups, loop.run_until_complete(fingerprint(sessions))
    )
    try:
        yield h
    finally:
        loop.run_until_complete(engine.dispose())
        loop.run_until_complete(discard_database(url))
        loop.close()


@pytest.fixture
def sqlite_harness(harness: Harness) -> Harness:
    if harness.backend != "sqlite":
        pytest.skip(
            "hypothesis runs on SQLite; PostgreSQL replays the fixed table (test_fixed_hostile_values)"
        )
    return harness


def q(value: str) -> str:
    return shlex.quote(value)


def both_paths(h: Harness, discord_path: Callable[[Context], Awaitable[Reply]], line: str) -> None:
    assert_discord_safe(h.answer(discord_path))
    assert_discord_safe(h.text(line))


@settings(BOUNDED, max_examples=SLOW_EXAMPLES)
@given(commodity=hostile, partner=hostile, year=years, reporter=maybe_hostile, flow=flows)
def test_exports(
    sqlite_harness: Harness,
    commodity: str,
    partner: str,
    year: int | None,
    reporter: str | None,
    flow: str | None,
) -> None:
    h = sqlite_harness

    def build(ctx: Context) -> Awaitable[Reply]:
        params = ExportsParams.build(
            commodity=commodity, partner=partner, year=year, reporter=reporter, flow=flow, lookups=h.lookups
        )
        return run_exports(ctx, params)

    line = f"/exports {q(commodity)} {q(partner)} {year or ''} reporter={q(reporter or 'CN')}"
    both_paths(h, build, line)


@settings(BOUNDED, max_examples=SLOW_EXAMPLES)
@given(commodity=hostile, partner=hostile, year=years, reporter=maybe_hostile, flow=flows)
def test_top_partners_and_goods(
    sqlite_harness: Harness,
    commodity: str,
    partner: str,
    year: int | None,
    reporter: str | None,
    flow: str | None,
) -> None:
    h = sqlite_harness

    def partners(ctx: Context) -> Awaitable[Reply]:
        params = TopPartnersParams.build(
            commodity=commodity, year=year, reporter=reporter, flow=flow, lookups=h.lookups
        )
        return run_top_partners(ctx, params)

    def goods(ctx: Context) -> Awaitable[Reply]:
        params = TopGoodsParams.build(
            partner=partner, year=year, reporter=reporter, flow=flow, lookups=h.lookups
        )
        return run_top_goods(ctx, params)

    both_paths(h, partners, f"/top partners {q(commodity)} {year or ''}")
    both_paths(h, goods, f"/top goods {q(partner)} {year or ''}")


@settings(BOUNDED, max_examples=SLOW_EXAMPLES)
@given(query=hostile)
def test_hs(sqlite_harness: Harness, query: str) -> None:
    h = sqlite_harness
    both_paths(h, lambda c: run_hs(c, HsParams.build(query=query, lookups=h.lookups)), f"/hs {q(query)}")


@BOUNDED
@given(name=hostile, country=maybe_hostile, list_term=maybe_hostile, entity_type=types)
def test_entity(
    sqlite_harness: Harness, name: str, country: str | None, list_term: str | None, entity_type: str | None
) -> None:
    h = sqlite_harness

    def build(ctx: Context) -> Awaitable[Reply]:
        params = EntityParams.build(
            name, h.lookups, country=country, list_term=list_term, entity_type=entity_type
        )
        return run_entity(ctx, params)

    line = f"/entity {q(name)}" + (f" list={q(list_term)}" if list_term else "")
    both_paths(h, build, line)


@BOUNDED
@given(
    line=typed,
    prefix=st.sampled_from(["/", "/entity ", "/exports ", "/top ", "/hs ", "/help ", "/sources ", ""]),
)
def test_any_typed_line(sqlite_harness: Harness, line: str, prefix: str) -> None:
    """Whatever is typed after `tradewatch ask` (unbalanced quotes, unknown commands, options with junk)."""
    assert_discord_safe(sqlite_harness.text(prefix + line))


@BOUNDED
@given(sources=maybe_hostile, countries=maybe_hostile, keywords=maybe_hostile, kinds=maybe_hostile)
def test_watch_filters_are_stored_as_text_and_listed_safely(
    sqlite_harness: Harness,
    sources: str | None,
    countries: str | None,
    keywords: str | None,
    kinds: str | None,
) -> None:
    """/watch add stores what it accepts (rolled back here); /watch list shows it back without pinging."""
    h = sqlite_harness

    async def go() -> list[dict[str, Any]]:
        async with h.sessions() as session:
            ctx = Context(session, h.lookups)
            params = WatchAddParams(1, 2, 3, sources, countries, keywords, kinds)
            added = await answer_of(run_watch_add(ctx, params))
            listed = await answer_of(run_watch_list(ctx, WatchListParams(1)))
            await session.rollback()
            return [added, listed]

    for message in h.run(go()):
        assert_discord_safe(message)


async def _call(command: Callable[[Context], Awaitable[Reply]], ctx: Context) -> Reply:
    """Build the params inside the awaited call, so a refusal while building is answered like the cog does."""
    return await command(ctx)


# On PostgreSQL: the injection and mention values, and the long ones (hypothesis covers the rest on SQLite).
FIXED = SQL + MENTIONS + [LONG[0], LONG[-1], "\u202e\u200b\x00"]


@pytest.mark.parametrize("value", FIXED, ids=[f"v{i}" for i in range(len(FIXED))])
def test_fixed_hostile_values(harness: Harness, value: str) -> None:
    """Every fixed hostile value in every argument of every command."""
    h = harness
    if h.backend == "sqlite":
        pytest.skip("SQLite runs the hypothesis tests, whose examples include these values")
    lk = h.lookups
    checks: list[Callable[[Context], Awaitable[Reply]]] = [
        lambda x: run_exports(x, ExportsParams.build(commodity=value, partner=value, lookups=lk)),
        lambda x: run_exports(x, ExportsParams.build(commodity="graphite", partner="RU", reporter=value, lookups=lk)),
        lambda x: run_top_partners(x, TopPartnersParams.build(commodity=value, lookups=lk)),
        lambda x: run_top_goods(x, TopGoodsParams.build(partner=value, lookups=lk)),
        lambda x: run_hs(x, HsParams.build(query=value, lookups=lk)),
        lambda x: run_entity(x, EntityParams.build(value, lk)),
        lambda x: run_entity(x, EntityParams.build("Poly Group", lk, country=value, list_term=value)),
        lambda x: run_help(x, HelpParams(value)),
        lambda x: run_sources(x, SourcesParams((value,))),
    ]  # fmt: skip
    for check in checks:
        assert_discord_safe(h.answer(check))
    for line in (f"/entity {q(value)}", f"/exports {q(value)} RU", f"/hs {value}", "/" + value):
        assert_discord_safe(h.text(line))


@pytest.mark.parametrize("value", TYPED_ONLY)
def test_undecodable_terminal_bytes_are_refused_politely(harness: Harness, value: str) -> None:
    """A lone surrogate (a non-UTF-8 terminal) used to crash `tradewatch ask /entity ...` with a traceback."""
    for line in (f"/entity Poly{value}", f"/hs {value}", f"/exports {q(value)} RU", f"/top goods {q(value)}"):
        assert_discord_safe(harness.text(line))


def test_nothing_the_arguments_said_was_executed(harness: Harness) -> None:
    """Runs after the others in this module: every table has exactly the rows it had before them."""
    assert harness.run(fingerprint(harness.sessions)) == harness.before
    assert harness.before["entities"] > 1000 and harness.before["trade_flows"] > 1000


def test_the_hostile_values_cover_what_the_issue_lists() -> None:
    joined = "".join(PIECES + TYPED_ONLY)
    for needle in ("DROP TABLE", "@everyone", "<@&", "**", "\u202e", "\u200b", "\x00", "\x1b", "\ud800"):
        assert needle in joined
    assert any(len(v) >= 10_000 for v in LONG)
