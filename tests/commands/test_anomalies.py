"""Anomaly flags: the rule on hand-made series (invented numbers, said so), and /exports, /top (partners and
goods) and /compare against the real China HS-6 table, recomputed with pandas from the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commands.anomalies import MIN_BASE_USD_PER_MONTH, anomaly_flags
from commands.context import Context
from commands.registry import run_text
from db.lookups import Lookups
from db.sources import load_importer
from tests.commands.trade_seed import DERIVED, NOW, derived_frame

HONG_KONG = 344
YEAR_2023 = [202300 + m for m in range(1, 13)]


def flat(value: float, years: range = range(2017, 2024)) -> dict[int, float]:
    """An invented, flat monthly series."""
    return {y * 100 + m: value for y in years for m in range(1, 13)}


def test_record_and_trailing_multiple_fire_on_a_jump() -> None:
    series = flat(200_000.0) | {202305: 2_000_000.0}
    flags = anomaly_flags(series, YEAR_2023)
    assert flags == [
        "May 2023 was the highest month on record at the time ($2.00M; records from January 2017).",
        "May 2023 is 10.0× the trailing 12-month average ($200.0K a month).",
    ]


def test_no_flag_on_a_tiny_base_or_a_short_record() -> None:
    tiny = flat(100.0) | {202305: 90_000.0}  # 900× a tiny base, under the minimum value
    assert anomaly_flags(tiny, YEAR_2023) == []
    small_base = flat(1_000.0) | {202305: 5_000_000.0}  # a record, but the average is too small to multiply
    assert [f for f in anomaly_flags(small_base, YEAR_2023) if "average" in f] == []
    short = flat(200_000.0, range(2023, 2024)) | {202305: 2_000_000.0}  # records only from January 2023
    assert not any("on record" in f for f in anomaly_flags(short, YEAR_2023))


def test_first_trade_since_a_year() -> None:
    series = {201801: 500_000.0, 202303: 300_000.0, 202304: 400_000.0}
    assert anomaly_flags(series, YEAR_2023)[-1] == (
        "March 2023: the first trade since 2018 ($300.0K; none recorded from February 2018 to February 2023)."
    )
    assert not any("first trade" in f for f in anomaly_flags({201801: 500_000.0, 202303: 50.0}, YEAR_2023))


@pytest.fixture
async def loaded(sessions: async_sessionmaker[AsyncSession], shared_data: Path, lookups: Lookups) -> None:
    await load_importer("trade-csv")(
        sessions, shared_data / DERIVED, now=NOW, mapping="china_exports_hs6_monthly", lookups=lookups
    )


@pytest.mark.usefixtures("loaded")
async def test_flags_on_exports_top_and_compare_match_the_file(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path
) -> None:
    frame = derived_frame(shared_data, lookups)
    hk = frame[(frame.partner == HONG_KONG) & (frame.hs6 == "811292")].groupby("period").val.sum()
    top_period = int(hk[hk.index // 100 == 2024].idxmax())
    assert hk[top_period] == hk[hk.index <= top_period].max() >= MIN_BASE_USD_PER_MONTH
    # The 12 months before November 2024: November 2023 to October 2024 (the months with data among them).
    before = [float(hk[p]) for p in [202311, 202312, *range(202401, top_period)] if p in hk.index]
    multiple = hk[top_period] / (sum(before) / len(before))

    async def ask(text: str) -> list[str]:
        async with sessions() as session:
            reply = await run_text(Context(session=session, lookups=lookups, now=lambda: NOW), text)
        flags: list[str] = reply.numbers["flags"]
        return flags

    exports = await ask("/exports gallium HK 2024")
    assert exports[0].startswith("November 2024 was the highest month on record") and top_period == 202411
    assert (
        exports[1]
        == f"November 2024 is {multiple:.1f}× the trailing 12-month average (${sum(before) / len(before) / 1e6:.2f}M a month)."
    )
    top = await ask("/top partners gallium 2024")
    assert f"Hong Kong: {exports[0]}" in top and f"Hong Kong: {exports[1]}" in top
    goods = await ask("/top goods Hong Kong 2024")
    assert any(f.startswith("811292") and f.endswith(f": {exports[0]}") for f in goods), goods
    compare = await ask("/compare gallium Hong Kong, Russia 2023-2024")
    assert f"China → Hong Kong: {exports[0]}" in compare
    early = await ask("/exports gallium HK 2024 months=1-3")
    assert all(any(m in f for m in ("January 2024", "February 2024", "March 2024")) for f in early)
