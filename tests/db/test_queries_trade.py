"""Trade queries: the source choice and level rules, and every query shape answered through an index whose
leading columns are its equality columns (checked with EXPLAIN on SQLite and PostgreSQL, not timed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.lookups import Lookups
from db.queries import trade as tq
from db.queries.trade import SourceCoverage, TradeScope
from tests.commands.trade_seed import derived_frame, seed_flows

PAIR = TradeScope(156, "X", ("2504", "380110"), 643)
ALL_PARTNERS = TradeScope(156, "X", ("2504", "380110"))
GOODS = TradeScope(156, "X", (), 643)
LEVELS = {"2504": 6, "380110": 6}


def coverage(key: str, freq: str, periods: int, source_id: int = 1) -> SourceCoverage:
    return SourceCoverage(source_id, key, key, freq, periods, periods * 10)


@pytest.mark.parametrize(
    ("candidates", "prefer_monthly", "chosen"),
    [
        # equal coverage: the publisher's own data (Comtrade) before the derived table
        ([coverage("china_customs_derived", "M", 12, 1), coverage("comtrade", "M", 12, 2)], True, "comtrade"),
        # more months wins over preference
        (
            [coverage("china_customs_derived", "M", 12, 1), coverage("comtrade", "M", 6, 2)],
            True,
            "china_customs_derived",
        ),
        # /exports wants months: partial monthly beats an annual total; /top wants a complete year
        ([coverage("comtrade", "A", 1, 1), coverage("trade_csv", "M", 9, 2)], True, "trade_csv"),
        ([coverage("comtrade", "A", 1, 1), coverage("trade_csv", "M", 9, 2)], False, "comtrade"),
        ([coverage("comtrade", "A", 1, 1), coverage("trade_csv", "M", 12, 2)], False, "trade_csv"),
        # unknown keys rank after the catalogue's, ties go to the first loaded
        ([coverage("my_table", "M", 12, 1), coverage("imf_imts", "M", 12, 2)], True, "imf_imts"),
        ([coverage("b_table", "M", 12, 2), coverage("a_table", "M", 12, 1)], True, "a_table"),
    ],
)
def test_choose_source(candidates: list[SourceCoverage], prefer_monthly: bool, chosen: str) -> None:
    picked = tq.choose_source(candidates, prefer_monthly=prefer_monthly)
    assert picked is not None and picked.source_key == chosen


def test_choose_source_of_nothing() -> None:
    assert tq.choose_source([], prefer_monthly=True) is None


def test_coarsest_level_per_prefix() -> None:
    assert tq.coarsest_levels({"8542": [4, 6], "2504": [6, 8], "90": [2, 4, 6], "x": []}) == {
        "8542": 4,
        "2504": 6,
        "90": 2,
    }


@pytest.fixture
async def loaded(sessions: async_sessionmaker[AsyncSession], shared_data: Path, lookups: Lookups) -> None:
    """The real China table's graphite rows for Russia, plus an HS-4 copy of 250410 (a heading and its
    subheading in one source) and national 8-digit lines (another source), all from real values."""
    frame = derived_frame(shared_data, lookups)
    russia = frame[frame.partner == 643]
    await seed_flows(sessions, russia)
    await seed_flows(
        sessions, russia[russia.hs6 == "250410"].assign(hs6="2504"), sha256="1" * 64, file_name="headings"
    )
    await seed_flows(
        sessions,
        russia.assign(hs6=russia.hs6 + "00"),
        source_key="national_lines",
        sha256="2" * 64,
        file_name="lines",
    )


@pytest.mark.usefixtures("loaded")
async def test_levels_and_series(session: AsyncSession) -> None:
    present = await tq.levels_present(session, PAIR, 1, "M", (202200, 202312))
    assert present == {"2504": [4, 6], "380110": [6]}
    levels = tq.coarsest_levels(present)
    rows = await tq.series_by_code(session, PAIR, 1, "M", levels, (202300, 202312))
    assert {r.hs_code for r in rows} == {"2504", "380110"}  # 250410 is inside 2504: not summed again
    cover = await tq.source_coverage(session, PAIR, 2023)
    assert sorted((c.source_key, c.periods) for c in cover) == [
        ("china_customs_derived", 12),
        ("national_lines", 12),
    ]
    assert await tq.latest_period(session, PAIR) == 202412
    assert await tq.years_with_data(session, PAIR) == list(range(2017, 2025))
    codes, first, last = await tq.pair_holdings(session, 156, 643, "X")
    assert codes[:3] == ["2504", "250410", "25041000"] and (first, last) == (201701, 202412)


@pytest.mark.usefixtures("loaded")
async def test_source_coverage_counts_each_row_once_whatever_the_prefixes(session: AsyncSession) -> None:
    """Looked up one prefix at a time, nested prefixes ("25" holds "2504" and "250410") are dropped first."""
    parts = tq._prefix_scopes(TradeScope(156, "X", ("250410", "25", "380110", "2504", "TOTAL"), 643))
    assert [p.prefixes for p in parts] == [("25",), ("380110",), ("TOTAL",)]
    assert {(p.reporter, p.flow, p.partner) for p in parts} == {(156, "X", 643)}
    assert tq._prefix_scopes(GOODS) == [GOODS] and tq._prefix_scopes(TradeScope(156, "X", ("25",))) == [
        TradeScope(156, "X", ("25",))
    ]

    def counted(cover: list[tq.SourceCoverage]) -> list[tuple[str, str, int, int]]:
        return sorted((c.source_key, c.freq, c.periods, c.rows) for c in cover)

    whole = counted(await tq.source_coverage(session, TradeScope(156, "X", ("25", "38"), 643), 2023))
    nested = TradeScope(156, "X", ("2504", "25", "250410", "38", "380110"), 643)
    assert whole and counted(await tq.source_coverage(session, nested, 2023)) == whole
    alone = counted(await tq.source_coverage(session, TradeScope(156, "X", ("25",), 643), 2023))
    assert alone != whole  # the 38 rows count too


TWO_YEARS = [*range(202301, 202313), *range(202201, 202213)]  # a /top window: the months and the year before


def test_month_runs() -> None:
    assert tq.month_runs(TWO_YEARS) == [(202201, 202212), (202301, 202312)]
    assert tq.month_runs([202303, 202301, 202302, 202305, 202300, 202200]) == [
        (202200, 202200),
        (202300, 202300),  # an annual period never joins a run of months
        (202301, 202303),
        (202305, 202305),
    ]
    assert tq.month_runs([202212, 202301]) == [(202212, 202212), (202301, 202301)]  # never across a year
    assert tq.month_runs([]) == []


@pytest.mark.usefixtures("loaded")
async def test_a_window_of_months_reads_the_same_rows_as_its_range(session: AsyncSession) -> None:
    as_list = await tq.partner_amounts(session, ALL_PARTNERS, 1, "M", LEVELS, TWO_YEARS)
    as_range = await tq.partner_amounts(session, ALL_PARTNERS, 1, "M", LEVELS, (202201, 202312))
    assert as_list and sorted(as_list, key=repr) == sorted(as_range, key=repr)
    some = [202301, 202302, 202306, 202201, 202202, 202206]  # runs and single months
    rows = await tq.partner_amounts(session, ALL_PARTNERS, 1, "M", LEVELS, some)
    by_month: dict[tuple[str, int], float | None] = {}
    for month in some:
        for r in await tq.partner_amounts(session, ALL_PARTNERS, 1, "M", LEVELS, (month, month)):
            by_month[(r.key, r.period)] = r.amount.value_usd
    assert rows and {(r.key, r.period): pytest.approx(r.amount.value_usd) for r in rows} == by_month


async def explained(engine: AsyncEngine, run: Callable[[], Awaitable[object]]) -> list[tuple[str, list[str]]]:
    """Run queries, then EXPLAIN each trade_flows statement they sent (same SQL, same parameters)."""
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "trade_flows" in statement and not statement.startswith("EXPLAIN"):
            seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        await run()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    sqlite = engine.dialect.name == "sqlite"
    plans = []
    async with engine.connect() as conn:
        # Tiny test tables make a sequential scan cheapest; disabling it shows whether an index CAN serve.
        await conn.exec_driver_sql("ANALYZE" if sqlite else "SET enable_seqscan = off")
        for statement, parameters in seen:
            prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            rows = (await conn.exec_driver_sql(prefix + statement, parameters)).all()  # type: ignore[arg-type]
            plans.append((statement, [str(r[-1]) for r in rows]))
    return plans


@pytest.mark.usefixtures("loaded")
async def test_every_query_shape_uses_an_index(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async def run() -> None:
        async with sessions() as s:
            await tq.latest_period(s, PAIR)
            await tq.years_with_data(s, PAIR)
            await tq.source_coverage(s, PAIR, 2023)
            await tq.source_coverage(s, ALL_PARTNERS, 2023)
            await tq.periods_present(s, ALL_PARTNERS, 1, "M", 2023)
            await tq.levels_present(s, PAIR, 1, "M", (202200, 202312))
            await tq.series_by_code(s, PAIR, 1, "M", LEVELS, (202200, 202312))
            await tq.partner_amounts(s, ALL_PARTNERS, 1, "M", LEVELS, [202301, 202201])
            await tq.codes_summed(s, ALL_PARTNERS, 1, "M", LEVELS, [202301, 202201])
            await tq.partner_amounts(s, ALL_PARTNERS, 1, "M", LEVELS, TWO_YEARS)
            await tq.levels_present(s, ALL_PARTNERS, 1, "M", TWO_YEARS)
            await tq.goods_levels(s, GOODS, 1, "M", [202301, 202201])
            await tq.goods_amounts(s, GOODS, 1, "M", 4, [202301, 202201])
            await tq.all_goods_amounts(s, GOODS, 1, "M", [202301, 202201])
            await tq.pair_holdings(s, 156, 643, "X")
            await tq.codes_held(s, 1, 156, "X", ["250410", "250490", "TOTAL"])
            await tq.partner_amounts(s, ALL_PARTNERS, 1, "M", LEVELS, TWO_YEARS, volumes=True)

    plans = await explained(engine, run)
    assert len(plans) >= 17
    for statement, plan in plans:
        text = "\n".join(plan)
        if engine.dialect.name == "sqlite":
            flows = [line for line in plan if "trade_flows" in line]
            assert flows and all(line.startswith("SEARCH trade_flows USING") for line in flows), (
                statement,
                text,
            )
        else:
            assert "Seq Scan on trade_flows" not in text and "Index" in text, (statement, text)
        assert "LIKE" not in statement.upper()
