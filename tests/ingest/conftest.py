"""Fixtures for importer tests: the real files' expected contents (computed with pandas) and the Comtrade stand-in."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.lookups import Lookups
from db.models import HsCode, Snapshot, TradeFlow
from tests.ingest.comtrade_standin import ComtradeStandIn, china_records, start

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
CHINA_TABLE = Path("trade/china_exports_hs6_monthly_derived/deep_dive_hs6_monthly.csv")
IMF_TABLE = Path("trade/imf_imts_russia_bilateral/RU_trade.csv")
HS_TABLE = Path("hs/harmonized-system.csv")
INDIA_SAMPLE = Path("trade/comtrade_api_samples/india_exports_2022_single_partner.json")


@pytest.fixture(scope="session")
def china_frame(shared_data: Path, lookups: Lookups) -> pd.DataFrame:
    """The real China table, with Comtrade partner codes and YYYYMM periods added (pandas, independent of the importer)."""
    return read_china_frame(shared_data, lookups)


def read_china_frame(shared_data: Path, lookups: Lookups) -> pd.DataFrame:
    """See `china_frame`."""
    frame = pd.read_csv(shared_data / CHINA_TABLE, dtype={"hs6": str})
    codes = {name: lookups.country(name) for name in frame["partner_name"].unique()}
    frame["partner"] = frame["partner_name"].map(lambda n: codes[n].code)  # type: ignore[union-attr]
    frame["period"] = frame["period_dt"].str[:4].astype(int) * 100 + frame["period_dt"].str[5:7].astype(int)
    return frame


async def flow_rows(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[Any, ...]]:
    """Every trade_flows row without ids (to compare database states)."""
    cols = [
        TradeFlow.source_id,
        TradeFlow.snapshot_id,
        TradeFlow.reporter,
        TradeFlow.partner,
        TradeFlow.flow,
        TradeFlow.hs_code,
        TradeFlow.period,
        TradeFlow.freq,
        TradeFlow.hs_level,
        TradeFlow.value_usd,
        TradeFlow.net_kg,
        TradeFlow.qty,
        TradeFlow.qty_unit,
    ]
    async with sessions() as session:
        return sorted(tuple(r) for r in await session.execute(select(*cols)))


async def hs_rows(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[Any, ...]]:
    """Every hs_codes row."""
    async with sessions() as session:
        stmt = select(HsCode.code, HsCode.level, HsCode.description, HsCode.parent, HsCode.section)
        return sorted(tuple(r) for r in await session.execute(stmt))


async def snapshot_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int((await session.execute(select(func.count()).select_from(Snapshot))).scalar_one())


@pytest.fixture
async def comtrade_standin(shared_data: Path, lookups: Lookups) -> AsyncIterator[ComtradeStandIn]:
    """The UN Comtrade stand-in on 127.0.0.1 serving the real China rows as v1 records."""
    standin = ComtradeStandIn(china_records(shared_data, lookups))
    runner = await start(standin)
    yield standin
    await runner.cleanup()
