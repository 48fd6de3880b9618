"""The card's as-of statements and curated designations (real OFAC lines and the shipped curated file)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.lookups import Lookups
from tests.commands.test_entity import ask, field, story  # noqa: F401  (story is a fixture)

pytestmark = pytest.mark.usefixtures("story")


async def test_curated_designation_is_a_listing(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups
) -> None:
    """Poly Technologies: sanctioned after the loaded SDN file's date; the card lists it, marked curated."""
    reply = await ask(sessions, lookups, "/entity Poly Technologies")
    status = reply.summary[0]
    assert "listed: SDN List [curated, cited]" in status and "no loaded sanctions list" not in status
    [designation] = reply.numbers["designations"]
    assert (designation["list"], designation["listed_on"], designation["curated"]) == (
        "SDN List",
        "2024-06-12",
        True,
    )
    line = field(reply, "Designations")
    assert "curated, cited: C4ADS, 2024-06-12" in line and "Details.aspx?id=49446" in line
    as_of = field(reply, "As of")
    assert "each fact dated by its citation" in as_of and "SDN List listed 2024-06-12" in as_of
    assert "OFAC Specially Designated Nationals (SDN) List: data 2024-05-01" in as_of  # searched, older


async def test_every_card_dates_its_lists(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups
) -> None:
    unlisted = await ask(sessions, lookups, "/entity China Poly Group")
    assert (
        "on no loaded sanctions list (OFAC Specially Designated Nationals (SDN) List: data 2024-05-01)"
        in (unlisted.summary[0])
    )
    sinno = await ask(sessions, lookups, "/entity Sinno Electronics")
    as_of = field(sinno, "As of").splitlines()
    assert as_of[0] == "• OFAC Specially Designated Nationals (SDN) List: data 2024-05-01"
    assert as_of[1].startswith("• Tradewatch curated facts: each fact dated by its citation")
    assert [d["source"] for d in sinno.numbers["as_of"]] == ["curated", "ofac_sdn"]
    assert "Entity List [curated, cited]" in sinno.summary[0]
