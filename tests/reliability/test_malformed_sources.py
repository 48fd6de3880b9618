"""Malformed source files for every importer: refused with a clear message, the database unchanged.

Every importer in db.sources.IMPORTERS gets the same battery, built from a real sample of its own
format (read from ../shared/data at test time): empty, truncated mid-record, UTF-16 instead of UTF-8, a
Latin-1 byte, wrong column count (or missing fields), a duplicated key, 5 MB of junk, and a zip bomb under
the expected name (no importer reads zips). Plus the format-specific attacks: XML entity expansion
("billion laughs"), external entities (XXE) and external DTDs for OFAC's XML; a YAML alias bomb for the
curated files.

Each runs against one database per backend holding real data (HS, the OFAC non-SDN list, the curated
file); the whole content of every table is hashed before and after, so a half-written import, or an upsert
that changed a row, fails the test, not only a new row.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import json
import random
import zipfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.engine import make_engine, make_sessionmaker, upgrade
from db.ingest.base import ImportFailed
from db.models import Base
from db.sources import IMPORTERS, load_importer
from tests.conftest import REPO, SHARED_DATA
from tests.reliability.stack import create_pg_database, drop_pg_database

pytestmark = pytest.mark.asyncio(loop_scope="module")

NOW = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
JUNK = random.Random(7).randbytes(5 * 1024 * 1024)


@functools.cache
def zip_bomb() -> bytes:
    """A 100 KB zip that expands to 100 MB of zeros (nobody should ever expand it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("data.csv", b"0" * (100 * 1024 * 1024))
    return buffer.getvalue()


def head(path: Path, lines: int) -> bytes:
    return b"".join((SHARED_DATA / path).read_bytes().splitlines(keepends=True)[:lines])


def cut_mid_record(data: bytes) -> bytes:
    """Cut inside the second half of the file, in the middle of a record (as a dropped download does)."""
    lines = data.splitlines(keepends=True)
    keep = len(lines) * 2 // 3
    return b"".join(lines[:keep]) + lines[keep][: max(len(lines[keep]) // 3, 1)]


def with_latin1(data: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    return b"".join(lines[:2]) + lines[2].replace(b",", "\u00e7,".encode("latin-1"), 1) + b"".join(lines[3:])


def conflicting_duplicate(change: int, row: int = 1) -> Callable[[bytes], bytes]:
    """The CSV row `row` again, with column `change` (not part of the key) altered: two different records
    for one key. (An exact repeat is harmless and the trade importers skip it, counted in the report.)"""

    def mutate(data: bytes) -> bytes:
        text = data.decode("utf-8-sig")
        ending = "\r\n" if "\r\n" in text[:2000] else "\n"
        rows = list(csv.reader(io.StringIO(text)))
        twin = list(rows[row])
        twin[change] = twin[change] + "9" if twin[change][-1:].isdigit() else twin[change] + " CHANGED"
        out = io.StringIO()
        csv.writer(out, lineterminator=ending).writerows(rows[: row + 1] + [twin] + rows[row + 1 :])
        return out.getvalue().encode("utf-8")

    return mutate


def drop_column(data: bytes, index: int = 1) -> bytes:
    """Line `index` loses its last comma-separated field."""
    lines = data.splitlines(keepends=True)
    ending = b"\r\n" if lines[index].endswith(b"\r\n") else b"\n"
    lines[index] = lines[index].rstrip(b"\r\n").rsplit(b",", 1)[0] + ending
    return b"".join(lines)


@dataclass(frozen=True)
class SourceFormat:
    """One importer's input: a real sample, the file name it expects, how to break its columns and keys."""

    importer: str
    name: str
    sample: Callable[[], bytes]
    wrong_columns: Callable[[bytes], bytes]
    duplicate: Callable[[bytes], bytes]
    options: dict[str, object] = field(default_factory=dict)
    folder: bool = False  # the importer is given a folder holding `name`


COMTRADE = Path("trade/comtrade_api_samples/india_exports_2022_single_partner.json")


def comtrade_missing_field(data: bytes) -> bytes:
    return data.replace(b'"cmdCode"', b'"cmdCodeX"', 1)


def comtrade_conflict(data: bytes) -> bytes:
    payload = json.loads(data)
    twin = dict(payload["data"][0], primaryValue=payload["data"][0]["primaryValue"] + 1)
    payload["data"] = [*payload["data"], twin]
    return json.dumps(payload).encode()


FORMATS = [
    SourceFormat("hs", "harmonized-system.csv", lambda: head(Path("hs/harmonized-system.csv"), 300), drop_column, conflicting_duplicate(2)),
    SourceFormat("comtrade", "comtrade.json", lambda: (SHARED_DATA / COMTRADE).read_bytes(), comtrade_missing_field, comtrade_conflict),
    SourceFormat(
        "trade-csv", "deep_dive_hs6_monthly.csv",
        lambda: head(Path("trade/china_exports_hs6_monthly_derived/deep_dive_hs6_monthly.csv"), 400),
        lambda d: drop_column(drop_column(d, 5), 5), conflicting_duplicate(3), {"mapping": "china_exports_hs6_monthly"},
    ),
    SourceFormat("imf", "RU_trade.csv", lambda: head(Path("trade/imf_imts_russia_bilateral/RU_trade.csv"), 40), drop_column, conflicting_duplicate(20)),
    SourceFormat(
        "ofac", "sdn.csv", lambda: head(Path("ofac/sdn_snapshots/2022-09-30/sdn.csv"), 300), drop_column,
        conflicting_duplicate(1, row=0), {"data_date": "2022-09-30"}, folder=True,
    ),
    SourceFormat("csl", "consolidated.csv", lambda: (SHARED_DATA / "bis_csl/csl_excerpts/consolidated_2025-06_excerpt.csv").read_bytes(), drop_column, conflicting_duplicate(5)),
    SourceFormat(
        "opensanctions", "targets.simple.csv",
        lambda: head(Path("opensanctions/ua_war_sanctions_2026-03-13/targets.simple.csv"), 200),
        drop_column, conflicting_duplicate(2), {"dataset": "ua_war_sanctions"},
    ),
]  # fmt: skip

GENERIC: dict[str, Callable[[SourceFormat], bytes]] = {
    "empty": lambda f: b"",
    "truncated": lambda f: cut_mid_record(f.sample()),
    "utf-16": lambda f: f.sample().decode("utf-8-sig").encode("utf-16"),
    "latin-1-byte": lambda f: with_latin1(f.sample()),
    "wrong-columns": lambda f: f.wrong_columns(f.sample()),
    "duplicate-key": lambda f: f.duplicate(f.sample()),
    "5MB-junk": lambda f: JUNK,
    "zip-bomb": lambda f: zip_bomb(),
}

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE sdnList [\n <!ENTITY lol "lol">\n'
    + b"".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'.encode()
        for i in range(1, 10)
    )
    + b"]>\n<sdnList><sdnEntry><uid>1</uid><lastName>&lol9;</lastName><sdnType>Entity</sdnType></sdnEntry></sdnList>\n"
)
XML_ATTACKS = {
    "billion-laughs": BILLION_LAUGHS,
    "xxe-local-file": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    b"<sdnList><sdnEntry><uid>1</uid><lastName>&secret;</lastName><sdnType>Entity</sdnType></sdnEntry></sdnList>",
    "external-dtd": b'<?xml version="1.0"?><!DOCTYPE sdnList SYSTEM "http://127.0.0.1:9/evil.dtd">'
    b"<sdnList><sdnEntry><uid>1</uid><lastName>A</lastName><sdnType>Entity</sdnType></sdnEntry></sdnList>",
    "parameter-entity": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
    b"<sdnList/>",
}
YAML_BOMB = (
    "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "entities: *i\n"
)


async def table_hashes(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    """sha256 of every row of every table (in primary-key order): any change at all shows."""
    out = {}
    async with sessions() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table).order_by(*table.primary_key.columns))).all()
            out[table.name] = (
                hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()[:16] + f":{len(rows)}"
            )
    return out


@dataclass
class Loaded:
    sessions: async_sessionmaker[AsyncSession]
    before: dict[str, str]


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "postgresql"])
async def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Loaded]:
    """A database per backend with real rows in the trade, HS and entity tables."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('malformed') / 'tw.sqlite3'}"
    else:
        url = await create_pg_database("tw_reliability_malformed")
    engine = make_engine(url)
    try:
        await upgrade(engine)
        sessions = make_sessionmaker(engine)
        await load_importer("hs")(sessions, SHARED_DATA / "hs/harmonized-system.csv", now=NOW)
        await load_importer("ofac")(sessions, SHARED_DATA / "ofac/nonsdn_consolidated_2025-04", now=NOW)
        await load_importer("curated")(sessions, REPO / "db" / "curated", now=NOW)
        yield Loaded(sessions, await table_hashes(sessions))
    finally:
        await engine.dispose()
        if request.param == "postgresql":
            await drop_pg_database(url)


async def assert_refused(loaded: Loaded, source: str, path: Path, options: dict[str, object]) -> str:
    """The import raises ImportFailed with a short, readable message, and no table changed."""
    with pytest.raises(ImportFailed) as caught:
        await load_importer(source)(loaded.sessions, path, now=NOW, **options)
    message = str(caught.value)
    assert message.strip() and len(message) < 1500 and "Traceback" not in message
    assert await table_hashes(loaded.sessions) == loaded.before
    return message


@pytest.mark.parametrize("case", list(GENERIC))
@pytest.mark.parametrize("fmt", FORMATS, ids=[f.importer for f in FORMATS])
async def test_malformed_file_is_refused_and_changes_nothing(
    loaded: Loaded, tmp_path: Path, fmt: SourceFormat, case: str
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / fmt.name).write_bytes(GENERIC[case](fmt))
    await assert_refused(loaded, fmt.importer, folder if fmt.folder else folder / fmt.name, fmt.options)


@pytest.mark.parametrize("case", list(XML_ATTACKS))
async def test_hostile_ofac_xml_is_refused_without_expanding_or_fetching(
    loaded: Loaded, tmp_path: Path, case: str
) -> None:
    path = tmp_path / "sdn.xml"
    path.write_bytes(XML_ATTACKS[case])
    message = await assert_refused(loaded, "ofac", path, {})
    assert "root:" not in message  # /etc/passwd was not read into anything


YAML_ATTACKS = {
    "alias-bomb": YAML_BOMB,  # ten lines that expand to 9**9 strings (it used to exhaust memory)
    "recursive-alias": "a: &a [x, *a]\nentities: *a\n",
    "nested-100k-deep": "entities: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "not-a-mapping": "- just\n- a list\n",
}


@pytest.mark.parametrize("case", list(YAML_ATTACKS))
async def test_hostile_curated_yaml_is_refused(loaded: Loaded, tmp_path: Path, case: str) -> None:
    (tmp_path / "bad.yml").write_text(YAML_ATTACKS[case], encoding="utf-8")
    message = await assert_refused(loaded, "curated", tmp_path, {})
    assert "bad.yml:" in message


async def test_a_zip_is_not_an_accepted_format_anywhere(loaded: Loaded, tmp_path: Path) -> None:
    """No importer reads archives: a .zip given as the source is refused by each one, unopened."""
    path = tmp_path / "source.zip"
    path.write_bytes(zip_bomb())
    for fmt in FORMATS:
        await assert_refused(loaded, fmt.importer, path, fmt.options)


# async only because the module's asyncio mark covers every test in it
async def test_every_importer_is_in_the_matrix() -> None:
    assert {f.importer for f in FORMATS} | {"curated"} == set(IMPORTERS)
