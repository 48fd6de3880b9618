"""/compare on the real China monthly exports table: every value and multiple equals a direct pandas computation
on the file, missing months stay missing and are named, the two reports of a flow are shown side by side with
their gap, cited figures stand in for no data, and bad input gets a clear error."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commands.compare import MAX_COUNTRIES, parse_compare
from commands.context import Context
from commands.errors import InvalidInput, NotFound
from commands.parse import split_command
from commands.registry import run_text
from db.ingest import curated
from db.ingest.base import get_source, new_snapshot
from db.lookups import Lookups
from db.models import TradeFlow
from db.sources import load_importer
from tests.commands.trade_seed import NOW, derived_frame, seed_derived, seed_flows, seed_hs

RUSSIA, CHINA, KAZAKHSTAN, KYRGYZSTAN, TURKEY = 643, 156, 398, 417, 792
GRAPHITE = ("2504", "380110")
CURATED = Path(__file__).resolve().parents[2] / "db" / "curated"
IMF = Path("trade/imf_imts_russia_bilateral/RU_trade.csv")


@pytest.fixture
def frame(shared_data: Path, lookups: Lookups) -> pd.DataFrame:
    return derived_frame(shared_data, lookups)


@pytest.fixture
async def seeded(sessions: async_sessionmaker[AsyncSession], shared_data: Path, lookups: Lookups) -> None:
    await seed_derived(sessions, shared_data, lookups)
    await seed_hs(sessions, shared_data)


async def ask(sessions: async_sessionmaker[AsyncSession], lookups: Lookups, text: str):  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return await run_text(Context(session=session, lookups=lookups, now=lambda: NOW), text)


def file_months(frame: pd.DataFrame, partner: int, year: int) -> dict[int, float]:
    rows = frame[(frame.partner == partner) & frame.hs6.str.startswith(GRAPHITE) & (frame.year == year)]
    return {int(p) % 100: float(v) for p, v in rows.groupby("period")["val"].sum().items()}


def line(reply, country: str, reporter: str = "China") -> dict:  # type: ignore[no-untyped-def]
    return next(x for x in reply.numbers["lines"] if x["country"] == country and x["reporter"] == reporter)


# --- parsing --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "commodity", "countries", "anchor", "are", "years", "months"),
    [
        (
            "/compare graphite Russia, Kazakhstan, Kyrgyzstan, Turkey 2021-2023",
            "graphite", [RUSSIA, KAZAKHSTAN, KYRGYZSTAN, TURKEY], CHINA, "partners", (2021, 2023), None,
        ),
        ("/compare aluminium oxide Hong Kong, RU 2022", "aluminium oxide", [344, RUSSIA], CHINA, "partners",
         (2022, 2022), None),
        ("/compare 2504 RU,KZ months=1-5 vs=2019", "2504", [RUSSIA, KAZAKHSTAN], CHINA, "partners",
         (None, None), (1, 5)),
        ("/compare graphite countries=RU,KZ years=2021–2022", "graphite", [RUSSIA, KAZAKHSTAN], CHINA,
         "partners", (2021, 2022), None),
        ("/compare graphite CN, KZ partner=RU flow=imports", "graphite", [CHINA, KAZAKHSTAN], RUSSIA,
         "reporters", (None, None), None),
        ("/compare graphite RU, Russia, RUS", "graphite", [RUSSIA], CHINA, "partners", (None, None), None),
    ],
)  # fmt: skip
def test_parse_compare(
    lookups: Lookups,
    text: str,
    commodity: str,
    countries: list[int],
    anchor: int,
    are: str,
    years: tuple[int | None, int | None],
    months: tuple[int, int] | None,
) -> None:
    params = parse_compare(split_command(text), lookups)
    assert params.commodity == commodity and [c.code for c in params.countries] == countries
    assert (params.anchor.code, params.countries_are) == (anchor, are)
    assert (params.first_year, params.last_year, params.months) == (*years, months)


@pytest.mark.parametrize(
    ("text", "error", "words"),
    [
        ("/compare graphite", InvalidInput, "needs a commodity and countries"),
        ("/compare graphite " + ", ".join(["RU"] * (MAX_COUNTRIES + 1)), InvalidInput, "too many"),
        ("/compare graphite RU, KZ 2023-2021", InvalidInput, "runs backwards"),
        ("/compare graphite RU, KZ 2010-2023", InvalidInput, "more than 10 years"),
        ("/compare graphite RU, KZ months=5-1", InvalidInput, "runs backwards"),
        ("/compare graphite RU, KZ months=0-13", InvalidInput, "not a month"),
        ("/compare graphite RU, KZ reporter=CN partner=RU", InvalidInput, "not both"),
        ("/compare graphite RU, China", InvalidInput, "both sides"),
        ("/compare graphite RU, Narnia", NotFound, "Narnia"),
        ("/compare graphite RU measure=colour", InvalidInput, "Unknown measure"),
        ("/compare graphite RU colour=red", InvalidInput, "Unknown option"),
    ],
)
def test_bad_input_says_what_works(lookups: Lookups, text: str, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        parse_compare(split_command(text), lookups)


# --- figures against the file ---------------------------------------------------------------------------


async def test_values_and_multiples_equal_the_file(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, seeded: None, frame: pd.DataFrame
) -> None:
    reply = await ask(sessions, lookups, "/compare graphite Russia, Kazakhstan, Kyrgyzstan, Turkey 2021-2023")
    assert reply.numbers["years"] == [2021, 2022, 2023] and reply.numbers["base_year"] == 2021
    for name, code in (("Russia", RUSSIA), ("Kazakhstan", KAZAKHSTAN), ("Türkiye", TURKEY)):
        got = {y["year"]: y for y in line(reply, name)["years"]}
        base = file_months(frame, code, 2021)
        for year in (2021, 2022, 2023):
            months = file_months(frame, code, year)
            assert got[year]["figure"] == pytest.approx(sum(months.values()))
            both = sorted(set(months) & set(base))
            expected = sum(months[m] for m in both) / sum(base[m] for m in both)
            assert got[year]["multiple_of_base"] == (None if year == 2021 else pytest.approx(expected))
    assert line(reply, "Russia")["years"][2]["basis"] == "all 12 months in both years"  # as in the file
    kazakhstan = line(reply, "Kazakhstan")["years"][2]["basis"]
    assert kazakhstan.startswith("the 5 of 12 months with data in both years")
    assert all(y["figure"] is None for y in line(reply, "Kyrgyzstan")["years"])  # none in the file
    assert reply.summary[0] == (
        "Russia (China's report): $8.41M in 2023, 2.1× 2021 by value (all 12 months in both years)."
    )
    assert "a month missing in either year is left out of both" in reply.to_text()  # the rule is named
    names = [a.filename for a in reply.attachments]
    assert names == ["compare-2504-380110-2021-2023.png", "compare-2504-380110-2021-2023.csv"]
    assert reply.attachments[0].data.startswith(b"\x89PNG")
    rows = list(csv.DictReader(io.StringIO(reply.attachments[1].data.decode())))
    assert len(rows) == 12 and {r["reporter"] for r in rows} == {"China"}
    assert [r["value_usd"] for r in rows if r["country"] == "Kyrgyzstan"] == ["", "", ""]  # missing, not 0
    assert "2021" in reply.fields[1].name and "base" in reply.fields[1].value


async def test_months_and_base_year(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, seeded: None, frame: pd.DataFrame
) -> None:
    reply = await ask(sessions, lookups, "/compare graphite Russia, Turkey 2022-2023 months=1-5 vs=2019")
    assert reply.numbers["years"] == [2019, 2022, 2023] and reply.title.endswith("2022–2023, against 2019")
    for name, code in (("Russia", RUSSIA), ("Türkiye", TURKEY)):
        got = {y["year"]: y for y in line(reply, name)["years"]}
        base = {m: v for m, v in file_months(frame, code, 2019).items() if m <= 5}
        months = {m: v for m, v in file_months(frame, code, 2023).items() if m <= 5}
        assert got[2023]["figure"] == pytest.approx(sum(months.values()))
        both = sorted(set(months) & set(base))
        assert got[2023]["multiple_of_base"] == pytest.approx(
            sum(months[m] for m in both) / sum(base[m] for m in both)
        )
        assert got[2023]["months_compared"] == both


async def test_weight_multiple_equals_the_file(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, seeded: None, frame: pd.DataFrame
) -> None:
    reply = await ask(sessions, lookups, "/compare graphite Russia, Turkey 2021-2023 measure=weight")
    assert reply.numbers["measure"] == "weight" and reply.title.startswith("China's exports of graphite")
    for name, code in (("Russia", RUSSIA), ("Türkiye", TURKEY)):
        rows = frame[(frame.partner == code) & frame.hs6.str.startswith(GRAPHITE)]
        kg = {y: float(rows[rows.year == y].qty.sum()) for y in (2021, 2023)}  # the table's qty is kg
        got = {y["year"]: y for y in line(reply, name)["years"]}
        assert got[2023]["figure"] == pytest.approx(kg[2023])
        assert got[2023]["multiple_of_base"] == pytest.approx(kg[2023] / kg[2021])
    assert "× 2021 by weight (all 12 months in both years)" in reply.summary[0]
    assert "weight_kg" in reply.attachments[1].data.decode().splitlines()[0]


async def test_total_trade_from_the_imf_file_labelled_as_russias_report(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, seeded: None, shared_data: Path
) -> None:
    await load_importer("imf")(sessions, shared_data / IMF, now=NOW)
    reply = await ask(sessions, lookups, "/compare total China, Turkey reporter=RU flow=imports 2021-2023")
    with (shared_data / IMF).open(encoding="utf-8-sig", newline="") as fh:
        cells = {(r["COUNTERPART_COUNTRY.ID"], r["INDICATOR.ID"][:2]): r for r in csv.DictReader(fh)}
    for name, iso3 in (("China", "CHN"), ("Türkiye", "TUR")):
        got = {y["year"]: y["figure"] for y in line(reply, name, "Russia")["years"]}
        for year in (2021, 2022, 2023):
            assert got[year] == pytest.approx(float(cells[(iso3, "MG")][str(year)]) * 1e6)
    assert reply.summary[0].startswith("China (Russia's report): $119.83B in 2023, 1.6× 2021 by value")
    assert "Russia's report of its imports" in reply.to_text()


async def _seed_russia_report(
    sessions: async_sessionmaker[AsyncSession], freq: str, values: dict[int, float]
) -> None:
    """INVENTED rows for this test only (no real Russia-reported graphite file exists here): Russia's imports of
    HS 250410 from China, to check that both reports are shown, labelled, and never added together."""
    async with sessions() as session, session.begin():
        source = await get_source(session, "trade_csv")
        snap = await new_snapshot(session, source, sha256="1" * 64, file_name="invented.csv", now=NOW)
        await session.execute(
            insert(TradeFlow),
            [
                {"source_id": source.id, "snapshot_id": snap.id, "reporter": RUSSIA, "partner": CHINA,
                 "flow": "M", "hs_code": "250410", "hs_level": 6, "freq": freq, "period": period,
                 "value_usd": value, "net_kg": None, "qty": None, "qty_unit": None}
                for period, value in values.items()
            ],
        )  # fmt: skip


async def test_both_reports_of_a_flow_and_their_gap(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, seeded: None, frame: pd.DataFrame
) -> None:
    await _seed_russia_report(sessions, "A", {202200: 7_000_000.0, 202300: 9_000_000.0})
    reply = await ask(sessions, lookups, "/compare 250410 Russia 2022-2023")
    china = {y["year"]: y["figure"] for y in line(reply, "Russia")["years"]}
    russia = {y["year"]: y["figure"] for y in line(reply, "Russia", "Russia")["years"]}
    assert russia == {2022: 7_000_000.0, 2023: 9_000_000.0}
    rows = frame[(frame.partner == RUSSIA) & (frame.hs6 == "250410")]
    assert china[2023] == pytest.approx(rows[rows.year == 2023].val.sum())  # China's alone: never added
    gap = next(g for g in reply.numbers["gaps"] if g["year"] == 2023)
    assert gap["gap_pct"] == pytest.approx((9_000_000 - china[2023]) / china[2023] * 100)
    assert gap["basis"] == "annual totals"
    text = reply.to_text()
    assert "Russia (Russia's report)" in text and "Russia (China's report)" in text
    assert "Russia's report of its imports" in text and "China's report of its exports" in text
    assert "FOB" in next(f.value for f in reply.fields if f.name == "Gap between the two reports")


async def test_no_data_shows_the_cited_figure_and_the_fetch_command(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, seeded: None
) -> None:
    await curated.run_import(sessions, CURATED, now=dt.datetime(2026, 11, 29, tzinfo=dt.UTC))
    reply = await ask(sessions, lookups, "/compare chips Russia, Kazakhstan 2021-2022")
    assert reply.title.startswith("No loaded data:")
    text = reply.to_text()
    assert "more than doubled to about $50 million in the first five months of 2022" in text
    assert "tradewatch import comtrade --api --reporter CN --cmd 8542 --period 2021,2022" in text


async def test_missing_flows_are_fetched_on_demand(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path, frame: pd.DataFrame
) -> None:
    """A fetcher that stores the file's rows for the flow it is asked about; Kazakhstan's comes back empty."""
    await seed_hs(sessions, shared_data)
    calls: list[tuple[object, ...]] = []

    async def fetch(session: AsyncSession, reporter: int, partner: int, flow: str, codes: list[str],
                    years: list[int]) -> int:  # fmt: skip
        calls.append((reporter, partner, flow, codes, years))
        rows = frame[
            (frame.partner == partner) & frame.hs6.str.startswith(tuple(codes)) & frame.year.isin(years)
        ]
        return await seed_flows(
            sessions, rows[rows.partner == RUSSIA], source_key="comtrade", sha256=f"{partner:064d}"
        )

    async with sessions() as session:
        ctx = Context(session=session, lookups=lookups, now=lambda: NOW, fetch_trade=fetch)
        reply = await run_text(ctx, "/compare graphite Russia, Kyrgyzstan 2022-2023")
    assert calls == [
        (CHINA, RUSSIA, "X", list(GRAPHITE), [2022, 2023]),
        (CHINA, KYRGYZSTAN, "X", list(GRAPHITE), [2022, 2023]),
    ]
    got = {y["year"]: y["figure"] for y in line(reply, "Russia")["years"]}
    assert got[2023] == pytest.approx(sum(file_months(frame, RUSSIA, 2023).values()))
    assert line(reply, "Kyrgyzstan")["source"] is None
