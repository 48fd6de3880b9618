"""A big Comtrade file decoded and normalised on two cores gives exactly the serial path's answer.

Files are built at test time from the real China monthly table re-shaped into Comtrade v1 records (see
comtrade_standin.china_records); the alterations (skips, duplicates, broken records, layouts) are made here.
The size threshold is lowered so these small files are split.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest import comtrade, comtrade_split
from db.ingest.base import ImportFailed, IngestReport
from db.lookups import Lookups
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
    real = comtrade_split.decode_and_normalise

    def spy(raw: memoryview, name: str) -> comtrade_split.Halves | None:
        halves = real(raw, name)
        used.append(halves is not None)
        return halves

    monkeypatch.setattr(comtrade_split, "decode_and_normalise", spy)
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
