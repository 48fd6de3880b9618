"""`/watch` logic without Discord: filter parsing, add / list / remove / resume, and the test sample."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from commands.context import Context
from commands.errors import InvalidInput, NotFound
from commands.watch import (
    WatchAddParams,
    WatchListParams,
    WatchRefParams,
    parse_countries,
    parse_keywords,
    parse_sources,
    parse_types,
    run_watch_add,
    run_watch_list,
    run_watch_remove,
    run_watch_resume,
    run_watch_test,
)
from db.lookups import Lookups
from db.queries.watch import pause_channel
from tests.db.watch_seed import NOW, add_change, add_entity, seed_source


@pytest.fixture
def ctx(session: AsyncSession, lookups: Lookups) -> Context:
    return Context(session=session, lookups=lookups, now=lambda: NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HK, CN", ("HK", "CN")),
        ("Hong Kong, China", ("HK", "CN")),
        ("hk cn", ("HK", "CN")),
        ("Türkiye", ("TR",)),
        (None, ()),
    ],
)
def test_parse_countries(lookups: Lookups, text: str | None, expected: tuple[str, ...]) -> None:
    assert parse_countries(lookups, text) == expected


def test_parse_countries_refuses_unknown(lookups: Lookups) -> None:
    with pytest.raises(InvalidInput, match="Unknown country 'Atlantis'"):
        parse_countries(lookups, "HK, Atlantis")


def test_parse_keywords_and_types() -> None:
    assert parse_keywords("Sinno  Electronics, chip, chip") == ("Sinno Electronics", "chip")
    assert parse_types("person, companies vessel") == ("person", "organization", "vessel")
    with pytest.raises(InvalidInput, match="Unknown entity type 'spaceship'"):
        parse_types("spaceship")
    with pytest.raises(InvalidInput, match="at least 2 characters"):
        parse_keywords("a, bc")
    with pytest.raises(InvalidInput, match="at most 100 characters"):
        parse_keywords("chip, " + "x" * 101)


@pytest.mark.parametrize("text", ["", "   ", " , ;\n ", "\t"])
def test_a_filter_of_only_spaces_or_commas_is_refused_not_read_as_any(lookups: Lookups, text: str) -> None:
    """An empty filter means "any": a value that holds nothing must not silently watch everything."""
    for parse in (parse_keywords, parse_types, lambda t: parse_countries(lookups, t)):
        with pytest.raises(InvalidInput, match="filter is empty"):
            parse(text)


def test_a_filter_that_is_not_text_is_refused(lookups: Lookups) -> None:
    for value in (123, ["chip"], {"a": 1}, "x" * 1001):
        with pytest.raises(InvalidInput, match="must be text of at most 1000"):
            parse_keywords(value)  # type: ignore[arg-type]


async def test_parse_sources(ctx: Context) -> None:
    assert await parse_sources(ctx, "ofac, CSL") == ("ofac", "csl")
    with pytest.raises(InvalidInput) as err:
        await parse_sources(ctx, "ofac_sdm")
    assert "Did you mean ofac_sdn" in err.value.user_text()


async def test_add_list_remove(ctx: Context) -> None:
    params = WatchAddParams(
        guild_id=1, channel_id=55, user_id=9, sources="ofac_sdn", countries="Hong Kong, CN"
    )
    added = await run_watch_add(ctx, params)
    watch_id = added.numbers["watch_id"]
    assert added.ephemeral and added.title == f"Watch #{watch_id} added"
    assert "sources ofac_sdn · countries HK, CN · keywords any · types any" in added.summary[0]
    with pytest.raises(InvalidInput, match="already posts these changes"):
        await run_watch_add(ctx, params)
    listed = await run_watch_list(ctx, WatchListParams(guild_id=1))
    assert listed.numbers["watches"] == [
        {"id": watch_id, "channel_id": 55, "paused": False, "sent": 0, "pending": 0, "failed": 0}
    ]
    assert (await run_watch_list(ctx, WatchListParams(guild_id=2))).title == "No watches"
    with pytest.raises(NotFound):
        await run_watch_remove(ctx, WatchRefParams(guild_id=2, watch_id=watch_id))  # another server's watch
    await run_watch_remove(ctx, WatchRefParams(guild_id=1, watch_id=watch_id))
    assert (await run_watch_list(ctx, WatchListParams(guild_id=1))).numbers["watches"] == []


async def test_resume_a_paused_watch(ctx: Context) -> None:
    watch_id = (await run_watch_add(ctx, WatchAddParams(guild_id=1, channel_id=55))).numbers["watch_id"]
    with pytest.raises(InvalidInput, match="is not paused"):
        await run_watch_resume(ctx, WatchRefParams(1, watch_id))
    await pause_channel(ctx.session, 55, "channel 55 no longer exists (Discord 404 10003)", NOW)
    listed = await run_watch_list(ctx, WatchListParams(guild_id=1))
    assert "PAUSED: channel 55 no longer exists" in listed.fields[0].name
    resumed = await run_watch_resume(ctx, WatchRefParams(1, watch_id))
    assert "It had been paused because channel 55 no longer exists (Discord 404 10003)." in resumed.summary


async def test_test_sample_prefers_a_change_the_watch_matches(ctx: Context) -> None:
    watch_id = (await run_watch_add(ctx, WatchAddParams(guild_id=1, channel_id=55, countries="HK"))).numbers[
        "watch_id"
    ]
    with pytest.raises(NotFound, match="No change has been detected yet"):
        await run_watch_test(ctx, WatchRefParams(1, watch_id))
    seed = await seed_source(ctx.session)
    hk = await add_change(
        ctx.session, seed, await add_entity(ctx.session, seed, "1", "HK TEST LTD", countries=["hk"])
    )
    await add_change(
        ctx.session, seed, await add_entity(ctx.session, seed, "2", "RU TEST OOO", countries=["ru"])
    )
    result = await run_watch_test(ctx, WatchRefParams(1, watch_id))
    assert result.channel_id == 55
    assert (
        result.sample.title == "[TEST] Newly listed: HK TEST LTD"
        and result.sample.numbers["change_id"] == hk.id
    )
    assert result.confirmation.ephemeral and f"watch #{watch_id}" in result.confirmation.title


async def test_test_sample_comes_from_the_watched_sources(ctx: Context) -> None:
    watch_id = (
        await run_watch_add(ctx, WatchAddParams(guild_id=1, channel_id=55, sources="ofac_sdn"))
    ).numbers["watch_id"]
    seed = await seed_source(ctx.session, "ofac_cons")
    await add_change(ctx.session, seed, await add_entity(ctx.session, seed, "1", "NON SDN LTD"))
    with pytest.raises(NotFound, match="No change has been detected yet"):
        await run_watch_test(ctx, WatchRefParams(1, watch_id))
    sdn = await seed_source(ctx.session, "ofac_sdn")
    await add_change(ctx.session, sdn, await add_entity(ctx.session, sdn, "2", "SDN LTD"))
    assert (
        await run_watch_test(ctx, WatchRefParams(1, watch_id))
    ).sample.title == "[TEST] Newly listed: SDN LTD"
