"""IMF IMTS bilateral import on the real Russia file: counts and values against pandas, TOTAL rows, rollback."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest import imf
from db.ingest.base import ImportFailed
from db.lookups import Lookups
from tests.ingest.conftest import IMF_TABLE, NOW, flow_rows, snapshot_count

YEARS = [str(y) for y in range(2016, 2025)]


@pytest.fixture(scope="module")
def observations(shared_data: Path) -> pd.DataFrame:
    """Non-empty (series, year) cells of the real file, in long form (pandas, independent of the importer)."""
    wide = pd.read_csv(shared_data / IMF_TABLE, dtype=str, keep_default_na=False)
    long = wide.melt(
        id_vars=["INDICATOR.ID", "COUNTERPART_COUNTRY.ID", "SCALE.ID"],
        value_vars=YEARS,
        var_name="year",
        value_name="value",
    )
    return long[long["value"].str.strip() != ""]


def partner_code(code: str, lookups: Lookups) -> int | None:
    if code.startswith(("G", "TX")) and len(code) > 3:
        return None
    country = lookups.country({"WBG": "PS"}.get(code, code))
    return country.code if country else None


async def test_real_file_matches_pandas(
    sessions: async_sessionmaker[AsyncSession],
    shared_data: Path,
    lookups: Lookups,
    observations: pd.DataFrame,
) -> None:
    report = await imf.run_import(sessions, shared_data / IMF_TABLE, now=NOW, lookups=lookups)
    partners = observations["COUNTERPART_COUNTRY.ID"].map(lambda c: partner_code(c, lookups))
    kept = observations[partners.notna()].assign(partner=partners[partners.notna()].astype(int))
    assert report.rows_read == len(observations)
    assert report.rows_loaded == len(kept) and report.rows_skipped == len(observations) - len(kept)
    rows = {(r[3], r[4], r[6]): r for r in await flow_rows(sessions)}
    assert len(rows) == len(kept)
    for obs in kept.itertuples():
        flow = {"XG_FOB_USD": "X", "MG_CIF_USD": "M"}[obs[1]]
        row = rows[(obs.partner, flow, int(obs.year) * 100)]
        assert row[2] == 643 and row[5:9] == ("TOTAL", int(obs.year) * 100, "A", 0)
        assert row[9] == float(Decimal(obs.value) * 10 ** int(obs[3]))  # millions of USD -> USD, exactly


async def test_china_and_taiwan_codes(
    sessions: async_sessionmaker[AsyncSession],
    shared_data: Path,
    lookups: Lookups,
    observations: pd.DataFrame,
) -> None:
    await imf.run_import(sessions, shared_data / IMF_TABLE, now=NOW, lookups=lookups)
    rows = await flow_rows(sessions)
    china = observations[
        (observations["COUNTERPART_COUNTRY.ID"] == "CHN")
        & (observations["INDICATOR.ID"] == "XG_FOB_USD")
        & (observations["year"] == "2023")
    ]
    stored = [r for r in rows if r[3] == 156 and r[4] == "X" and r[6] == 202300]
    assert [r[9] for r in stored] == [float(Decimal(china["value"].iloc[0]) * 1_000_000)]
    assert {r[3] for r in rows} >= {490, 344, 842}  # Taiwan as Comtrade's 490, Hong Kong, USA as 842
    assert not {r[3] for r in rows} & {0}


async def test_same_file_twice_and_a_newer_one(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, lookups: Lookups, tmp_path: Path
) -> None:
    await imf.run_import(sessions, shared_data / IMF_TABLE, now=NOW, lookups=lookups)
    before, snaps = await flow_rows(sessions), await snapshot_count(sessions)
    assert (await imf.run_import(sessions, shared_data / IMF_TABLE, now=NOW, lookups=lookups)).already_loaded
    assert await flow_rows(sessions) == before and await snapshot_count(sessions) == snaps
    # A newer copy without the Armenia series rows (an edit made for this test): those rows are removed.
    lines = (shared_data / IMF_TABLE).read_text(encoding="utf-8-sig").splitlines(keepends=True)
    kept = [line for line in lines if '"ARM"' not in line]
    newer = tmp_path / "RU_trade.csv"
    newer.write_text("".join(kept), encoding="utf-8")
    report = await imf.run_import(sessions, newer, now=NOW, lookups=lookups)
    armenia = [r for r in before if r[3] == 51]
    assert armenia and report.rows_loaded == 0
    assert report.extra["new / updated / removed rows"] == f"0 / 0 / {len(armenia)}"
    assert await flow_rows(sessions) == [r for r in before if r[3] != 51]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace('"6","Millions"', '"x","Millions"', 1),
            "line 2: SCALE.ID 'x' is not a power of ten",
        ),
        (lambda t: t.replace('"0.001435"', '"1.2.3"', 1), "line 2, 2017: '1.2.3' is not a number"),
        (lambda t: t.replace('"0.001435"', '"-4"', 1), "is not a non-negative finite number"),
        (lambda t: t.replace('"SCALE.ID",', '"SCALE_ID",', 1), "missing column.s. SCALE.ID"),
        (lambda t: t[: len(t) // 2], r"line \d+: .*truncated"),
    ],
)
async def test_malformed_file_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
    shared_data: Path,
    lookups: Lookups,
    tmp_path: Path,
    edit,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    bad = tmp_path / "RU_trade.csv"
    bad.write_text(edit((shared_data / IMF_TABLE).read_text(encoding="utf-8-sig")), encoding="utf-8")
    with pytest.raises(ImportFailed, match=message):
        await imf.run_import(sessions, bad, now=NOW, lookups=lookups)
    assert await flow_rows(sessions) == [] and await snapshot_count(sessions) == 0
