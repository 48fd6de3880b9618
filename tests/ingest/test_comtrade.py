"""UN Comtrade v1 JSON: the real India sample from a file, and the API path against a local stand-in.

The stand-in (tests/ingest/comtrade_standin.py) answers in Comtrade's own v1 format; its numbers are the real
rows of the China monthly exports table, re-shaped into Comtrade records at test time.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest import comtrade, comtrade_records
from db.ingest.base import ImportFailed, IngestReport
from db.ingest.comtrade_api import (
    ComtradeParams,
    ComtradeQuery,
    expand_periods,
    fetch_on_demand,
    import_from_api,
)
from db.ingest.fetch import FetchFailed
from tests.ingest.comtrade_standin import ComtradeStandIn, india_record
from tests.ingest.conftest import INDIA_SAMPLE, NOW, flow_rows, snapshot_count


async def test_india_sample(sessions: async_sessionmaker[AsyncSession], shared_data: Path) -> None:
    record = india_record(shared_data)
    report = await comtrade.run_import(sessions, shared_data / INDIA_SAMPLE, now=NOW)
    assert (report.rows_read, report.rows_loaded) == (1, 1)
    [row] = await flow_rows(sessions)
    # India (699) exports to the USA (842), 2022, all goods: stored as TOTAL / level 0, annual period 202200.
    assert row[2:9] == (699, 842, "X", "TOTAL", 202200, "A", 0)
    assert row[9] == record["primaryValue"]
    assert row[10:] == (None, None, None)  # netWgt 0 and qty unit -1 mean "not reported"
    before = await flow_rows(sessions)
    assert (await comtrade.run_import(sessions, shared_data / INDIA_SAMPLE, now=NOW)).already_loaded
    assert await flow_rows(sessions) == before


def variants(shared_data: Path) -> list[dict[str, Any]]:
    """The real India record, altered field by field to exercise the skip rules (alterations made here)."""
    base = india_record(shared_data)
    edits = [
        {"flowCode": "RX"},
        {"flowCode": "RM"},
        {"flowCode": "MIP"},
        {"partnerCode": 0},
        {"partner2Code": 251},
        {"customsCode": "C01"},
        {"motCode": 1000},
        {"cmdCode": "AG2"},
        {"classificationCode": "S4"},
        {"typeCode": "S"},
        {"primaryValue": None},
        {"primaryValue": ""},
        {"cmdCode": "85", "period": "2021"},
    ]
    return [{**copy.deepcopy(base), **edit} for edit in edits]


async def test_skip_rules(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, tmp_path: Path
) -> None:
    path = tmp_path / "variants.json"
    path.write_text(json.dumps({"count": 13, "data": variants(shared_data)}), encoding="utf-8")
    report = await comtrade.run_import(sessions, path, now=NOW)
    assert report.rows_read == 13 and report.rows_loaded == 1
    assert dict(report.skipped) == {
        "re-exports (RX): already included in exports (X)": 1,
        "re-imports (RM): already included in imports (M)": 1,
        "flow MIP: only total exports (X) and imports (M) are stored": 1,
        "partner World (0): the sum of all partners": 1,
        comtrade_records.BREAKDOWN: 3,
        "commodity code 'AG2' is not an HS code or TOTAL": 1,
        "classification S4 is not HS": 1,
        "trade in services (typeCode S): only goods are stored": 1,
        "no trade value (primaryValue empty)": 2,
    }
    [row] = await flow_rows(sessions)
    assert row[5:9] == ("85", 202100, "A", 2)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "is empty"),
        ('{"count": 1, "data": [{"typeCode": "C"', "line 1 column .*: not valid JSON .*truncated file"),
        ('[{"typeCode": "C"}]', "no 'data' list at the top level"),
        (
            '{"data": [], "error": "Request rejected: period invalid"}',
            "error response from the API: Request rejected",
        ),
        ('{"count": 5, "data": []}', "says it holds 5 records but has 0"),
        ('{"data": [7]}', r"data\[0\]: a record is not a JSON object"),
    ],
)
async def test_malformed_files(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ImportFailed, match=message):
        await comtrade.run_import(sessions, path, now=NOW)
    assert await snapshot_count(sessions) == 0


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"period": "2022-01"}, "period '2022-01' does not fit frequency 'A'"),
        ({"freqCode": "Q"}, "freqCode 'Q' is not A or M"),
        ({"reporterCode": "India"}, "reporterCode 'India' is not a whole number"),
        ({"primaryValue": "80230193279"}, "primaryValue '80230193279' is not a number"),
        ({"primaryValue": -1.5}, "primaryValue -1.5 is negative"),
    ],
)
async def test_malformed_records_change_nothing(
    sessions: async_sessionmaker[AsyncSession],
    shared_data: Path,
    tmp_path: Path,
    edit: dict[str, Any],
    message: str,
) -> None:
    """A good record followed by a broken one (edits made here): the good one is not kept either."""
    good = india_record(shared_data)
    bad = {**copy.deepcopy(good), "partnerCode": 251, **edit}
    path = tmp_path / "two.json"
    path.write_text(json.dumps({"data": [good, bad]}), encoding="utf-8")
    with pytest.raises(ImportFailed, match=rf"two.json data\[1\]: {message}"):
        await comtrade.run_import(sessions, path, now=NOW)
    assert await flow_rows(sessions) == [] and await snapshot_count(sessions) == 0
    missing = {k: v for k, v in good.items() if k != "cmdCode"}
    path.write_text(json.dumps({"data": [missing]}), encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"data\[0\]: missing field\(s\) cmdCode"):
        await comtrade.run_import(sessions, path, now=NOW)


# --- the API path, against the stand-in -------------------------------------------------------------------


def params_for(standin: ComtradeStandIn, tmp_path: Path, **kw: Any) -> ComtradeParams:
    return ComtradeParams(api_base=standin.base, cache_dir=tmp_path / "cache", pause=0, backoff=0, **kw)


def expected(
    frame: pd.DataFrame, codes: list[str], years: list[int], partner: int | None = None
) -> pd.DataFrame:
    rows = frame[frame.hs6.isin(codes) & (frame.period // 100).isin(years)]
    return rows if partner is None else rows[rows.partner == partner]


async def test_preview_splits_calls_at_the_limit_and_loses_nothing(
    sessions: async_sessionmaker[AsyncSession],
    comtrade_standin: ComtradeStandIn,
    china_frame: pd.DataFrame,
    tmp_path: Path,
) -> None:
    want = expected(china_frame, ["250410", "380110"], [2022, 2023])
    assert len(want) > 500  # more than one preview call can return
    query = ComtradeQuery("M", (156,), (), ("250410", "380110"), expand_periods("M", ["2022", "2023"]))
    report = await import_from_api(
        sessions, query, params_for(comtrade_standin, tmp_path, max_calls=50), now=NOW
    )
    assert report.rows_loaded == len(want) and report.rows_skipped == 0
    assert "calls split at the per-call limit" in report.extra and "public/v1/preview" in report.extra["API"]
    assert all(c["maxRecords"] == "500" and c["breakdownMode"] == "classic" for c in comtrade_standin.calls)
    stored = {(r[3], r[5], r[6]): r[9] for r in await flow_rows(sessions)}
    assert stored == {(f.partner, f.hs6, f.period): pytest.approx(f.val) for f in want.itertuples()}
    saved = list((tmp_path / "cache").glob("comtrade-M-*.json"))
    assert len(saved) == 1 and json.loads(saved[0].read_text())["count"] == len(want)


async def test_small_pages_split_down_to_single_values(
    sessions: async_sessionmaker[AsyncSession],
    comtrade_standin: ComtradeStandIn,
    china_frame: pd.DataFrame,
    tmp_path: Path,
) -> None:
    """With 3-record pages every split dimension is exercised; the stored rows still equal the file's."""
    want = expected(china_frame, ["250410", "811292"], [2023], partner=643)
    query = ComtradeQuery(
        "M", (156,), (643,), ("250410", "811292"), expand_periods("M", ["2023"]), ("X", "M")
    )
    params = params_for(comtrade_standin, tmp_path, page_limit=3, max_calls=200)
    report = await import_from_api(sessions, query, params, now=NOW)
    assert report.rows_loaded == len(want)
    assert {(r[5], r[6]) for r in await flow_rows(sessions)} == {(f.hs6, f.period) for f in want.itertuples()}


async def test_unsplittable_full_page_and_too_many_calls_fail(
    sessions: async_sessionmaker[AsyncSession], comtrade_standin: ComtradeStandIn, tmp_path: Path
) -> None:
    one = ComtradeQuery("M", (156,), (643,), ("250410",), ("202301",), ("X",))
    with pytest.raises(FetchFailed, match="returned 1 records, the most one call gives, for a single"):
        await import_from_api(sessions, one, params_for(comtrade_standin, tmp_path, page_limit=1), now=NOW)
    many = ComtradeQuery("M", (156,), (), ("250410", "380110"), expand_periods("M", ["2022", "2023"]))
    with pytest.raises(FetchFailed, match="needs more than 2 API calls .*set COMTRADE_API_KEY"):
        await import_from_api(sessions, many, params_for(comtrade_standin, tmp_path, max_calls=2), now=NOW)
    assert await flow_rows(sessions) == [] and await snapshot_count(sessions) == 0


async def test_subscription_key_goes_in_the_header_only(
    sessions: async_sessionmaker[AsyncSession],
    comtrade_standin: ComtradeStandIn,
    china_frame: pd.DataFrame,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    want = expected(china_frame, ["250410", "380110"], [2022, 2023])
    query = ComtradeQuery("M", (156,), (), ("250410", "380110"), expand_periods("M", ["2022", "2023"]))
    params = params_for(comtrade_standin, tmp_path, api_key=comtrade_standin.api_key)
    with caplog.at_level(logging.DEBUG):
        report = await import_from_api(sessions, query, params, now=NOW)
    assert report.rows_loaded == len(want) and "data/v1/get" in report.extra["API"]
    assert len(comtrade_standin.calls) == 2  # 24 months in calls of 12; no split needed with a key
    assert comtrade_standin.keys_seen == [comtrade_standin.api_key] * 2
    assert all("subscription" not in " ".join(c).lower() for c in comtrade_standin.calls)
    cached = "".join(p.read_text() for p in (tmp_path / "cache").iterdir())
    assert comtrade_standin.api_key not in cached and comtrade_standin.api_key not in caplog.text
    assert comtrade_standin.api_key not in repr(params)

    wrong = params_for(comtrade_standin, tmp_path, api_key="wrong-key")
    with pytest.raises(FetchFailed, match="HTTP 401 Unauthorized: .*Access denied"):
        await import_from_api(sessions, query, wrong, now=NOW)


async def test_api_errors_change_nothing(
    sessions: async_sessionmaker[AsyncSession], comtrade_standin: ComtradeStandIn, tmp_path: Path
) -> None:
    comtrade_standin.fail_with = 503
    query = ComtradeQuery("M", (156,), (643,), ("250410",), expand_periods("M", ["2023"]), ("X",))
    with pytest.raises(FetchFailed, match="HTTP 503"):
        await import_from_api(sessions, query, params_for(comtrade_standin, tmp_path, retries=1), now=NOW)
    assert len(comtrade_standin.calls) == 2  # one retry
    with pytest.raises(FetchFailed, match="cannot reach http://127.0.0.1:9/public/v1/preview/C/M/HS"):
        await import_from_api(
            sessions, query, ComtradeParams(api_base="http://127.0.0.1:9", cache_dir=tmp_path), now=NOW
        )
    assert await flow_rows(sessions) == []


async def test_nothing_found_is_not_an_error(
    sessions: async_sessionmaker[AsyncSession], comtrade_standin: ComtradeStandIn, tmp_path: Path
) -> None:
    query = ComtradeQuery("M", (156,), (643,), ("854231",), expand_periods("M", ["2022"]), ("X",))
    report = await import_from_api(sessions, query, params_for(comtrade_standin, tmp_path), now=NOW)
    assert report.rows_loaded == 0 and "no data for this request" in report.extra["result"]


# --- on demand (Context.fetch_trade) ------------------------------------------------------------------------


async def test_fetch_on_demand_stores_the_missing_months(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    comtrade_standin: ComtradeStandIn,
    china_frame: pd.DataFrame,
    tmp_path: Path,
) -> None:
    want = expected(china_frame, ["811292"], [2022, 2023], partner=643)
    params = params_for(comtrade_standin, tmp_path)
    loaded = await fetch_on_demand(session, 156, 643, "X", ["811292"], [2022, 2023], params=params, now=NOW)
    assert loaded == len(want) > 0
    rows = await flow_rows(sessions)  # committed: another session sees them
    assert sorted((r[6], r[9]) for r in rows) == sorted((f.period, f.val) for f in want.itertuples())
    assert {c["flowCode"] for c in comtrade_standin.calls} == {"X"}
    assert {c["partnerCode"] for c in comtrade_standin.calls} == {"643"}
    # Asked again: the same answer is already stored, nothing changes (also through a session factory).
    assert (
        await fetch_on_demand(sessions, 156, 643, "X", ["811292"], [2022, 2023], params=params, now=NOW) == 0
    )
    assert await flow_rows(sessions) == rows


async def test_fetch_on_demand_with_nothing_upstream(
    session: AsyncSession, comtrade_standin: ComtradeStandIn, tmp_path: Path
) -> None:
    params = params_for(comtrade_standin, tmp_path)
    assert await fetch_on_demand(session, 156, 643, "X", ["8542"], [2022], params=params, now=NOW) == 0
    assert await fetch_on_demand(session, 156, 643, "X", [], [2022], params=params, now=NOW) == 0


@pytest.mark.parametrize(
    ("freq", "periods", "expected"),
    [
        ("M", ["2022"], tuple(f"2022{m:02d}" for m in range(1, 13))),
        ("M", ["202203", "2022"], ("202203", *(f"2022{m:02d}" for m in range(1, 13) if m != 3))),
        ("A", ["2021", 2022], ("2021", "2022")),
    ],
)
def test_expand_periods(freq: str, periods: list[str], expected: tuple[str, ...]) -> None:
    assert set(expand_periods(freq, periods)) == set(expected)


@pytest.mark.parametrize(("freq", "period"), [("A", "202203"), ("M", "202213"), ("M", "22")])
def test_expand_periods_rejects(freq: str, period: str) -> None:
    with pytest.raises(ImportFailed, match="period"):
        expand_periods(freq, [period])


async def test_wrong_encoding_names_the_line(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = tmp_path / "latin.json"
    path.write_bytes('{"count": 0,\n "data": [],\n "note": "Cura\u00e7ao"}\n'.encode("latin-1"))
    with pytest.raises(ImportFailed, match="latin.json line 3: byte 0xe7 is not valid utf-8"):
        await comtrade.run_import(sessions, path, now=NOW)


def test_check_utf8_names_the_line_of_the_first_bad_byte() -> None:
    good = '{"a": "C\u00f4te d\'Ivoire",\n "b": "\u20ac \U0001f600"}\n'.encode()
    comtrade.check_utf8(good, "good.json")
    comtrade.check_utf8(b'{"data": []}', "ascii.json")
    for bad, line, byte in [
        (good.replace(b"d'I", b"d\xe7I"), 1, "0xe7"),
        (good + b'"\xc3"', 3, "0xc3"),  # a character cut short by the end of the file
        (good.replace("\u20ac".encode(), b"\xe2\x82"), 2, "0xe2"),
    ]:
        with pytest.raises(ImportFailed, match=rf"^bad.json line {line}: byte {byte} is not valid utf-8"):
            comtrade.check_utf8(bad, "bad.json")


def test_normaliser_caches_give_the_uncached_answers(shared_data: Path) -> None:
    """Values Python considers equal (1 == 1.0 == True) but that read or fail differently stay apart."""
    base = india_record(shared_data)
    edits: list[dict[str, Any]] = [
        {},
        {"period": 2022},  # an int period reads like the string
        {"period": 2022.0},  # == 2022, but "2022.0" is not a period
        {"period": " 2022 "},
        {"classificationCode": 1},
        {"classificationCode": True},  # == 1, named differently in the reason
        {"classificationCode": 1.0},
        {"typeCode": 1},
        {"typeCode": True},
        {"cmdCode": 85},
        {"cmdCode": " 85 "},
        {"cmdCode": "85"},
        {"partner2Code": False},  # == 0: a total
        {"partner2Code": [0]},  # not hashable
        {"flowCode": True},
        {"flowCode": 1},  # == True, but "1" is another flow code
        {"freqCode": "Q"},
        {"period": "202213", "freqCode": "M"},
        {"reporterCode": "699"},  # read as the number, never cached as one
        {"primaryValue": 5, "netWgt": 12, "qty": 3},  # JSON integers where numbers belong
        {"primaryValue": -1.0},
    ]
    records = [  # each twice: the second time from the caches
        msgspec.json.decode(json.dumps({**base, **edit}), type=comtrade_records.Record) for edit in edits * 2
    ]
    cached_report = IngestReport(source="comtrade", file="x")
    normalise = comtrade_records.Normaliser(cached_report)
    fresh_report = IngestReport(source="comtrade", file="x")
    for rec in records:
        assert outcome(lambda r=rec: normalise(r)) == outcome(
            lambda r=rec: comtrade_records.Normaliser(fresh_report)(r)
        ), rec
    assert cached_report.skipped == fresh_report.skipped
    assert "classification True is not HS" in cached_report.skipped
    assert "classification 1 is not HS" in cached_report.skipped


def outcome(call: Any) -> Any:
    try:
        return call()
    except comtrade_records.RecordError as exc:
        return f"error: {exc}"


@pytest.mark.parametrize("prefix", [b"", b"\xef\xbb\xbf"])
def test_a_byte_order_mark_is_skipped(shared_data: Path, tmp_path: Path, prefix: bytes) -> None:
    path = tmp_path / "sample.json"
    path.write_bytes(prefix + (shared_data / INDIA_SAMPLE).read_bytes())
    records, meta = comtrade.read_response(path)
    assert (records, meta) == comtrade.read_response(shared_data / INDIA_SAMPLE) and len(records) > 0
