"""Seed helpers for trade tests: rows built at test time from the real shared files, never invented numbers.

`seed_derived` loads the real China monthly exports table (deep_dive_hs6_monthly.csv) as TradeFlow rows the
way the trade CSV importer stores it (reporter 156, flow X, HS-6, monthly). `seed_hs` loads the real HS
nomenclature file. Used until/alongside the real importers (tests/e2e use the importers themselves).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pandas as pd
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.base import get_source, new_snapshot, sha256_file
from db.lookups import Lookups
from db.models import HsCode, TradeFlow

DERIVED = Path("trade/china_exports_hs6_monthly_derived/deep_dive_hs6_monthly.csv")
HS_FILE = Path("hs/harmonized-system.csv")
CHINA = 156
NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def derived_frame(shared_data: Path, lookups: Lookups) -> pd.DataFrame:
    """The real derived table with Comtrade partner codes, periods (YYYYMM) and string HS codes."""
    frame = pd.read_csv(shared_data / DERIVED, dtype={"hs6": str})
    codes = {name: lookups.country(name) for name in frame["partner_name"].unique()}
    unknown = [name for name, c in codes.items() if c is None]
    assert not unknown, f"partner names without a country: {unknown}"
    frame["partner"] = frame["partner_name"].map(lambda n: codes[n].code)  # type: ignore[union-attr]
    frame["period"] = frame["period_dt"].str[:4].astype(int) * 100 + frame["period_dt"].str[5:7].astype(int)
    frame["year"] = frame["period"] // 100
    return frame


async def seed_flows(
    sessions: async_sessionmaker[AsyncSession],
    frame: pd.DataFrame,
    *,
    source_key: str = "china_customs_derived",
    file_name: str = "deep_dive_hs6_monthly.csv",
    sha256: str = "0" * 64,
    data_date: str | None = "periods 2017-01 to 2024-12",
    hs_level: int | None = None,
    freq: str = "M",
    meta: dict[str, object] | None = None,
) -> int:
    """Insert the rows of `frame` (columns partner, period, hs6, val, qty) as China-reported monthly exports."""
    async with sessions() as session, session.begin():
        source = await get_source(session, source_key)
        snapshot = await new_snapshot(
            session, source, sha256=sha256, file_name=file_name, now=NOW, data_date=data_date, meta=meta
        )
        rows = [
            {
                "source_id": source.id,
                "snapshot_id": snapshot.id,
                "reporter": CHINA,
                "partner": int(r.partner),
                "flow": "X",
                "hs_code": str(r.hs6),
                "hs_level": len(str(r.hs6)) if hs_level is None else hs_level,
                "freq": freq,
                "period": int(r.period),
                "value_usd": float(r.val),
                "net_kg": None,
                # As the shipped mapping loads the file: quantities in kg; a 0 next to a value is "not reported".
                "qty": None if float(r.qty) == 0 and float(r.val) > 0 else float(r.qty),
                "qty_unit": None if float(r.qty) == 0 and float(r.val) > 0 else "kg",
            }
            for r in frame.itertuples()
        ]
        if rows:
            await session.execute(insert(TradeFlow), rows)
        snapshot.rows_read = snapshot.rows_loaded = len(rows)
    return len(rows)


async def seed_derived(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, lookups: Lookups
) -> int:
    """The whole real derived table, as the china_customs_derived source."""
    frame = derived_frame(shared_data, lookups)
    return await seed_flows(sessions, frame, sha256=sha256_file(shared_data / DERIVED))


async def seed_hs(sessions: async_sessionmaker[AsyncSession], shared_data: Path) -> int:
    """The real HS nomenclature (2, 4 and 6-digit codes) into hs_codes."""
    with (shared_data / HS_FILE).open(encoding="utf-8-sig", newline="") as fh:
        rows = [
            {
                "code": r["hscode"],
                "level": int(r["level"]),
                "description": r["description"],
                "parent": r["parent"] if r["parent"].isdigit() else None,
                "section": r["section"],
            }
            for r in csv.DictReader(fh)
            if r["level"] in ("2", "4", "6")
        ]
    async with sessions() as session, session.begin():
        await session.execute(insert(HsCode), rows)
    return len(rows)
