"""Malformed input to every entity importer: a clear ImportFailed and an unchanged database."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.base import ImportFailed
from db.sources import load_importer
from tests.ingest.entity_helpers import at, table_counts

SDN_ROW = (
    '38641,"SINNO ELECTRONICS CO., LIMITED",-0- ,"RUSSIA-EO14024",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
)


def ofac_folder(tmp: Path, sdn: bytes, extra: dict[str, bytes] | None = None) -> Path:
    folder = tmp / "ofac"
    folder.mkdir()
    (folder / "sdn.csv").write_bytes(sdn)
    for name, data in (extra or {}).items():
        (folder / name).write_bytes(data)
    return folder


def real_head(path: Path, lines: int) -> bytes:
    return b"".join(path.read_bytes().splitlines(keepends=True)[:lines])


CASES: list[tuple[str, str, Callable[[Path, Path], Path], str]] = [
    ("ofac", "wrong column count", lambda t, d: ofac_folder(t, b'1,"A",-0- \r\n'), "expected 12 columns"),
    (
        "ofac",
        "bad encoding",
        lambda t, d: ofac_folder(t, SDN_ROW.replace("SINNO", "S\xc9NNO").encode("latin-1")),
        "not UTF-8",
    ),
    (
        "ofac",
        "truncated",
        lambda t, d: ofac_folder(t, real_head(d / "ofac/sdn_snapshots/2022-09-30/sdn.csv", 50)[:-40]),
        "columns|broken CSV",
    ),
    ("ofac", "empty", lambda t, d: ofac_folder(t, b""), "no entries"),
    ("ofac", "only the end-of-file byte", lambda t, d: ofac_folder(t, b"\x1a"), "no entries"),
    ("ofac", "duplicate ent_num", lambda t, d: ofac_folder(t, (SDN_ROW * 2).encode()), "appears twice"),
    ("ofac", "junk", lambda t, d: ofac_folder(t, bytes(range(256)) * 4), "not UTF-8|columns|broken CSV"),
    (
        "ofac",
        "ent_num not a number",
        lambda t, d: ofac_folder(t, SDN_ROW.replace("38641", "X1").encode()),
        "not a number",
    ),
    (
        "ofac",
        "broken add.csv",
        lambda t, d: ofac_folder(t, SDN_ROW.encode() + b"\x1a", {"add.csv": b"38641,1,x\r\n"}),
        "add.csv line 1: expected 6 columns",
    ),
    (
        "ofac",
        "cut at a line boundary",
        lambda t, d: ofac_folder(t, cut_at_line(d / "ofac/sdn_snapshots/2022-09-30/sdn.csv")),
        "incomplete: it does not end with OFAC's end-of-file byte",
    ),
    (
        "ofac",
        "add.csv cut at a line boundary",
        lambda t, d: ofac_folder(
            t,
            (d / "ofac/sdn_snapshots/2022-09-30/sdn.csv").read_bytes(),
            {"add.csv": cut_at_line(d / "ofac/sdn_full_2021-07/add.csv")},
        ),
        "add.csv: incomplete",
    ),
    (
        "ofac",
        "XML short of its Record_Count",
        lambda t, d: _write(t / "consolidated.xml", xml_without_last_entry(d)),
        "Record_Count says 639 entries but it holds 638",
    ),
    (
        "csl",
        "JSON short of its total",
        lambda t, d: _write(
            t / "c.json", b'{"total": 2, "results": [{"name": "A", "source": "Entity List"}]}'
        ),
        "says the list has 2 results but holds 1",
    ),
    ("csl", "not a CSL header", lambda t, d: _write(t / "x.csv", b"a,b\n1,2\n"), "missing columns"),
    ("csl", "duplicate _id", lambda t, d: _write(t / "c.csv", _csl_dup(d)), "appears twice"),
    (
        "csl",
        "truncated row",
        lambda t, d: _write(
            t / "c.csv", real_head(d / "bis_csl/csl_excerpts/csl_2019-12_excerpt.csv", 4) + b"Entity List,,\n"
        ),
        "wrong number of columns",
    ),
    (
        "csl",
        "bad JSON",
        lambda t, d: _write(t / "c.json", b'{"results": [{"name": "A", "sou'),
        "not valid JSON",
    ),
    (
        "opensanctions",
        "broken JSON line",
        lambda t, d: _write(t / "entities.ftm.json", b'{"id": "x", "schema": "Person"}\n{"id'),
        "line 2: not JSON",
    ),
    (
        "opensanctions",
        "duplicate id",
        lambda t, d: _write(
            t / "entities.ftm.json", b'{"id": "x", "schema": "Person", "properties": {"name": ["A"]}}\n' * 2
        ),
        "appears twice",
    ),
    (
        "opensanctions",
        "nothing to store",
        lambda t, d: _write(
            t / "entities.ftm.json",
            b'{"id": "p1", "schema": "Position", "properties": {"name": ["Minister"]}}\n',
        ),
        "no people",
    ),
    (
        "opensanctions",
        "simple CSV with wrong header",
        lambda t, d: _write(t / "targets.simple.csv", b"id,name\n1,A\n"),
        "not an OpenSanctions",
    ),
]


def cut_at_line(path: Path) -> bytes:
    """The file cut at the first CRLF after its midpoint: whole rows, no end byte (a cut download)."""
    data = path.read_bytes()
    return data[: data.index(b"\r\n", len(data) // 2) + 2]


def xml_without_last_entry(shared: Path) -> bytes:
    """The real consolidated.xml less its last <sdnEntry> (its Record_Count still says 639)."""
    text = (shared / "ofac/nonsdn_consolidated_2018-05/consolidated.xml").read_bytes()
    start = text.rindex(b"<sdnEntry>")
    end = text.index(b"</sdnEntry>", start) + len(b"</sdnEntry>")
    return text[:start] + text[end:]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _csl_dup(shared: Path) -> bytes:
    lines = (
        (shared / "bis_csl/csl_excerpts/consolidated_2025-06_excerpt.csv")
        .read_bytes()
        .splitlines(keepends=True)
    )
    return lines[0] + lines[1] + lines[1]


@pytest.mark.parametrize(("source", "case", "make", "message"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
async def test_malformed_file_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
    shared_data: Path,
    tmp_path: Path,
    source: str,
    case: str,
    make: Callable[[Path, Path], Path],
    message: str,
) -> None:
    await load_importer("ofac")(sessions, shared_data / "ofac" / "nonsdn_consolidated_2025-04", now=at(0))
    before = await table_counts(sessions)
    with pytest.raises(ImportFailed, match=message):
        await load_importer(source)(sessions, make(tmp_path, shared_data), now=at(1))
    assert await table_counts(sessions) == before


HOSTILE = {
    "billion laughs": b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
    b"<sdnList><sdnEntry><uid>1</uid><lastName>&lol2;</lastName></sdnEntry></sdnList>",
    "external entity": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY ext SYSTEM "http://127.0.0.1:9/x">]>'
    b"<sdnList><sdnEntry><uid>1</uid><lastName>&ext;</lastName></sdnEntry></sdnList>",
    "not OFAC": b"<rss><channel/></rss>",
    "truncated": b"<sdnList><sdnEntry><uid>1</uid><lastName>A</last",
    "no entries": b"<sdnList><publshInformation><Publish_Date>04/06/2018</Publish_Date></publshInformation></sdnList>",
}


@pytest.mark.parametrize("case", list(HOSTILE))
async def test_hostile_or_broken_xml_is_refused(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path, case: str
) -> None:
    path = _write(tmp_path / "sdn.xml", HOSTILE[case])
    with pytest.raises(ImportFailed):
        await load_importer("ofac")(sessions, path, now=at(0))
    assert (await table_counts(sessions))["entities"] == 0


async def test_missing_optional_files_are_fine_and_a_copy_of_the_same_files_is_already_loaded(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(shared_data / "ofac" / "nonsdn_consolidated_2025-04", copy)
    first = await load_importer("ofac")(
        sessions, shared_data / "ofac" / "nonsdn_consolidated_2025-04", now=at(0)
    )
    assert first.rows_read > 0 and not first.already_loaded
    assert (await load_importer("ofac")(sessions, copy, now=at(1))).already_loaded
