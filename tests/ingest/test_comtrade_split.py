"""A big Comtrade file decoded and normalised on two cores gives exactly the serial path's answer.

Files are built at test time from the real China monthly table re-shaped into Comtrade v1 records (see
comtrade_standin.china_records); the alterations (skips, duplicates, broken records, layouts) are made here.
The size threshold is lowered so these small files are split.
"""

from __future__ import annotations

import copy
import json
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest import comtrade, comtrade_split, trade_load
from db.ingest.base import ImportFailed, IngestReport, sha256_file
from db.lookups import Lookups
from db.models import Snapshot
from tests.ingest.comtrade_standin import china_records
from tests.ingest.conftest import NOW, flow_rows

Layout = Callable[[list[dict[str, Any]]], bytes]


@pytest.fixture(scope="module")
def records(shared_data: Path, lookups: Lookups) -> list[dict[str, Any]]:
    return china_records(shared_data, lookups)


def compact(records: list[dict[str, Any]], **top: Any) -> bytes:
    """As the API sends it: no spaces, `url` and `count` before `data`."""
    return json.dumps({**top, "data": records}, separators=(",", ":")).encode()


def outcome(path: Path, *, split: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    """Everything `parse` gives (flows in order, citation meta, counts in order), or the error message; and
    whether the two-core path produced it."""
    monkeypatch.setattr(comtrade_split, "MIN_BYTES", 0 if split else 1 << 62)
    used: list[bool] = []
    real = comtrade_split.Split.drain

    def spy(split: comtrade_split.Split) -> comtrade_split.Halves:
        halves = real(split)  # raises Refused when the file is not plain
        used.append(True)
        return halves

    monkeypatch.setattr(comtrade_split.Split, "drain", spy)
    report = IngestReport(source="comtrade", file=path.name)
    try:
        parsed = comtrade.parse(path, report)
    except ImportFailed as exc:
        return ("failed", str(exc)), used == [True]
    answer = (
        list(parsed.flows.rows.items()),
        parsed.data_date,
        parsed.meta,
        report.rows_read,
        list(report.skipped.items()),
    )
    return answer, used == [True]


def both_ways(content: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, bool]:
    """`outcome` of the same file on one core and on two; and whether the two-core path produced its answer."""
    path = tmp_path / "response.json"
    path.write_bytes(content)
    serial, _ = outcome(path, split=False, monkeypatch=monkeypatch)
    split, used = outcome(path, split=True, monkeypatch=monkeypatch)
    return serial, split, used


def altered(records: list[dict[str, Any]], edits: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    out = copy.deepcopy(records)
    for i, edit in edits.items():
        out[i].update(edit)
    return out


def skips_in_both_halves(records: list[dict[str, Any]]) -> bytes:
    """Skip reasons first met in different orders in each half; duplicates within and across the halves, the
    first one in the second half before that half's new skip reasons (the counts keep the file's order)."""
    n = len(records)
    out = altered(
        records,
        {
            3: {"partnerCode": 0},
            5: {"flowCode": "RX"},
            n // 2 + 60: {"cmdCode": "AG2"},
            n // 2 + 62: {"flowCode": "RX"},
            n // 2 + 64: {"typeCode": "S"},
            n - 2: {"partnerCode": 0},
        },
    )
    out.insert(n // 2 + 40, copy.deepcopy(out[10]))  # a first-half record again in the second half
    out.insert(n - 5, copy.deepcopy(out[n - 10]))  # a second-half record again in the second half
    return compact(
        out, url="https://comtradeapi.un.org/data/v1/get/C/M/HS?subscription-key=SECRET", count=len(out)
    )


LAYOUTS: dict[str, Layout] = {
    "compact, as the API sends it": lambda r: compact(r, count=len(r)),
    "skips and duplicates in both halves": skips_in_both_halves,
    "fields after the data array": lambda r: json.dumps({"data": r, "count": len(r), "error": ""}).encode(),
    "indented": lambda r: json.dumps({"count": len(r), "data": r}, indent=2).encode(),
    "byte order mark and non-ASCII text": lambda r: (
        "\ufeff".encode()
        + compact(altered(r, {i: {"cmdDesc": "Électronique, 电子"} for i in range(0, len(r), 7)}))
    ),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_two_cores_give_the_serial_answer(
    records: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    serial, split, used = both_ways(LAYOUTS[layout](records), tmp_path, monkeypatch)
    assert used, "the file was not split"
    assert split == serial
    assert serial[3] > 1000 and "SECRET" not in str(serial[2])


def _half(records: list[dict[str, Any]], first: bool, edit: dict[str, Any]) -> bytes:
    i = 5 if first else len(records) - 5
    return compact(altered(records, {i: edit}), count=len(records))


BROKEN: dict[str, Layout] = {
    "a malformed record in the first half": lambda r: _half(r, True, {"period": "2022-01"}),
    "a malformed record in the second half": lambda r: _half(r, False, {"primaryValue": -1.5}),
    "a missing field in the second half": lambda r: compact(
        r[:-1] + [{k: v for k, v in r[-1].items() if k != "cmdCode"}]
    ),
    "a bad record first, truncated JSON later": lambda r: _half(r, True, {"freqCode": "Q"})[:-5000],
    "truncated in the second half": lambda r: compact(r)[:-5000],
    "a conflicting duplicate across the halves": lambda r: compact(
        r + [{**r[3], "primaryValue": r[3]["primaryValue"] + 1}]
    ),
    "an API error after the data": lambda r: json.dumps({"data": r, "error": "quota exceeded"}).encode(),
    "a count bigger than the records": lambda r: compact(r, count=len(r) + 1),
    "a second data array after the first": lambda r: (
        compact(r)[:-1] + b',"data":' + json.dumps(r[:3]).encode() + b"}"
    ),
    "a field given twice": lambda r: compact(r, url="first")[:-1] + b',"url":"second"}',
    "a unit of another type than text": lambda r: compact(altered(r, {len(r) - 3: {"qtyUnitAbbr": 8}})),
    "record separators inside strings": lambda r: compact(
        altered(r, {i: {"cmdDesc": "a},{b"} for i in range(len(r))})
    ),
}


@pytest.mark.parametrize("layout", BROKEN)
def test_anything_not_plain_gets_the_serial_answer(
    records: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    """The same message for the same first error, the same flows for odd but valid files."""
    serial, split, _ = both_ways(BROKEN[layout](records), tmp_path, monkeypatch)
    assert split == serial


def test_cut_inside_a_string_is_refused(records: list[dict[str, Any]]) -> None:
    """Every record's text holds `},{`: the first one after the middle is inside a string, so no split."""
    raw = BROKEN["record separators inside strings"](records)
    assert comtrade_split.decode_and_normalise(memoryview(raw), "odd.json") is None
    plain = compact(records)
    assert comtrade_split.decode_and_normalise(memoryview(plain), "plain.json") is not None


async def snapshot_rows(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[Any, ...]]:
    async with sessions() as session:
        rows = await session.execute(
            select(
                Snapshot.data_date, Snapshot.meta, Snapshot.rows_read, Snapshot.rows_loaded,
                Snapshot.rows_skipped, Snapshot.skipped_reasons,
            ).order_by(Snapshot.id)
        )  # fmt: skip
        return [tuple(row) for row in rows]


def serial_import_outcome(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    """What the serial path makes of the file: its flows and the snapshot fields, or its error."""
    monkeypatch.setattr(comtrade_split, "MIN_BYTES", 1 << 62)
    report = IngestReport(source="comtrade", file=path.name)
    try:
        parsed = comtrade.parse(path, report)
    except ImportFailed as exc:
        return ("failed", str(exc))
    monkeypatch.setattr(comtrade_split, "MIN_BYTES", 0)
    skipped = dict(report.skipped)
    snapshot = (
        parsed.data_date,
        parsed.meta,
        report.rows_read,
        len(parsed.flows),
        sum(skipped.values()),
        skipped or None,
    )
    return sorted(parsed.flows.rows.values()), [snapshot], list(skipped)


def streamed(monkeypatch: pytest.MonkeyPatch) -> list[comtrade_split.Split]:
    """Split big files (any size here) and keep every Split started, to check each child was reaped."""
    monkeypatch.setattr(comtrade_split, "MIN_BYTES", 0)
    started: list[comtrade_split.Split] = []
    real = comtrade_split.start

    def spy(raw: memoryview, name: str, child_done: Any = None) -> comtrade_split.Split | None:
        split = real(raw, name, child_done)
        if split is not None:
            started.append(split)
        return split

    monkeypatch.setattr(comtrade_split, "start", spy)
    return started


def reaped(split: comtrade_split.Split) -> bool:
    try:
        os.kill(split.pid, 0)
    except ProcessLookupError:
        return split.pipe < 0
    return False


@pytest.mark.parametrize("layout", ["skips and duplicates in both halves", "fields after the data array"])
async def test_streamed_import_stores_the_serial_rows_and_snapshot(
    sessions: async_sessionmaker[AsyncSession],
    records: list[dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    layout: str,
) -> None:
    """Rows written part by part while the child still reads: the same rows, counts (in the file's order),
    data date and citation as one core gives; the child is reaped."""
    path = tmp_path / "big.json"
    path.write_bytes(LAYOUTS[layout](records))
    rows, snapshot, reasons = serial_import_outcome(path, monkeypatch)
    started = streamed(monkeypatch)
    written: list[int] = []
    real_write = trade_load._write_plan

    async def count_writes(session: AsyncSession, plan: trade_load.Plan, *args: Any) -> None:
        written.append(len(plan.new))
        await real_write(session, plan, *args)

    monkeypatch.setattr(trade_load, "_write_plan", count_writes)
    report = await comtrade.run_import(sessions, path, now=NOW)
    assert len(started) == 1 and reaped(started[0])
    assert len(written) >= comtrade_split.PIECES // 2, "not written part by part"
    assert sorted(tuple(row[2:13]) for row in await flow_rows(sessions)) == rows
    assert await snapshot_rows(sessions) == snapshot and list(report.skipped) == reasons
    assert report.rows_loaded == len(rows) == sum(written)
    async with sessions() as session:  # the checksum computed after the child was done, not the placeholder
        assert (await session.execute(select(Snapshot.sha256))).scalars().all() == [sha256_file(path)]
    again = await comtrade.run_import(sessions, path, now=NOW)  # found loaded only before the commit
    assert again.already_loaded and len(started) == 2 and reaped(started[1])
    assert (again.rows_read, again.rows_loaded, again.skipped) == (0, 0, Counter())
    assert await snapshot_rows(sessions) == snapshot and len(await flow_rows(sessions)) == len(rows)


@pytest.mark.parametrize(
    "layout",
    [
        "a malformed record in the second half",
        "a conflicting duplicate across the halves",
        "an API error after the data",
        "a second data array after the first",
        "a field given twice",
        "a count bigger than the records",
    ],
)
async def test_streamed_import_refused_part_way_keeps_nothing_of_it(
    sessions: async_sessionmaker[AsyncSession],
    records: list[dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    layout: str,
) -> None:
    """Refused after rows were written: all of them are rolled back and the serial path answers (its
    error, or its rows for an odd but valid file)."""
    path = tmp_path / "odd.json"
    path.write_bytes(BROKEN[layout](records))
    expected = serial_import_outcome(path, monkeypatch)
    started = streamed(monkeypatch)
    refused: list[bool] = []
    real_parts = comtrade_split.Split.parts

    def parts(split: comtrade_split.Split) -> Any:
        try:
            yield from real_parts(split)
        except comtrade_split.Refused:
            refused.append(True)
            raise

    monkeypatch.setattr(comtrade_split.Split, "parts", parts)
    try:
        await comtrade.run_import(sessions, path, now=NOW)
    except ImportFailed as exc:
        assert expected == ("failed", str(exc))
        assert await flow_rows(sessions) == [] and await snapshot_rows(sessions) == []
    else:
        rows, snapshot, _ = expected
        assert sorted(tuple(row[2:13]) for row in await flow_rows(sessions)) == rows
        assert await snapshot_rows(sessions) == snapshot
    assert refused == [True] and len(started) == 1 and reaped(started[0])


async def test_streamed_import_into_a_loaded_table_updates_like_the_serial_path(
    sessions: async_sessionmaker[AsyncSession],
    records: list[dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second file over rows already stored: each part is compared with them (new, changed, unchanged)."""
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    n = len(records)
    first.write_bytes(compact(records[: n // 2]))
    changed = {i: {"primaryValue": records[i]["primaryValue"] + 1} for i in range(0, n // 2, 50)}
    changed.update({i: {"primaryValue": records[i]["primaryValue"] + 1} for i in range(n // 2 + 1, n, 50)})
    edited = altered(records, changed)
    second.write_bytes(compact(edited[: n // 4] + edited[n // 2 :]))
    rows, _, _ = serial_import_outcome(second, monkeypatch)
    kept = {row[:6]: row for row in serial_import_outcome(first, monkeypatch)[0]}
    kept.update({row[:6]: row for row in rows})
    started = streamed(monkeypatch)
    await comtrade.run_import(sessions, first, now=NOW)
    report = await comtrade.run_import(sessions, second, now=NOW)
    assert len(started) == 2 and all(reaped(split) for split in started)
    stored = sorted(tuple(row[2:13]) for row in await flow_rows(sessions))
    assert stored == sorted(kept.values())
    updated = len([i for i in changed if i < n // 4])
    assert report.rows_unchanged == len(records[: n // 4]) - updated
    assert report.rows_loaded == len(rows) - report.rows_unchanged
    assert report.extra["new / updated / removed rows"] == f"{len(rows) - n // 4:,} / {updated:,} / 0"


async def test_import_on_two_cores_stores_the_serial_rows(
    sessions: async_sessionmaker[AsyncSession],
    records: list[dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(skips_in_both_halves(records))
    monkeypatch.setattr(comtrade_split, "MIN_BYTES", 1 << 62)
    expected = comtrade.parse(path, IngestReport(source="comtrade", file=path.name))
    monkeypatch.setattr(comtrade_split, "MIN_BYTES", 0)
    report = await comtrade.run_import(sessions, path, now=NOW)
    stored = [tuple(row[2:13]) for row in await flow_rows(sessions)]
    assert sorted(stored) == sorted(expected.flows.rows.values())
    assert report.rows_loaded == len(expected.flows) and sum(report.skipped.values()) > 0
