"""Odd but valid Comtrade response files, and broken ones: what the file importer stores, or what it says.

Files are built at test time from the real China monthly table re-shaped into Comtrade v1 records (see
comtrade_standin.china_records); the alterations (skips, duplicates, broken records, layouts) are made here.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest import comtrade
from db.ingest.base import ImportFailed
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


def altered(records: list[dict[str, Any]], edits: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    out = copy.deepcopy(records)
    for i, edit in edits.items():
        out[i].update(edit)
    return out


def skips_and_duplicates(records: list[dict[str, Any]]) -> bytes:
    """Skip reasons met in different orders early and late in the file; duplicates near and far apart."""
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
    out.insert(n // 2 + 40, copy.deepcopy(out[10]))  # an early record again in the middle
    out.insert(n - 5, copy.deepcopy(out[n - 10]))  # a late record again near the end
    return compact(
        out, url="https://comtradeapi.un.org/data/v1/get/C/M/HS?subscription-key=SECRET", count=len(out)
    )


WORLD = "partner World (0): the sum of all partners"
RX = "re-exports (RX): already included in exports (X)"
DUPLICATE = "duplicate record (the same flow twice in the file)"

# layout -> (its bytes, flows stored relative to the records (0: all of them), skipped reasons in the
# file's order with their counts, the snapshot's meta beyond "records")
VALID: dict[str, tuple[Layout, int, list[tuple[str, int]], dict[str, Any]]] = {
    "compact, as the API sends it": (lambda r: compact(r, count=len(r)), 0, [], {"count": "all"}),
    "skips and duplicates": (
        skips_and_duplicates,
        -6,
        [
            (WORLD, 2),
            (RX, 2),
            (DUPLICATE, 2),
            ("commodity code 'AG2' is not an HS code or TOTAL", 1),
            ("trade in services (typeCode S): only goods are stored", 1),
        ],
        {"count": "all", "url": "https://comtradeapi.un.org/data/v1/get/C/M/HS?"},
    ),  # fmt: skip
    "fields after the data array": (
        lambda r: json.dumps({"data": r, "count": len(r), "error": ""}).encode(),
        0,
        [],
        {"count": "all"},
    ),  # fmt: skip
    "indented": (
        lambda r: json.dumps({"count": len(r), "data": r}, indent=2).encode(),
        0,
        [],
        {"count": "all"},
    ),
    "byte order mark and non-ASCII text": (
        lambda r: (
            "\ufeff".encode()
            + compact(altered(r, {i: {"cmdDesc": "Électronique, 电子"} for i in range(0, len(r), 7)}))
        ),
        0,
        [],
        {},
    ),  # fmt: skip
    "a field given twice (the last one counts, as in any JSON decoder)": (
        lambda r: compact(r, url="first")[:-1] + b',"url":"second"}',
        0,
        [],
        {"url": "second"},
    ),  # fmt: skip
    "record separators inside strings": (
        lambda r: compact(altered(r, {i: {"cmdDesc": "a},{b"} for i in range(len(r))})),
        0,
        [],
        {},
    ),  # fmt: skip
}


@pytest.mark.parametrize("layout", VALID)
async def test_odd_but_valid_files_store_every_flow(
    sessions: async_sessionmaker[AsyncSession], records: list[dict[str, Any]], tmp_path: Path, layout: str
) -> None:
    make, flows_delta, skipped, meta = VALID[layout]
    path = tmp_path / "response.json"
    content = make(records)
    path.write_bytes(content)
    report = await comtrade.run_import(sessions, path, now=NOW)
    read = len(json.loads(content.decode("utf-8-sig"))["data"])
    assert report.rows_read == read and report.rows_loaded == len(records) + flows_delta
    assert list(report.skipped.items()) == skipped
    assert len(await flow_rows(sessions)) == report.rows_loaded
    async with sessions() as session:
        (stored,) = (await session.execute(select(Snapshot.meta, Snapshot.data_date))).all()
    expected = {"records": read, **{k: read if v == "all" else v for k, v in meta.items()}}
    assert stored == (expected, "2024-12")
    assert "SECRET" not in str(stored)


def a_second_data_array(r: list[dict[str, Any]]) -> bytes:
    return compact(r)[:-1] + b',"data":' + json.dumps(r[:3]).encode() + b"}"


async def test_a_second_data_array_replaces_the_first(
    sessions: async_sessionmaker[AsyncSession], records: list[dict[str, Any]], tmp_path: Path
) -> None:
    """JSON lets a key repeat; like any JSON decoder, the importer keeps the last one."""
    path = tmp_path / "twice.json"
    path.write_bytes(a_second_data_array(records))
    report = await comtrade.run_import(sessions, path, now=NOW)
    assert report.rows_read == report.rows_loaded == 3
    assert [row[2:7] for row in await flow_rows(sessions)] == [
        (156, r["partnerCode"], "X", r["cmdCode"], int(r["period"])) for r in records[:3]
    ]


def _at(records: list[dict[str, Any]], i: int, edit: dict[str, Any]) -> bytes:
    return compact(altered(records, {i: edit}), count=len(records))


# layout -> (its bytes, the error message, as a regular expression; {n} is the number of records)
BROKEN: dict[str, tuple[Layout, str]] = {
    "a malformed record early": (
        lambda r: _at(r, 5, {"period": "2022-01"}),
        r"f.json data\[5\]: period '2022-01' does not fit frequency 'M' \(YYYY for A, YYYYMM for M\)$",
    ),
    "a malformed record late": (
        lambda r: _at(r, len(r) - 5, {"primaryValue": -1.5}),
        r"f.json data\[{last4}\]: primaryValue -1.5 is negative$",
    ),
    "a missing field in the last record": (
        lambda r: compact(r[:-1] + [{k: v for k, v in r[-1].items() if k != "cmdCode"}]),
        r"f.json data\[{last}\]: missing field\(s\) cmdCode$",
    ),
    "a bad record first, truncated JSON later (the JSON error wins)": (
        lambda r: _at(r, 5, {"freqCode": "Q"})[:-5000],
        r"f.json line 1 column \d+: not valid JSON \(Unterminated string starting at; a truncated file",
    ),
    "truncated": (
        lambda r: compact(r)[:-5000],
        r"f.json line 1 column \d+: not valid JSON \(Unterminated string starting at; a truncated file",
    ),
    "a conflicting duplicate far from the first": (
        lambda r: compact(r + [{**r[3], "primaryValue": r[3]["primaryValue"] + 1}]),
        r"f.json data\[{n}\]: a second, different record for the same flow \(reporter 156, partner \d+, "
        r"flow X, HS \d{{6}}, period \d{{4}}-\d\d\)$",
    ),
    "an API error after the data": (
        lambda r: json.dumps({"data": r, "error": "quota exceeded"}).encode(),
        r"f.json is an error response from the API: quota exceeded$",
    ),
    "a count bigger than the records": (
        lambda r: compact(r, count=len(r) + 1),
        r"f.json says it holds {n1} records but has {n} \(truncated\?\)$",
    ),
}


@pytest.mark.parametrize("layout", BROKEN)
async def test_broken_files_name_the_first_error_and_store_nothing(
    sessions: async_sessionmaker[AsyncSession], records: list[dict[str, Any]], tmp_path: Path, layout: str
) -> None:
    make, message = BROKEN[layout]
    n = len(records)
    path = tmp_path / "f.json"
    path.write_bytes(make(records))
    with pytest.raises(ImportFailed, match=message.format(n=n, n1=n + 1, last=n - 1, last4=n - 5)):
        await comtrade.run_import(sessions, path, now=NOW)
    assert await flow_rows(sessions) == []
    async with sessions() as session:
        assert (await session.execute(select(Snapshot.id))).all() == []
