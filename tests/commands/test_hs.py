"""/hs on the real HS nomenclature: codes, words, aliases, CHPL tiers, subheadings, and the empty-table answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commands.context import Context
from commands.errors import CommandError, InvalidInput, NoData, NotFound
from commands.registry import run_text
from commands.replies import Reply
from db.lookups import Lookups
from tests.commands.trade_seed import NOW, seed_hs


@pytest.fixture
async def hs_loaded(sessions: async_sessionmaker[AsyncSession], shared_data: Path) -> None:
    """The real HS nomenclature (harmonized-system.csv) in hs_codes."""
    await seed_hs(sessions, shared_data)


async def ask(sessions: async_sessionmaker[AsyncSession], lookups: Lookups, text: str) -> Reply:
    async with sessions() as session:
        return await run_text(Context(session=session, lookups=lookups, now=lambda: NOW), text)


@pytest.mark.usefixtures("hs_loaded")
async def test_words_with_alias(sessions: async_sessionmaker[AsyncSession], lookups: Lookups) -> None:
    reply = await ask(sessions, lookups, "/hs aluminium oxide")
    n = reply.numbers
    assert n["alias"]["key"] == "aluminium oxide" and n["alias"]["codes"] == ["281820"]
    first = n["matches"][0]
    assert first["code"] == "281820" and first["level"] == 6 and first["parent"] == "2818"
    assert first["description"] == "Aluminium oxide; other than artificial corundum"
    assert first["parent_description"].startswith("Aluminium oxide (including artificial corundum)")
    assert {m["code"] for m in n["matches"]} >= {"2818", "281810", "281820"}
    assert "aluminium oxide" in first["aliases"]
    assert any(c.source.startswith("Harmonized System") for c in reply.citations)


@pytest.mark.usefixtures("hs_loaded")
async def test_code_shows_subheadings_and_chpl(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups
) -> None:
    reply = await ask(sessions, lookups, "/hs 8542")
    n = reply.numbers
    assert n["matches"][0]["chpl"] == {"1": ["854231", "854232", "854233", "854239"]}
    assert "chips" in n["matches"][0]["aliases"]
    assert [s["code"] for s in n["subheadings"]] == ["854231", "854232", "854233", "854239", "854290"]
    assert n["matches"][0]["parent"] == "85"
    chapter = await ask(sessions, lookups, "/hs 85")
    assert chapter.numbers["subheadings_total"] == 48 and len(chapter.numbers["subheadings"]) == 25
    assert "first 25 of 48" in chapter.to_text()
    sub = await ask(sessions, lookups, "/hs 8542.31")
    assert sub.numbers["matches"][0]["chpl"] == {"1": ["854231"]} and "CHPL tier 1" in sub.to_text()
    national = await ask(sessions, lookups, "/hs 85423100")
    assert national.numbers["query"] == "854231" and "national tariff line" in national.to_text()


@pytest.mark.usefixtures("hs_loaded")
async def test_typo_and_plain_words(sessions: async_sessionmaker[AsyncSession], lookups: Lookups) -> None:
    typo = await ask(sessions, lookups, "/hs alumnia")
    assert typo.numbers["alias"]["key"] == "aluminium oxide" and typo.numbers["alias"]["corrected"] is True
    words = await ask(sessions, lookups, "/hs tungsten")
    assert words.numbers["alias"] is None
    assert {"2611", "8101", "810110"} <= {m["code"] for m in words.numbers["matches"]}
    codes = [m["code"] for m in words.numbers["matches"]]
    assert codes == sorted(codes)


@pytest.mark.usefixtures("hs_loaded")
@pytest.mark.parametrize(
    ("text", "error", "says"),
    [
        ("/hs xqzzyv", NotFound, "No alias or HS description matches 'xqzzyv'"),
        ("/hs 854299", NotFound, "854290"),
        ("/hs 12345", InvalidInput, "2, 4 or 6 digits"),
        ("/hs", InvalidInput, "Nothing to look up"),
        ("/hs graphite colour=red", InvalidInput, "Unknown option"),
    ],
)
async def test_errors(
    sessions: async_sessionmaker[AsyncSession],
    lookups: Lookups,
    text: str,
    error: type[CommandError],
    says: str,
) -> None:
    with pytest.raises(error) as info:
        await ask(sessions, lookups, text)
    assert says in info.value.user_text()


async def test_without_nomenclature(sessions: async_sessionmaker[AsyncSession], lookups: Lookups) -> None:
    with pytest.raises(NoData) as code:
        await ask(sessions, lookups, "/hs 854231")
    assert "tradewatch import hs FILE" in code.value.user_text() and "CHPL tier 1" in code.value.user_text()
    with pytest.raises(NoData) as words:
        await ask(sessions, lookups, "/hs tungsten")
    assert "tradewatch import hs FILE" in words.value.user_text()
    alias = await ask(sessions, lookups, "/hs chips")  # aliases still answer, and say what is missing
    assert alias.numbers["alias"]["codes"] == ["8542"]
    assert "tradewatch import hs FILE" in alias.to_text()
