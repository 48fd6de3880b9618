"""Answers a reporter can quote, from the real files loaded by the real importers: measures (weight against
pandas on the China HS-6 table), any base year and spans of months, totals from the IMF file in both
directions, precise aliases and CHPL tiers, the codes a source lacks, and labels that never say "mirror"."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commands.context import Context
from commands.errors import InvalidInput, NoData
from commands.registry import run_text
from commands.replies import Reply
from db.lookups import Lookups
from db.sources import load_importer
from tests.commands.trade_seed import DERIVED, NOW, derived_frame, seed_hs

RUSSIA, CHINA, HONG_KONG = 643, 156, 344
IMF = Path("trade/imf_imts_russia_bilateral/RU_trade.csv")


@pytest.fixture
async def loaded(sessions: async_sessionmaker[AsyncSession], shared_data: Path, lookups: Lookups) -> None:
    """The China HS-6 table through its shipped mapping, the IMF Russia file and the HS nomenclature."""
    await load_importer("trade-csv")(
        sessions, shared_data / DERIVED, now=NOW, mapping="china_exports_hs6_monthly", lookups=lookups
    )
    await load_importer("imf")(sessions, shared_data / IMF, now=NOW, lookups=lookups)
    await seed_hs(sessions, shared_data)


async def ask(sessions: async_sessionmaker[AsyncSession], lookups: Lookups, text: str) -> Reply:
    async with sessions() as session:
        return await run_text(Context(session=session, lookups=lookups, now=lambda: NOW), text)


def kg(frame: pd.DataFrame, partner: int, codes: tuple[str, ...], year: int, months: range) -> float:
    """Weight (the file's qty, kg) for the partner, codes, year and months, straight from the file."""
    rows = frame[
        (frame.partner == partner)
        & frame.hs6.isin(codes)
        & (frame.year == year)
        & (frame.period % 100).isin(list(months))
    ]
    return float(rows.qty.sum())


@pytest.mark.usefixtures("loaded")
async def test_weight_multiple_against_any_base_year(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path
) -> None:
    frame = derived_frame(shared_data, lookups)
    reply = await ask(sessions, lookups, "/exports artificial graphite RU 2023 measure=weight vs=2021")
    n = reply.numbers
    now, base = (
        kg(frame, RUSSIA, ("380110",), 2023, range(1, 13)),
        kg(frame, RUSSIA, ("380110",), 2021, range(1, 13)),
    )
    assert n["measure"] == "weight" and n["codes"] == ["380110"]
    assert n["total"] == pytest.approx(now) and n["base_total"] == pytest.approx(base)
    assert n["multiple"] == pytest.approx(now / base)
    assert reply.title.endswith("to Russia, 2023, by weight")
    assert f"2023 = {now / base:.1f}× 2021 by weight" in reply.to_text()
    assert "quantities in kilograms" in reply.to_text()
    rows = list(csv.DictReader(io.StringIO(reply.attachments[1].data.decode())))
    assert "weight_kg" in rows[0] and rows[0]["period"] == "2021-01"


@pytest.mark.usefixtures("loaded")
async def test_a_span_of_months_and_unit_value(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path
) -> None:
    frame = derived_frame(shared_data, lookups)
    rows = frame[(frame.partner == RUSSIA) & (frame.hs6 == "250410") & (frame.period % 100 <= 5)]
    value = rows.groupby("year").val.sum()
    reply = await ask(sessions, lookups, "/exports spherical graphite RU 2022 months=1-5")
    assert reply.numbers["total"] == pytest.approx(value[2022]) and reply.numbers[
        "base_total"
    ] == pytest.approx(value[2021])
    assert reply.title.endswith("to Russia, Jan–May 2022")
    assert "Jan–May 2022 = " in reply.to_text() and "Jan–May 2021 by value" in reply.to_text()
    assert "25041010" in reply.to_text()  # the alias says HS-6 cannot isolate spherical graphite
    price = await ask(sessions, lookups, "/exports spherical graphite RU 2022 measure=unit-value")
    year = frame[(frame.partner == RUSSIA) & (frame.hs6 == "250410") & (frame.year == 2022)]
    assert price.numbers["total"] == pytest.approx(year.val.sum() / year.qty.sum())
    assert "/kg" in price.summary[0]


@pytest.mark.usefixtures("loaded")
async def test_months_lacking_the_measure_are_named(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path
) -> None:
    """HS 811292 in 2017: the file has values with no quantity (qty 0, uv inf): never a zero weight."""
    frame = derived_frame(shared_data, lookups)
    rows = frame[(frame.partner == HONG_KONG) & (frame.hs6 == "811292") & (frame.year == 2017)]
    unweighed = sorted(int(p) % 100 for p in rows[(rows.qty == 0) & (rows.val > 0)].period)
    assert unweighed == list(range(1, 13))
    reply = await ask(sessions, lookups, "/exports gallium HK 2017 measure=weight")
    months = {int(m["period"][5:]): m for m in reply.numbers["months"]}
    assert all(months[m]["figure"] is None and months[m]["value_usd"] for m in unweighed)
    assert reply.numbers["total"] is None and "No weight reported for Jan–Dec 2017" in reply.to_text()


@pytest.mark.usefixtures("loaded")
async def test_totals_from_the_imf_file_both_directions(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path
) -> None:
    with (shared_data / IMF).open(encoding="utf-8-sig") as fh:
        rows = {(r["INDICATOR.ID"], r["COUNTERPART_COUNTRY.ID"]): r for r in csv.DictReader(fh)}
    imports_2022 = float(rows[("MG_CIF_USD", "CHN")]["2022"]) * 1e6  # $82.0B
    exports_2022 = float(rows[("XG_FOB_USD", "CHN")]["2022"]) * 1e6
    reply = await ask(sessions, lookups, "/exports total China 2022 reporter=RU flow=imports")
    assert reply.numbers["total"] == pytest.approx(imports_2022) and round(imports_2022 / 1e9, 1) == 82.0
    assert reply.numbers["base_total"] == pytest.approx(float(rows[("MG_CIF_USD", "CHN")]["2021"]) * 1e6)
    assert reply.title == "Russia's imports of all goods from China, 2022"
    assert "$82.01B" in reply.summary[0] and "reported by Russia" in reply.to_text()
    for words in ("all goods", "TOTAL"):
        other = await ask(sessions, lookups, f"/exports {words} CN 2022 reporter=RU")
        assert other.numbers["total"] == pytest.approx(exports_2022)
    with pytest.raises(
        NoData
    ) as china_side:  # China's own report of it is not loaded: say where the other is
        await ask(sessions, lookups, "/exports total RU 2022")
    assert "/exports total CN 2022 reporter=RU flow=imports" in china_side.value.user_text()
    with pytest.raises(NoData, match="annual totals"):
        await ask(sessions, lookups, "/exports total China 2022 reporter=RU flow=imports months=1-5")
    ranking = await ask(sessions, lookups, "/top partners total 2022 reporter=RU flow=imports")
    assert ranking.numbers["top"][0]["code"] == str(CHINA)
    assert ranking.numbers["top"][0]["figure"] == pytest.approx(imports_2022)


@pytest.mark.usefixtures("loaded")
async def test_aliases_sum_exactly_their_codes(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path
) -> None:
    frame = derived_frame(shared_data, lookups)
    year = frame[(frame.partner == RUSSIA) & (frame.year == 2023)]
    artificial = await ask(sessions, lookups, "/exports artificial graphite RU 2023")
    assert artificial.numbers["codes"] == ["380110"]
    assert artificial.numbers["total"] == pytest.approx(year[year.hs6 == "380110"].val.sum())  # $5.25M
    assert round(artificial.numbers["total"] / 1e6, 2) == 5.25
    natural = await ask(sessions, lookups, "/exports natural graphite RU 2023")
    assert natural.numbers["codes"] == ["250410"] and natural.numbers["codes_not_in_source"] == ["250490"]
    assert "250490" in natural.to_text()
    both = await ask(sessions, lookups, "/exports graphite RU 2023")
    assert both.numbers["total"] == pytest.approx(artificial.numbers["total"] + natural.numbers["total"])


@pytest.mark.usefixtures("loaded")
async def test_a_chpl_tier_is_a_commodity(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups
) -> None:
    with pytest.raises(NoData) as tier:  # the demo holds no chips: the answer lists the tier's codes
        await ask(sessions, lookups, '/exports "CHPL tier 1" RU 2022')
    assert "854231" in tier.value.user_text()
    listing = await ask(sessions, lookups, "/hs aliases")
    assert listing.numbers["aliases"]["artificial graphite"] == ["380110"]
    assert listing.numbers["chpl"]["1"] == ["854231", "854232", "854233", "854239"]
    with pytest.raises(Exception, match="no tier 9"):
        await ask(sessions, lookups, '/exports "chpl tier 9" RU 2022')


@pytest.mark.usefixtures("loaded")
async def test_bad_options_are_explained(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups
) -> None:
    for text, says in [
        ("/exports graphite RU 2023 measure=volume-of-water", "Unknown measure"),
        ("/exports graphite RU 2023 vs=2023", "the year asked for"),
        ("/exports graphite RU 2023 months=5-1", "runs backwards"),
        ("/top partners graphite 2023 months=13", "not a month"),
        ("/top goods RU 2023 vs=23", "not a year"),
    ]:
        with pytest.raises(InvalidInput, match=says):
            await ask(sessions, lookups, text)
