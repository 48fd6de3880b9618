"""Generic trade CSV import: the real China table through its shipped mapping, roll-ups, mappings and failures."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest import trade_csv
from db.ingest.base import ImportFailed
from db.lookups import Lookups
from db.models import Snapshot, Source
from tests.ingest.conftest import CHINA_TABLE, NOW, flow_rows, snapshot_count

MAPPING = "china_exports_hs6_monthly"
# A small mapping for hand-made files in the China table's format (a test source, said so in its title).
TEST_OPTIONS = {
    "period_col": "period_dt",
    "partner_col": "partner_name",
    "hs_col": "hs6",
    "value_col": "val",
    "qty_col": "qty",
    "reporter": "CN",
    "flow": "X",
    "source_key": "test_csv",
    "source_title": "Hand-made test rows (numbers invented for the test)",
    "publisher": "tests/ingest",
}
HEADER = ["period_dt", "partner_name", "hs6", "val", "qty", "uv"]


def write_rows(tmp_path: Path, rows: list[list[str]], name: str = "rows.csv") -> Path:
    """A CSV in the China table's format. Numbers written by tests are invented for the test."""
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([HEADER, *rows])
    return path


async def import_file(
    sessions: async_sessionmaker[AsyncSession], path: Path, lookups: Lookups, **options: object
):  # type: ignore[no-untyped-def]
    return await trade_csv.run_import(sessions, path, now=NOW, lookups=lookups, **options)


async def test_china_table_matches_the_file(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, lookups: Lookups, china_frame: pd.DataFrame
) -> None:
    report = await import_file(sessions, shared_data / CHINA_TABLE, lookups, mapping=MAPPING)
    assert report.rows_read == report.rows_loaded == len(china_frame) and report.rows_skipped == 0
    rows = await flow_rows(sessions)
    assert len(rows) == len(china_frame)
    stored = {(r[3], r[5], r[6]): r for r in rows}
    for f in china_frame.itertuples():
        row = stored[(f.partner, f.hs6, f.period)]
        assert row[2:5] == (156, f.partner, "X") and row[7:9] == ("M", 6)
        assert row[9] == pytest.approx(f.val, rel=1e-12)
        assert row[11] == (None if f.qty == 0 else pytest.approx(f.qty, rel=1e-12))
        # The table names no unit; its mapping declares kg (UN Comtrade's unit for these codes, $1-5 a kg).
        assert row[12] == (None if f.qty == 0 else "kg")
    async with sessions() as session:
        snap, source = (await session.execute(select(Snapshot, Source).join(Source))).one()
    assert source.key == "china_customs_derived" and "China-reported" in source.publisher
    assert snap.data_date == "2024-12" and snap.rows_loaded == len(china_frame)


async def test_same_file_twice_changes_nothing(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, lookups: Lookups
) -> None:
    await import_file(sessions, shared_data / CHINA_TABLE, lookups, mapping=MAPPING)
    before, snaps = await flow_rows(sessions), await snapshot_count(sessions)
    again = await import_file(sessions, shared_data / CHINA_TABLE, lookups, mapping=MAPPING)
    assert again.already_loaded
    assert await flow_rows(sessions) == before and await snapshot_count(sessions) == snaps


async def test_newer_copy_upserts_and_drops(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, lookups: Lookups, tmp_path: Path
) -> None:
    """A copy of the real table with one value edited and one row removed (edits made for this test)."""
    await import_file(sessions, shared_data / CHINA_TABLE, lookups, mapping=MAPPING)
    lines = (shared_data / CHINA_TABLE).read_text(encoding="utf-8").splitlines(keepends=True)
    head, first, second, rest = lines[0], lines[1], lines[2], lines[3:]
    cells = first.split(",")
    cells[3] = str(float(cells[3]) + 1000)
    newer = tmp_path / "deep_dive_hs6_monthly.csv"
    newer.write_text(head + ",".join(cells) + "".join(rest), encoding="utf-8")
    report = await import_file(sessions, newer, lookups, mapping=MAPPING)
    assert (report.rows_loaded, report.rows_unchanged) == (1, len(lines) - 3)
    assert report.extra["new / updated / removed rows"] == "0 / 1 / 1"
    rows = await flow_rows(sessions)
    assert len(rows) == len(lines) - 2
    removed = second.split(",")
    assert not [
        r
        for r in rows
        if (r[6], r[5]) == (int(removed[0][:4] + removed[0][5:7]), removed[2]) and r[9] == float(removed[3])
    ]


async def test_changed_mapping_is_a_new_snapshot(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, lookups: Lookups, china_frame: pd.DataFrame
) -> None:
    await import_file(sessions, shared_data / CHINA_TABLE, lookups, mapping=MAPPING)
    again = await import_file(sessions, shared_data / CHINA_TABLE, lookups, mapping=MAPPING, value_scale=1000)
    assert not again.already_loaded and again.rows_loaded == len(china_frame)


async def test_national_lines_roll_up_to_hs6(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, tmp_path: Path
) -> None:
    """8-digit lines of hs_map.csv (25041010, 25041091) are summed into one HS-6 row; numbers invented."""
    path = write_rows(
        tmp_path,
        [
            ["2023-01-01", "Russia", "25041010", "100.5", "10", ""],
            ["2023-01-01", "Russia", "25041091", "200.25", "", ""],
            ["2023-02-01", "Russia", "25041010", "7", "3", ""],
            ["2023-02-01", "Russia", "25041091", "8", "4", ""],
            ["2023-01-01", "Russia", "381010", "1", "1", ""],
        ],
    )
    report = await import_file(sessions, path, lookups, **TEST_OPTIONS)
    assert report.extra["national lines rolled up to HS-6"] == "4"
    rows = {(r[5], r[6]): r for r in await flow_rows(sessions)}
    assert set(rows) == {("250410", 202301), ("250410", 202302), ("381010", 202301)}
    assert rows[("250410", 202301)][8:12] == (6, 300.75, None, None)  # one line without qty: no qty sum
    assert rows[("250410", 202302)][8:12] == (6, 15.0, None, 7.0)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [
                ["2023-01-01", "Russia", "250410", "1", "1", ""],
                ["2023-01-01", "Russia", "25041010", "1", "1", ""],
            ],
            "line 3: an HS-6 total and its own national lines",
        ),
        (
            [
                ["2023-01-01", "Russia", "25041010", "1", "1", ""],
                ["2023-01-01", "Russia", "25041010", "2", "1", ""],
            ],
            "line 3: national line 25041010 twice",
        ),
        (
            [
                ["2023-01-01", "Russia", "250410", "1", "1", ""],
                ["2023-01-01", "Russia", "250410", "2", "1", ""],
            ],
            "line 3: the same flow twice",
        ),
        (
            [["2023-01-01", "Russia", "25041", "1", "1", ""]],
            "not 2, 4, 6, 8 or 10 digits .a lost leading zero",
        ),
        ([["2023-01-01", "Russia", "250410", "12,5", "1", ""]], "line 2: value '12,5' is not a number"),
        ([["2023-01-01", "Russia", "250410", "-5", "1", ""]], "line 2: value -5.0 is negative"),
        ([["2023-13-01", "Russia", "250410", "5", "1", ""]], "line 2: period '2023-13-01' is not a month"),
        ([["2023-01-01", "Russia", "250410", "inf", "1", ""]], "is not a finite number"),
        ([["2023-01-01", "Russia", "250410", "5", "x", ""]], "quantity 'x' is not a number"),
        ([["2023-01-01", "Russia", "250410"]], "line 2: expected 6 fields, got 3 .truncated file"),
    ],
)
async def test_malformed_rows_change_nothing(
    sessions: async_sessionmaker[AsyncSession],
    shared_data: Path,
    lookups: Lookups,
    tmp_path: Path,
    rows: list[list[str]],
    message: str,
) -> None:
    await import_file(sessions, shared_data / CHINA_TABLE, lookups, mapping=MAPPING)
    before, snaps = await flow_rows(sessions), await snapshot_count(sessions)
    with pytest.raises(ImportFailed, match=message):
        await import_file(sessions, write_rows(tmp_path, rows), lookups, **TEST_OPTIONS)
    assert await flow_rows(sessions) == before and await snapshot_count(sessions) == snaps


async def test_wrong_encoding_and_empty_file(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, tmp_path: Path
) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes(",".join(HEADER).encode() + "\n2023-01-01,Cura\u00e7ao,250410,1,1,\n".encode("latin-1"))
    with pytest.raises(ImportFailed, match="latin.csv line 2: byte 0xe7 is not valid utf-8"):
        await import_file(sessions, latin, lookups, **TEST_OPTIONS)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ImportFailed, match="empty.csv is empty"):
        await import_file(sessions, empty, lookups, **TEST_OPTIONS)
    assert await flow_rows(sessions) == []


async def test_unknown_partners_and_empty_values_are_skipped_and_counted(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, tmp_path: Path
) -> None:
    path = write_rows(
        tmp_path,
        [
            ["2023-01-01", "Atlantis", "250410", "5", "1", ""],
            ["2023-01-01", "Atlantis", "380110", "5", "1", ""],
            ["2023-01-01", "World", "250410", "9", "1", ""],
            ["2023-02-01", "Russia", "250410", "", "", ""],
            ["2023-03-01", "RU", "250410", "4", "0", ""],
        ],
    )
    report = await import_file(sessions, path, lookups, **TEST_OPTIONS)
    assert report.rows_read == 5 and report.rows_loaded == 1
    assert dict(report.skipped) == {
        "unknown partner 'Atlantis' (add it to countries.yml)": 2,
        "partner World: an aggregate of all partners": 1,
        "no value (empty cell): the month stays missing": 1,
    }
    assert "skipped 2: unknown partner 'Atlantis'" in report.summary()
    rows = await flow_rows(sessions)
    assert [(r[3], r[6], r[9], r[11]) for r in rows] == [(643, 202303, 4.0, 0.0)]  # qty 0 kept: not flagged


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "source: {key: x}\ncolumns: {period: p, partner: q, hs_code: h}\nreporter: CN\nflow: X\n",
            "columns.value: required",
        ),
        (
            "source: {key: x}\ncolumns: {period: p, partner: q, hs_code: h, value: v, reporter: r}\nreporter: CN\nflow: X\n",
            "give the reporter either as a column .* or as a constant",
        ),
        (
            "source: {key: x}\ncolumns: {period: p, partner: q, hs_code: h, value: v}\nflow: X\n",
            "give the reporter",
        ),
        ("source: {key: x}\ncolums: {}\n", "colums: unknown key"),
        (
            "source: {key: x}\ncolumns: {period: p, partner: q, hs_code: h, value: v}\nreporter: CN\nflow: X\nvalue_scale: -1\n",
            "value_scale: Input should be greater than 0",
        ),
        ("source: [x\n", "not valid YAML"),
        ("- just a list\n", "expected keys such as source"),
    ],
)
async def test_mapping_errors_are_clear(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, tmp_path: Path, yaml_text: str, message: str
) -> None:
    mapping = tmp_path / "m.yml"
    mapping.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ImportFailed, match=message):
        await import_file(sessions, write_rows(tmp_path, []), lookups, mapping=mapping)


async def test_mapping_problems_found_before_loading(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, lookups: Lookups, tmp_path: Path
) -> None:
    with pytest.raises(
        ImportFailed, match="no mapping file 'nope'; shipped mappings: china_exports_hs6_monthly"
    ):
        await import_file(sessions, write_rows(tmp_path, []), lookups, mapping="nope")
    imf = shared_data / "trade" / "imf_imts_russia_bilateral" / "RU_trade.csv"
    with pytest.raises(
        ImportFailed, match="RU_trade.csv has no column 'period_dt'; its columns are: DATASET"
    ):
        await import_file(sessions, imf, lookups, mapping=MAPPING)
    with pytest.raises(ImportFailed, match="unknown option 'colour'"):
        await import_file(sessions, imf, lookups, mapping=MAPPING, colour="red")
    options = {k: v for k, v in TEST_OPTIONS.items() if k not in ("source_title", "publisher")}
    with pytest.raises(ImportFailed, match="source 'test_csv' is new: give its title and publisher"):
        await import_file(
            sessions, write_rows(tmp_path, [["2023-01-01", "RU", "250410", "1", "1", ""]]), lookups, **options
        )
