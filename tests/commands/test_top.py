"""/top partners and /top goods on the real China monthly exports table: rankings, shares and growth equal a
direct pandas computation; partial years compare the same months; levels are never mixed."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commands.context import Context
from commands.errors import CommandError, InvalidInput, NoData, NotFound
from commands.parse import split_command
from commands.registry import resolve_spec, run_text
from commands.replies import Reply
from commands.top import TopGoodsParams, parse_top_goods, parse_top_partners, run_top_goods
from db.lookups import Lookups
from tests.commands.trade_seed import NOW, derived_frame, seed_derived, seed_flows, seed_hs

RUSSIA, CHINA, USA, HONG_KONG = 643, 156, 842, 344


@pytest.fixture
def frame(shared_data: Path, lookups: Lookups) -> pd.DataFrame:
    """The real derived table as pandas sees it: the expectation every figure is checked against."""
    return derived_frame(shared_data, lookups)


@pytest.fixture
async def seeded(sessions: async_sessionmaker[AsyncSession], shared_data: Path, lookups: Lookups) -> None:
    """The whole real table as the china_customs_derived source, and the real HS nomenclature."""
    await seed_derived(sessions, shared_data, lookups)
    await seed_hs(sessions, shared_data)


async def ask(sessions: async_sessionmaker[AsyncSession], lookups: Lookups, text: str) -> Reply:
    async with sessions() as session:
        return await run_text(Context(session=session, lookups=lookups, now=lambda: NOW), text)


def like_for_like(rows: pd.DataFrame, year: int, base: int) -> pd.Series:
    """Per partner: the change over the months with data in both years (the one rule), by pandas."""
    monthly = rows.groupby(["partner", "year", rows.period % 100])["val"].sum().unstack("year")
    both = monthly[[year, base]].dropna()
    sums = both.groupby(level="partner").sum()
    return (sums[year] / sums[base] - 1) * 100


def expected_partners(frame: pd.DataFrame, prefixes: tuple[str, ...], year: int) -> pd.DataFrame:
    """Per partner: value in the year and the year before, ranked, with share and growth, by pandas."""
    rows = frame[frame.hs6.str.startswith(prefixes)]
    now = rows[rows.year == year].groupby("partner")["val"].sum()
    before = rows[rows.year == year - 1].groupby("partner")["val"].sum()
    table = pd.DataFrame({"value": now, "previous": before.reindex(now.index)})
    table = table[table.value > 0].sort_values(["value"], ascending=False)
    table["share"] = table.value / table.value.sum() * 100
    table["growth"] = like_for_like(rows, year, year - 1).reindex(table.index)
    return table


@pytest.mark.parametrize(
    ("text", "commodity", "year", "reporter"),
    [
        ("/top partners graphite 2023", "graphite", 2023, CHINA),
        ("/top partners graphite", "graphite", None, CHINA),
        ("/top partners aluminium oxide 2022 CN", "aluminium oxide", 2022, CHINA),
        ("/top partners chips 2023 reporter=USA", "chips", 2023, USA),
        ("/top partners 2504 2023", "2504", 2023, CHINA),
        ("/top partners 2504", "2504", None, CHINA),
        ("/top partners chips US", "chips", None, USA),
        ("/top partners machine tools", "machine tools", None, CHINA),
        ("/top partners commodity=graphite year=2021", "graphite", 2021, CHINA),
    ],
)
def test_parse_top_partners(
    lookups: Lookups, text: str, commodity: str, year: int | None, reporter: int
) -> None:
    _, line = resolve_spec(split_command(text))
    params = parse_top_partners(line, lookups)
    assert (params.commodity, params.year, params.reporter.code) == (commodity, year, reporter)


@pytest.mark.parametrize(
    ("text", "partner", "year", "reporter"),
    [
        ("/top goods RU 2023", RUSSIA, 2023, CHINA),
        ("/top goods Russia", RUSSIA, None, CHINA),
        ("/top goods Hong Kong 2022 CN", HONG_KONG, 2022, CHINA),
        ("/top goods Hong Kong China", HONG_KONG, None, CHINA),
        ("/top goods United States 2023", USA, 2023, CHINA),
        ("/top goods partner=Norway reporter=Switzerland", 579, None, 757),
        ("/top goods India 2023 France", 699, 2023, 251),
    ],
)
def test_parse_top_goods(lookups: Lookups, text: str, partner: int, year: int | None, reporter: int) -> None:
    _, line = resolve_spec(split_command(text))
    params = parse_top_goods(line, lookups)
    assert (params.partner.code, params.year, params.reporter.code) == (partner, year, reporter)


@pytest.mark.parametrize(
    ("text", "error", "says"),
    [
        ("/top partners", InvalidInput, "commodity is missing"),
        ("/top goods", InvalidInput, "partner country is missing"),
        ("/top goods Narnia 2023", NotFound, "Unknown partner"),
        ("/top goods China 2023", InvalidInput, "both China"),
        ("/top partners graphite 2023 Narnia", NotFound, "Unknown reporter"),
        ("/top partners graphite 3023", InvalidInput, "out of range"),
        ("/top partners graphite 2023 flow=both", InvalidInput, "flow=exports"),
        ("/top sideways graphite", InvalidInput, "partners | goods"),
    ],
)
def test_parse_top_errors(lookups: Lookups, text: str, error: type[CommandError], says: str) -> None:
    with pytest.raises(error) as info:
        spec, line = resolve_spec(split_command(text))
        (parse_top_partners if spec.name == "top partners" else parse_top_goods)(line, lookups)
    assert says in info.value.user_text()


@pytest.mark.usefixtures("seeded")
async def test_top_partners_graphite_2023_equals_pandas(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, frame: pd.DataFrame
) -> None:
    reply = await ask(sessions, lookups, "/top partners graphite 2023")
    expected = expected_partners(frame, ("2504", "380110"), 2023)
    top = reply.numbers["top"]
    assert [t["code"] for t in top] == [str(p) for p in expected.index[:10]]
    assert [t["figure"] for t in top] == pytest.approx(list(expected.value[:10]))
    assert [t["share_pct"] for t in top] == pytest.approx(list(expected.share[:10]))
    assert [t["growth_pct"] for t in top] == pytest.approx(list(expected.growth[:10]))
    assert [t["base_figure"] for t in top] == pytest.approx(list(expected.previous[:10]))
    assert reply.numbers["total"] == pytest.approx(expected.value.sum())
    assert reply.numbers["count"] == len(expected)
    assert reply.numbers["codes"] == ["250410", "380110"] and reply.numbers["level"] == 6
    assert reply.numbers["total_basis"] == f"sum of the {len(expected)} partners in the data"
    ranking = list(csv.DictReader(io.StringIO(reply.attachments[1].data.decode())))
    ranked = [r for r in ranking if r["rank"]]
    assert len(ranked) == len(expected)
    assert float(ranked[-1]["value_usd_2023"]) == pytest.approx(expected.value.iloc[-1])
    png = reply.attachments[0].data
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    assert "reported by China" in reply.to_text()
    assert all(len(f.value) <= 1024 for f in reply.fields)


@pytest.mark.usefixtures("seeded")
async def test_top_goods_russia_2023_equals_pandas(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, frame: pd.DataFrame
) -> None:
    reply = await ask(sessions, lookups, "/top goods RU 2023")
    russia = frame[frame.partner == RUSSIA]
    now = russia[russia.year == 2023].groupby("hs6")["val"].sum().sort_values(ascending=False)
    before = russia[russia.year == 2022].groupby("hs6")["val"].sum()
    top = reply.numbers["top"]
    assert [t["code"] for t in top] == list(now.index)
    assert [t["figure"] for t in top] == pytest.approx(list(now))
    by_code = russia.assign(partner=russia.hs6)  # the same like-for-like rule, per HS code
    growth = like_for_like(by_code, 2023, 2022)
    assert [t["growth_pct"] for t in top] == pytest.approx([growth[c] for c in now.index])
    assert [t["base_figure"] for t in top] == pytest.approx([before[c] for c in now.index])
    assert reply.numbers["level"] == 6  # the source holds HS-6 only, and says so
    assert "this source holds no HS-4 headings" in reply.to_text()
    assert "shares are of those, not of all trade" in reply.to_text()
    assert top[0]["name"].startswith("380110 Graphite; artificial")
    assert all(
        len(f.value) <= 1024 and len(f.name) <= 256 for f in reply.fields
    )  # one Discord embed field each


async def test_top_goods_ranks_headings_without_double_counting(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, frame: pd.DataFrame, shared_data: Path
) -> None:
    """A source with an HS-4 row for 2504 (from the real 250410 values), the 250410 rows, 380110 and 811292
    HS-6 rows and an all-goods TOTAL row: headings are ranked at HS-4, 2504 counted once."""
    russia = frame[frame.partner == RUSSIA]
    await seed_flows(sessions, russia)
    graphite = russia[russia.hs6 == "250410"]
    await seed_flows(sessions, graphite.assign(hs6="2504"), sha256="1" * 64, file_name="headings")
    totals = russia.groupby(["period", "partner", "year"], as_index=False).agg(
        val=("val", "sum"), qty=("qty", "sum")
    )
    await seed_flows(sessions, totals.assign(hs6="TOTAL"), hs_level=0, sha256="2" * 64, file_name="totals")
    await seed_hs(sessions, shared_data)
    reply = await ask(sessions, lookups, "/top goods RU 2023")
    year = russia[russia.year == 2023]
    expected = {
        "2504": year[year.hs6 == "250410"].val.sum(),
        "3801": year[year.hs6 == "380110"].val.sum(),
        "8112": year[year.hs6 == "811292"].val.sum(),
    }
    top = {t["code"]: t["figure"] for t in reply.numbers["top"]}
    assert top == pytest.approx(expected)
    assert reply.numbers["level"] == 4
    assert reply.numbers["total"] == pytest.approx(year.val.sum())  # the TOTAL row is the denominator
    assert reply.numbers["total_basis"] == "all-goods TOTAL of the source"
    assert "summed from HS-6 subheadings" in reply.to_text()


async def test_partial_year_compares_the_same_months(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, frame: pd.DataFrame
) -> None:
    """Only January to June 2024 loaded: the change uses the six months with data in both years."""
    subset = frame[(frame.period <= 202406) & (frame.year >= 2023)]
    await seed_flows(sessions, subset)
    reply = await ask(sessions, lookups, "/top partners graphite 2024")
    rows = subset[subset.hs6.isin(["250410", "380110"])]
    now = rows[rows.year == 2024].groupby("partner")["val"].sum()
    before = rows[(rows.year == 2023) & (rows.period % 100 <= 6)].groupby("partner")["val"].sum()
    first = reply.numbers["top"][0]
    code = int(first["code"])
    assert first["figure"] == pytest.approx(now.max()) and code == now.idxmax()
    assert first["growth_pct"] == pytest.approx(like_for_like(rows, 2024, 2023)[code])
    assert first["months_compared"] == [
        m for m in range(1, 7) if ((rows.partner == code) & (rows.period == 202300 + m)).any()
    ]
    total = reply.numbers["total_comparison"]
    assert total["months_compared"] == [1, 2, 3, 4, 5, 6] and total["base_compared"] == pytest.approx(
        before.sum()
    )
    assert "the 6 of 12 months with data in both years: Jan–Jun" in reply.to_text()


@pytest.mark.usefixtures("seeded")
async def test_top_and_exports_give_the_same_change(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, frame: pd.DataFrame
) -> None:
    """Gallium to Hong Kong, 2023 (9 months of data against 5): one rule, one figure in both commands."""
    ranking = await ask(sessions, lookups, "/top partners gallium 2023")
    hong_kong = next(t for t in ranking.numbers["top"] if t["code"] == str(HONG_KONG))
    exports = await ask(sessions, lookups, "/exports gallium HK 2023")
    assert hong_kong["growth_pct"] == pytest.approx(exports.numbers["change_pct"])
    rows = frame[(frame.hs6 == "811292") & (frame.partner == HONG_KONG)]
    assert exports.numbers["change_pct"] == pytest.approx(like_for_like(rows, 2023, 2022)[HONG_KONG])
    assert hong_kong["months_compared"] == exports.numbers["comparison"]["months_compared"]


async def test_top_errors(sessions: async_sessionmaker[AsyncSession], lookups: Lookups) -> None:
    with pytest.raises(NoData) as empty:
        await ask(sessions, lookups, "/top partners chips 2023")
    assert "tradewatch import comtrade" in empty.value.user_text()
    with pytest.raises(NoData) as goods:
        async with sessions() as session:
            params = TopGoodsParams.build(partner="RU", year=2023, lookups=lookups)
            await run_top_goods(Context(session=session, lookups=lookups, now=lambda: NOW), params)
    assert "No data for China's exports to Russia" in goods.value.user_text()
