"""Resolution of what reporters type: aliases, HS codes, description words, countries, years and flows."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commands.errors import Ambiguous, InvalidInput, NotFound
from commands.resolve import (
    DescriptionIndex,
    country_suggestions,
    parse_flow,
    parse_year,
    resolve_commodity,
    resolve_country,
    split_trailing_country,
)
from commands.trade_common import chpl_summary
from db.lookups import Lookups
from db.queries.hs import HsEntry, prefix_upper_bound
from tests.commands.trade_seed import seed_hs


@pytest.fixture(scope="module")
def index(shared_data: Path) -> DescriptionIndex:
    """A word index over the real HS nomenclature file (no database needed)."""
    with (shared_data / "hs/harmonized-system.csv").open(encoding="utf-8-sig", newline="") as fh:
        entries = [
            HsEntry(
                r["hscode"],
                int(r["level"]),
                r["description"],
                r["parent"] if r["parent"].isdigit() else None,
                r["section"],
            )
            for r in csv.DictReader(fh)
            if r["level"] in ("2", "4", "6")
        ]
    return DescriptionIndex(entries)


@pytest.mark.parametrize(
    ("typed", "codes", "tier"),
    [
        ("chips", ("8542",), "1"),
        ("Chips", ("8542",), "1"),
        ("semiconductors", ("8542",), "1"),
        ("alumina", ("281820",), None),
        ("aluminum oxide", ("281820",), None),
        ("aluminium oxide", ("281820",), None),
        ("graphite", ("2504", "380110"), None),
        ("gallium", ("811292",), None),
        ("germanium", ("811292",), None),
        ("bearings", ("8482",), "3B"),
        ("machine tools", ("8456", "8457", "8458", "8459", "8460", "8461", "8462", "8463"), "4B"),
        ("drones", ("8806", "8807"), "3B"),
        ("gps", ("852691", "901420", "901480"), "2"),
        ("antennas", ("852910",), "3A"),
        ("capacitors", ("8532",), "2"),
        ("oscilloscopes", ("903020",), "4A"),
    ],
)
async def test_alias_table(
    session: AsyncSession, lookups: Lookups, typed: str, codes: tuple[str, ...], tier: str | None
) -> None:
    resolved = await resolve_commodity(session, lookups, typed)
    assert resolved.kind == "alias" and resolved.codes == codes
    text, tiers = chpl_summary(lookups, resolved.codes)
    assert (tier in tiers) if tier else tiers == {}
    if typed.lower() == "chips":
        assert tiers["1"] == ["854231", "854232", "854233", "854239"]
        assert "tier 1 (integrated circuits): 854231, 854232, 854233, 854239" in text
        assert "CHPL tier 1" in (resolved.note or "")


async def test_misspelt_alias(session: AsyncSession, lookups: Lookups) -> None:
    resolved = await resolve_commodity(session, lookups, "graphit")
    assert resolved.codes == ("2504", "380110") and resolved.corrected_from == "graphit"


async def test_codes_are_checked_against_the_nomenclature(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path
) -> None:
    async with sessions() as session:
        unchecked = await resolve_commodity(session, lookups, "854231")
        assert unchecked.codes == ("854231",) and "not checked" in (unchecked.note or "")
    await seed_hs(sessions, shared_data)
    async with sessions() as session:
        checked = await resolve_commodity(session, lookups, "HS 8542.31")
        assert checked.codes == ("854231",) and checked.label.startswith("Electronic integrated circuits")
        with pytest.raises(NotFound) as missing:
            await resolve_commodity(session, lookups, "8599")
        assert "HS 8599 is not in the HS nomenclature" in missing.value.user_text()
        with pytest.raises(InvalidInput):
            await resolve_commodity(session, lookups, "854")
        with pytest.raises(NotFound) as unknown:
            await resolve_commodity(session, lookups, "grafite powdr xq")
        assert "Did you mean" in unknown.value.user_text()


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("tungsten", ["2611", "720280", "8101", "853921", "853922"]),  # ores, ferro-alloy, metal, lamps
        ("aluminium hydroxide", ["281830"]),  # not 2818, which also covers the oxide
        ("oscilloscopes", ["903020"]),
        ("tungstn", ["2611", "720280", "8101", "853921", "853922"]),  # typo
        ("ferro-tungsten", ["720280"]),
    ],
)
def test_description_matching_collapses_headings(
    index: DescriptionIndex, words: str, expected: list[str]
) -> None:
    matches = index.search(words)
    top = [m.entry.code for m in matches if m.recall >= matches[0].recall - 5]
    assert index.collapse(top) == expected


async def test_words_resolve_or_ask(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path
) -> None:
    await seed_hs(sessions, shared_data)
    async with sessions() as session:
        resolved = await resolve_commodity(session, lookups, "aluminium hydroxide")
        assert resolved.codes == ("281830",) and resolved.kind == "description"
        with pytest.raises(Ambiguous) as ambiguous:
            await resolve_commodity(session, lookups, "tungsten")
        assert "8101 Tungsten (wolfram)" in ambiguous.value.user_text()


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("USA", 842),
        ("United States", 842),
        ("US", 842),
        ("France", 251),
        ("FR", 251),
        ("India", 699),
        ("IND", 699),
        ("Switzerland", 757),
        ("CH", 757),
        ("Norway", 579),
        ("NO", 579),
        ("Taiwan", 490),
        ("Chinese Taipei", 490),
        ("HK", 344),
        ("Hong Kong", 344),
        ("Türkiye", 792),
        ("Turkey", 792),
        ("turkiye", 792),
        ("PRC", 156),
        ("China", 156),
        ("RU", 643),
        ("Russia", 643),
        ("RUS", 643),
        ("Russian Federation", 643),
        ("643", 643),
        ("UAE", 784),
        ("Kyrgyzstan", 417),
    ],
)
def test_country_edge_cases(lookups: Lookups, typed: str, code: int) -> None:
    assert resolve_country(lookups, typed).code == code


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("Rusia", "Russia"),
        ("Swizerland", "Switzerland"),
        ("Hongkong", "Hong Kong"),
        ("Turkiey", "Türkiye"),
        ("Kazahstan", "Kazakhstan"),
    ],
)
def test_unknown_country_suggests_the_closest(lookups: Lookups, typed: str, suggested: str) -> None:
    assert suggested in country_suggestions(lookups, typed)
    with pytest.raises(NotFound) as info:
        resolve_country(lookups, typed, "partner")
    assert suggested in info.value.user_text()


@pytest.mark.parametrize(
    ("words", "commodity", "country"),
    [
        ("aluminium oxide Hong Kong", "aluminium oxide", "Hong Kong"),
        ("machine tools South Korea", "machine tools", "South Korea"),
        ("chips United States of America", "chips", "United States of America"),
        ("chips Rusia", "chips", "Rusia"),  # unknown: the error names the word
        ("rare earths Atlantis Island", "rare earths", "Atlantis Island"),
    ],
)
def test_split_commodity_and_country(lookups: Lookups, words: str, commodity: str, country: str) -> None:
    head, tail = split_trailing_country(lookups, words.split())
    assert (" ".join(head), " ".join(tail)) == (commodity, country)


@pytest.mark.parametrize("text", ["2023", " 1988 ", 2100])
def test_year_ok(text: object) -> None:
    assert parse_year(text) == int(str(text))


@pytest.mark.parametrize("text", ["23", "1987", "2101", "twenty", "2023.5", ""])
def test_year_bad(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_year(text)


@pytest.mark.parametrize(("text", "flow"), [(None, "X"), ("exports", "X"), ("Imports", "M"), ("m", "M")])
def test_flow(text: str | None, flow: str) -> None:
    assert parse_flow(text) == flow


def test_prefix_ranges() -> None:
    assert prefix_upper_bound("8542") == "8543"
    assert prefix_upper_bound("2509") == "250:"
    assert "25099999" < prefix_upper_bound("2509") and "2510" >= prefix_upper_bound("2509")
