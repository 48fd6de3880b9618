"""/exports on the real China monthly exports table: figures equal a direct pandas computation on the file,
missing months stay missing, nothing is double counted, one source answers, errors are clear."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commands.context import Context
from commands.errors import Ambiguous, CommandError, InvalidInput, NoData, NotFound
from commands.exports import ExportsParams, parse_exports, run_exports
from commands.parse import split_command
from commands.registry import resolve_spec, run_text
from db.ingest.base import new_snapshot
from db.lookups import Lookups
from db.models import Source, TradeFlow
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


def ctx_for(session: AsyncSession, lookups: Lookups, **kwargs: object) -> Context:
    return Context(session=session, lookups=lookups, now=lambda: NOW, **kwargs)  # type: ignore[arg-type]


async def ask(sessions: async_sessionmaker[AsyncSession], lookups: Lookups, text: str, **kwargs: object):  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return await run_text(ctx_for(session, lookups, **kwargs), text)


def monthly(frame: pd.DataFrame, partner: int, prefixes: tuple[str, ...], year: int) -> dict[int, float]:
    """Month -> value for the partner and codes in the year, straight from the file."""
    rows = frame[(frame.partner == partner) & frame.hs6.str.startswith(prefixes) & (frame.year == year)]
    return {int(p) % 100: float(v) for p, v in rows.groupby("period")["val"].sum().items()}


# --- parsing --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "commodity", "partner", "year", "reporter", "flow"),
    [
        ("/exports graphite RU 2023", "graphite", RUSSIA, 2023, CHINA, "X"),
        ("/exports aluminium oxide Hong Kong 2022", "aluminium oxide", HONG_KONG, 2022, CHINA, "X"),
        ('/exports "aluminium oxide" "Hong Kong"', "aluminium oxide", HONG_KONG, None, CHINA, "X"),
        ("/exports commodity=chips partner=RU year=2022", "chips", RUSSIA, 2022, CHINA, "X"),
        ("/exports chips partner=Russia", "chips", RUSSIA, None, CHINA, "X"),
        ("/exports partner=USA gallium", "gallium", USA, None, CHINA, "X"),
        ("/exports 2504 RU", "2504", RUSSIA, None, CHINA, "X"),
        ("/exports 8542 RU 2022", "8542", RUSSIA, 2022, CHINA, "X"),
        ("/exports chips Russia 2022 reporter=US flow=imports", "chips", RUSSIA, 2022, USA, "M"),
        ("/exports machine tools South Korea 2023", "machine tools", 410, 2023, CHINA, "X"),
        ("/exports ball bearings Türkiye", "ball bearings", 792, None, CHINA, "X"),
        ("/exports chips Turkey 2023", "chips", 792, 2023, CHINA, "X"),
        ("/exports chips Taiwan", "chips", 490, None, CHINA, "X"),
        ("/exports chips RU reporter=PRC", "chips", RUSSIA, None, CHINA, "X"),
        ("/exports chips 643 2023", "chips", RUSSIA, 2023, CHINA, "X"),
    ],
)
def test_parse_exports(
    lookups: Lookups, text: str, commodity: str, partner: int, year: int | None, reporter: int, flow: str
) -> None:
    _, line = resolve_spec(split_command(text))
    params = parse_exports(line, lookups)
    assert (params.commodity, params.partner.code, params.year, params.reporter.code, params.flow) == (
        commodity,
        partner,
        year,
        reporter,
        flow,
    )


@pytest.mark.parametrize(
    ("text", "error", "says"),
    [
        ("/exports chips", InvalidInput, "needs a commodity and a partner"),
        ("/exports", InvalidInput, "needs a commodity and a partner"),
        ("/exports chips Rusia 2023", NotFound, "Russia"),
        ("/exports chips Atlantis", NotFound, "Unknown partner 'Atlantis'"),
        ("/exports chips RU 22", InvalidInput, "not a year"),
        ("/exports chips RU 1850", InvalidInput, "out of range"),
        ("/exports chips RU year=twenty", InvalidInput, "not a year"),
        ("/exports chips RU flow=sideways", InvalidInput, "flow=exports or flow=imports"),
        ("/exports chips RU colour=red", InvalidInput, "Unknown option colour="),
        ("/exports chips CN", InvalidInput, "both China"),
        ("/exports chips RU reporter=Narnia", NotFound, "Unknown reporter"),
        ("/exports commodity=chips partner=RU extra words", InvalidInput, "Unexpected words"),
    ],
)
def test_parse_exports_errors(lookups: Lookups, text: str, error: type[CommandError], says: str) -> None:
    with pytest.raises(error) as info:
        _, line = resolve_spec(split_command(text))
        parse_exports(line, lookups)
    assert says in info.value.user_text()


def test_build_is_the_same_validation_the_cog_uses(lookups: Lookups) -> None:
    params = ExportsParams.build(commodity="  aluminium   oxide ", partner="HK", year="2022", lookups=lookups)
    assert (params.commodity, params.partner.code, params.year, params.flow) == (
        "aluminium oxide",
        344,
        2022,
        "X",
    )
    with pytest.raises(InvalidInput):
        ExportsParams.build(commodity="", partner="RU", lookups=lookups)
    with pytest.raises(InvalidInput):
        ExportsParams.build(commodity="chips", partner=" ", lookups=lookups)


# --- figures against pandas -----------------------------------------------------------------------------


@pytest.mark.usefixtures("seeded")
async def test_graphite_russia_2023_equals_pandas(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, frame: pd.DataFrame
) -> None:
    reply = await ask(sessions, lookups, "/exports graphite RU 2023")
    n = reply.numbers
    cur, prev = (
        monthly(frame, RUSSIA, ("2504", "380110"), 2023),
        monthly(frame, RUSSIA, ("2504", "380110"), 2022),
    )
    assert [m["value_usd"] for m in n["months"]] == pytest.approx([cur.get(m) for m in range(1, 13)])
    assert [m["base_figure"] for m in n["months"]] == pytest.approx([prev.get(m) for m in range(1, 13)])
    assert [m["period"] for m in n["months"]] == [f"2023-{m:02d}" for m in range(1, 13)]
    assert n["total"] == pytest.approx(sum(cur.values()))
    assert n["base_total"] == pytest.approx(sum(prev.values()))
    assert n["change_pct"] == pytest.approx((sum(cur.values()) / sum(prev.values()) - 1) * 100)
    peak_month = max(cur, key=lambda m: cur[m])
    # the peak against the 12 months before it (Jul 2022 - May 2023 and so on), straight from the file
    trailing = [
        v
        for p, v in {
            **{2022 * 100 + k: x for k, x in prev.items()},
            **{2023 * 100 + k: x for k, x in cur.items()},
        }.items()
        if 202300 + peak_month - 100 <= p < 202300 + peak_month
    ]
    assert n["peak"]["period"] == f"2023-{peak_month:02d}" and n["peak"]["figure"] == pytest.approx(
        cur[peak_month]
    )
    assert n["peak"]["trailing_average"] == pytest.approx(sum(trailing) / len(trailing))
    assert n["codes"] == ["250410", "380110"] and n["level"] == 6
    assert n["source"]["key"] == "china_customs_derived"
    assert n["reporter"]["code"] == CHINA and n["partner"]["code"] == RUSSIA and n["flow"] == "X"
    text = reply.to_text()
    assert "2023 = 1.4× 2022 by value (+35.1%), over all 12 months in both years." in text
    assert "mirror" not in text and "reported by China" in text
    assert "250490" in text  # the family's code the source does not hold is named
    assert reply.citations and reply.citations[0].data_date
    assert all(len(f.value) <= 1024 for f in reply.fields) and len(reply.title) <= 256


@pytest.mark.usefixtures("seeded")
async def test_gallium_to_the_us_and_default_year(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, frame: pd.DataFrame
) -> None:
    reply = await ask(sessions, lookups, "/exports gallium US")
    cur = monthly(frame, USA, ("811292",), 2024)
    assert reply.numbers["year"] == 2024 == int(frame.year.max())
    assert reply.numbers["total"] == pytest.approx(sum(cur.values()))
    assert "latest year with data" in reply.summary[0]
    assert "no HS-6 code isolates gallium" in reply.to_text()
    assert reply.title.startswith(
        "China's exports of gallium, germanium and 5 other minor metals (HS 811292)"
    )


@pytest.mark.usefixtures("seeded")
async def test_hs_code_and_words_as_commodity(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, frame: pd.DataFrame
) -> None:
    by_code = await ask(sessions, lookups, "/exports 380110 RU 2023")
    assert by_code.numbers["total"] == pytest.approx(sum(monthly(frame, RUSSIA, ("380110",), 2023).values()))
    assert by_code.numbers["commodity"]["match"] == "code"
    by_words = await ask(sessions, lookups, "/exports artificial graphite RU 2023")  # an alias: 380110 only
    assert by_words.numbers["codes"] == ["380110"]
    assert by_words.numbers["total"] == by_code.numbers["total"]
    described = await ask(
        sessions, lookups, '/exports "graphite; artificial" RU 2023'
    )  # HS description words
    assert described.numbers["codes"] == ["380110"]
    assert described.numbers["commodity"]["match"] == "description"


# --- honest answers when data is missing ----------------------------------------------------------------


@pytest.mark.usefixtures("seeded")
async def test_chips_russia_2022_without_comtrade_is_honest(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups
) -> None:
    with pytest.raises(NoData) as info:
        await ask(sessions, lookups, "/exports chips RU 2022")
    text = info.value.user_text()
    assert "No data for chips (HS 8542)" in text and "2022" in text
    assert "holds HS 250410, 380110, 811292" in text  # what is loaded for the pair instead
    assert "China monthly exports by partner" in text
    assert (
        "tradewatch import comtrade --api --reporter CN --partner RU --cmd 8542 --period 2021,2022 --freq M --flow X"
        in text
    )
    assert "$" not in text  # no invented figure


@pytest.mark.usefixtures("seeded")
async def test_russia_as_reporter_points_to_the_mirror(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups
) -> None:
    with pytest.raises(NoData) as info:
        await ask(sessions, lookups, "/exports graphite CN 2023 reporter=RU")
    text = info.value.user_text()
    assert "Russia has not published customs statistics since 2022" in text
    assert "`/exports <commodity> RU reporter=CN flow=imports`" in text


async def test_what_is_loaded_lists_trade_sources_only(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, frame: pd.DataFrame
) -> None:
    """A sanctions source is not a trade source; a table loaded by the trade CSV importer under its own key is."""
    await seed_flows(
        sessions,
        frame[frame.partner == USA],
        source_key="customs_table",
        sha256="4" * 64,
        meta={"mapping": {"source": {"key": "customs_table"}}},
    )
    async with sessions() as session, session.begin():
        sanctions = Source(
            key="opensanctions:ua_war_sanctions", title="OpenSanctions: Ukraine", publisher="x"
        )
        session.add(sanctions)
        await session.flush()
        await new_snapshot(session, sanctions, sha256="5" * 64, file_name="targets.simple.csv", now=NOW)
    with pytest.raises(NoData) as info:
        await ask(sessions, lookups, "/exports chips RU 2022")
    text = info.value.user_text()
    assert "Trade sources loaded: customs_table (" in text and "OpenSanctions" not in text


async def test_chips_on_an_empty_database(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups
) -> None:
    with pytest.raises(NoData) as info:
        await ask(sessions, lookups, "/exports chips RU 2022")
    assert "No trade source is loaded yet" in info.value.user_text()
    assert "tradewatch import comtrade" in info.value.user_text()


@pytest.mark.usefixtures("seeded")
async def test_year_without_data_lists_the_years(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups
) -> None:
    with pytest.raises(NoData) as info:
        await ask(sessions, lookups, "/exports graphite RU 2015")
    assert "Years with data: 2017–2024" in info.value.user_text()
    with pytest.raises(InvalidInput) as future:
        await ask(sessions, lookups, "/exports graphite RU 2031")
    assert "future" in future.value.user_text()


@pytest.mark.usefixtures("seeded")
async def test_fetch_trade_is_called_before_giving_up(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, frame: pd.DataFrame
) -> None:
    calls: list[tuple[object, ...]] = []

    async def nothing(session: AsyncSession, *args: object) -> int:
        calls.append(args)
        return 0

    with pytest.raises(NoData) as info:
        await ask(sessions, lookups, "/exports chips RU 2022", fetch_trade=nothing)
    assert calls == [(CHINA, RUSSIA, "X", ["8542"], [2021, 2022])]
    assert "UN Comtrade was asked and returned no rows" in info.value.user_text()

    async def broken(session: AsyncSession, *args: object) -> int:
        raise ConnectionError("comtradeapi.un.org unreachable")

    with pytest.raises(NoData) as failed:
        await ask(sessions, lookups, "/exports chips RU 2022", fetch_trade=broken)
    assert "Fetching from UN Comtrade failed (comtradeapi.un.org unreachable)." in failed.value.user_text()


async def test_fetched_rows_are_used(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, frame: pd.DataFrame
) -> None:
    """A fetcher that stores real rows (here: the file's 811292 rows for Russia) makes the answer appear."""
    subset = frame[(frame.partner == RUSSIA) & (frame.hs6 == "811292")]

    async def fetch(
        session: AsyncSession, reporter: int, partner: int, flow: str, codes: list[str], years: list[int]
    ) -> int:
        return await seed_flows(sessions, subset[subset.year.isin(years)], source_key="comtrade")

    reply = await ask(sessions, lookups, "/exports gallium RU 2023", fetch_trade=fetch)
    assert reply.numbers["total"] == pytest.approx(sum(monthly(frame, RUSSIA, ("811292",), 2023).values()))
    assert reply.numbers["source"]["key"] == "comtrade"


# --- missing months, no double counting, one source -----------------------------------------------------


async def test_missing_months_stay_missing(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, frame: pd.DataFrame
) -> None:
    """Gallium to Russia: the real file has 9 months in 2023 and 9 in 2022; the gaps are not zeros."""
    await seed_flows(sessions, frame[(frame.partner == RUSSIA) & (frame.hs6 == "811292")])
    reply = await ask(sessions, lookups, "/exports gallium RU 2023")
    cur, prev = monthly(frame, RUSSIA, ("811292",), 2023), monthly(frame, RUSSIA, ("811292",), 2022)
    months = reply.numbers["months"]
    assert [m["value_usd"] is None for m in months] == [m not in cur for m in range(1, 13)]
    assert any(m["value_usd"] is None for m in months)
    assert reply.numbers["months_with_data"] == len(cur) < 12
    both = sorted(set(cur) & set(prev))
    expected = (sum(cur[m] for m in both) / sum(prev[m] for m in both) - 1) * 100
    assert reply.numbers["change_pct"] == pytest.approx(expected)
    assert reply.numbers["comparison"]["months_compared"] == both
    assert f"the {len(both)} of 12 months with data in both years" in reply.to_text()
    assert "No data for " in reply.to_text() and "no data" in reply.fields[0].value
    rows = list(csv.DictReader(io.StringIO(reply.attachments[1].data.decode())))
    missing = [r["period"] for r in rows if r["value_usd"] == ""]  # the measure's column (value here)
    assert missing == [f"2022-{m:02d}" for m in range(1, 13) if m not in prev] + [
        f"2023-{m:02d}" for m in range(1, 13) if m not in cur
    ]


async def test_heading_and_subheadings_are_not_both_counted(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, frame: pd.DataFrame
) -> None:
    """The source holds HS-4 2504 (derived from the real 250410 values), the 250410 rows themselves, and
    national 8-digit lines; the answer sums one level (HS-4) and says the finer rows were not added."""
    russia = frame[(frame.partner == RUSSIA) & (frame.hs6 == "250410")]
    await seed_flows(sessions, russia)
    await seed_flows(sessions, russia.assign(hs6="2504"), sha256="1" * 64, file_name="headings")
    await seed_flows(sessions, russia.assign(hs6="25041010"), sha256="2" * 64, file_name="national lines")
    reply = await ask(sessions, lookups, "/exports graphite RU 2023")
    expected = monthly(frame, RUSSIA, ("250410",), 2023)
    assert reply.numbers["total"] == pytest.approx(sum(expected.values()))
    assert reply.numbers["codes"] == ["2504"] and reply.numbers["levels"] == {"2504": 4}
    assert "were not added again" in reply.to_text()
    natural = await ask(sessions, lookups, "/exports 250410 RU 2023")
    assert natural.numbers["total"] == pytest.approx(sum(expected.values()))
    assert natural.numbers["codes"] == ["250410"]


async def test_sources_are_never_added_together(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, frame: pd.DataFrame
) -> None:
    """The same real flows loaded as two sources: one answers (Comtrade on equal coverage), named with the
    other; when Comtrade covers only half the year, the complete derived table answers instead."""
    graphite = frame[(frame.partner == RUSSIA) & frame.hs6.isin(["250410", "380110"])]
    await seed_flows(sessions, graphite)
    await seed_flows(
        sessions,
        graphite,
        source_key="comtrade",
        sha256="3" * 64,
        file_name="comtrade.json",
        data_date="2024-12",
    )
    expected = sum(monthly(frame, RUSSIA, ("2504", "380110"), 2023).values())
    reply = await ask(sessions, lookups, "/exports graphite RU 2023")
    assert reply.numbers["total"] == pytest.approx(expected)
    assert reply.numbers["source"]["key"] == "comtrade"
    assert sorted(reply.numbers["source"]["candidates"]) == ["china_customs_derived", "comtrade"]
    assert "never added together" in reply.to_text()
    assert [c.source for c in reply.citations] == ["UN Comtrade"]
    async with sessions() as session, session.begin():
        comtrade = select(Source.id).where(Source.key == "comtrade").scalar_subquery()
        await session.execute(
            delete(TradeFlow).where(
                TradeFlow.period > 202306, TradeFlow.period < 202400, TradeFlow.source_id == comtrade
            )
        )
    partial = await ask(sessions, lookups, "/exports graphite RU 2023")
    assert partial.numbers["source"]["key"] == "china_customs_derived"
    assert partial.numbers["total"] == pytest.approx(expected)
    assert "most complete coverage" in partial.to_text()


async def test_annual_only_source(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, frame: pd.DataFrame
) -> None:
    """Annual totals (summed from the real monthly rows) answer with totals and change, no months."""
    yearly = (
        frame[(frame.partner == RUSSIA) & (frame.hs6 == "380110")]
        .groupby("year", as_index=False)
        .agg(val=("val", "sum"), qty=("qty", "sum"))
        .assign(hs6="380110", partner=RUSSIA)
    )
    yearly["period"] = yearly["year"] * 100
    await seed_flows(sessions, yearly, source_key="comtrade", freq="A")
    reply = await ask(sessions, lookups, "/exports 380110 RU 2023")
    totals = dict(zip(yearly.year, yearly.val, strict=True))
    assert reply.numbers["freq"] == "A" and reply.numbers["months"] == []
    assert reply.numbers["total"] == pytest.approx(totals[2023])
    assert reply.numbers["change_pct"] == pytest.approx((totals[2023] / totals[2022] - 1) * 100)
    assert reply.attachments[0].data[:8] == b"\x89PNG\r\n\x1a\n"


# --- attachments ----------------------------------------------------------------------------------------


@pytest.mark.usefixtures("seeded")
async def test_chart_and_csv(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, frame: pd.DataFrame
) -> None:
    reply = await ask(sessions, lookups, "/exports graphite RU 2023")
    png, table = reply.attachments
    assert png.filename.endswith(".png") and png.data[:8] == b"\x89PNG\r\n\x1a\n" and len(png.data) > 20_000
    rows = list(csv.DictReader(io.StringIO(table.data.decode())))
    assert len(rows) == 24 and rows[0]["period"] == "2022-01" and rows[-1]["period"] == "2023-12"
    by_code = frame[(frame.partner == RUSSIA) & (frame.hs6 == "380110")].set_index("period")["val"]
    assert float(rows[12]["value_usd_hs_380110"]) == pytest.approx(by_code[202301])
    assert float(rows[12]["value_usd"]) == pytest.approx(monthly(frame, RUSSIA, ("2504", "380110"), 2023)[1])
    assert {r["partner"] for r in rows} == {"Russia"}


@pytest.mark.usefixtures("seeded")
async def test_commodity_errors(sessions: async_sessionmaker[AsyncSession], lookups: Lookups) -> None:
    with pytest.raises(NotFound) as unknown:
        await ask(sessions, lookups, "/exports xqzzyv RU 2023")
    assert "No alias or HS description matches 'xqzzyv'" in unknown.value.user_text()
    with pytest.raises(NotFound) as bad_code:
        await ask(sessions, lookups, "/exports 854299 RU 2023")
    assert "HS 854299 is not in the HS nomenclature" in bad_code.value.user_text()
    assert "854290" in bad_code.value.user_text()
    with pytest.raises(Ambiguous) as ambiguous:
        await ask(sessions, lookups, "/exports tungsten RU 2023")
    assert "8101" in ambiguous.value.user_text() and "2611" in ambiguous.value.user_text()
    with pytest.raises(InvalidInput) as national:
        await ask(sessions, lookups, "/exports 85423100 RU 2023")
    assert "854231" in national.value.user_text()


async def test_run_exports_direct_call(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, frame: pd.DataFrame
) -> None:
    """The cog path: build the params from typed options and call run_exports."""
    await seed_flows(sessions, frame[frame.partner == HONG_KONG])
    params = ExportsParams.build(commodity="graphite", partner="Hong Kong", year=2022, lookups=lookups)
    async with sessions() as session:
        reply = await run_exports(ctx_for(session, lookups), params)
    assert reply.numbers["total"] == pytest.approx(
        sum(monthly(frame, HONG_KONG, ("2504", "380110"), 2022).values())
    )


@pytest.mark.parametrize(
    ("label", "kept"),
    [
        ("graphite, natural and artificial (HS 2504, 380110)", "(HS 2504, 380110)"),
        ("gallium, germanium and 5 other minor metals (HS 811292)", "(HS 811292)"),
        ("integrated circuits (chips, HS 8542)", "(chips, HS 8542)"),
    ],
)
def test_chart_subtitle_keeps_the_codes_when_cut(label: str, kept: str) -> None:
    from commands.exports_reply import SUBTITLE_CHARS, _fit

    width = SUBTITLE_CHARS - len(", monthly")
    fitted = _fit(label, width)
    assert len(fitted) <= width and fitted.endswith(kept)
    assert fitted.split(" (")[0].rstrip("…") in label
