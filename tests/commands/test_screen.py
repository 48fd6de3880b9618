"""/screen and `tradewatch screen`: reading sheets, the verdicts over real OFAC lines and the curated file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import ConfigError, ScreenConfig
from commands.context import Context
from commands.errors import InvalidInput, NoData
from commands.registry import run_text
from commands.replies import Reply
from commands.screen import RESULT_COLUMNS, Thresholds, run_screen, thresholds_from
from commands.screen_table import MAX_COLUMNS, ScreenParams, check_size, read_table
from db.lookups import Lookups
from tests.commands.test_entity import story  # noqa: F401  (a fixture: real OFAC lines + curated file)
from tests.db.entity_seed import load_curated, load_ofac_subset

SHEET = """Consignee;Country;Invoice
KING PAI TECHNOLOGY CO LTD;HK;=1+1
Sinno Electronics;Hong Kong;A-2
Radioavtomatika;RU;A-3
Radioavtomatika;RU;A-4
Apple Inc;US;A-5
Samsung Electronics;KR;A-6
;;A-7
Poly Technologies;Atlantis;A-8
"""


def params(data: bytes, filename: str = "sheet.csv", **options: object) -> ScreenParams:
    async def read() -> bytes:
        return data

    return ScreenParams(filename, read, **options)  # type: ignore[arg-type]


def xlsx(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_excel(out, index=False, engine="openpyxl")
    return out.getvalue()


def rows(reply: Reply) -> list[dict[str, str]]:
    [attachment] = reply.attachments
    assert attachment.filename.endswith(".csv")
    return list(csv.DictReader(io.StringIO(attachment.data.decode("utf-8"))))


async def screen(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, p: ScreenParams, progress: object = None
) -> Reply:
    async with sessions() as session:
        return await run_screen(Context(session=session, lookups=lookups), p, progress)  # type: ignore[arg-type]


# --- reading the sheet (no database) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename", "says"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00rest", "chart.png", "binary file"),
        (b"", "empty.csv", "it is empty"),
        (b"   \n\n", "blank.csv", "it is empty"),
        (b"name,country\n", "header.csv", "no rows"),
        (b'name,country\n"open quote,RU\n', "broken.csv", "not a table"),
        (b"name,country\nA,RU,extra,more\n", "ragged.csv", "not a table"),
        (b"PK\x03\x04 not really a zip", "fake.xlsx", "Excel file cannot be opened"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old.xls", "old-style Excel"),
        (b"name\n" + b"x\n" * 11, "long.csv", "more than 10 rows"),
        (("," * MAX_COLUMNS + "\n" + "a," * MAX_COLUMNS + "\n").encode(), "wide.csv", "columns"),
    ],
)
def test_what_is_not_a_usable_table_is_refused(data: bytes, filename: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_table(data, filename, max_rows=10)
    assert says in caught.value.user_text() and caught.value.hint


def test_csv_dialects_encodings_and_xlsx_read_the_same() -> None:
    frame = pd.DataFrame({"Name": ["Müller GmbH", "ООО Ромашка"], "Country": ["DE", "RU"]})
    semicolon = "Name;Country\nMüller GmbH;DE\nООО Ромашка;RU\n".encode("utf-8-sig")
    tabs = b"Name\tCountry\nM\xfcller GmbH\tDE\n"  # Windows-1252, as Excel saves CSV on Windows
    assert read_table(semicolon, "a.csv", max_rows=5).frame.equals(frame)
    assert read_table(xlsx(frame), "a.xlsx", max_rows=5).frame.equals(frame)
    assert read_table(tabs, "b.tsv", max_rows=5).frame.iloc[0].tolist() == ["Müller GmbH", "DE"]
    numbers = read_table(xlsx(pd.DataFrame({"name": ["A"], "reg": [1401029]})), "n.xlsx", max_rows=5)
    assert numbers.frame.iloc[0].tolist() == ["A", "1401029"]  # text, not a float


def test_xlsx_row_limit_is_checked() -> None:
    frame = pd.DataFrame({"name": [f"Firm {i}" for i in range(30)]})
    with pytest.raises(InvalidInput, match="more than 20 rows"):
        read_table(xlsx(frame), "big.xlsx", max_rows=20)


def test_sizes_and_thresholds() -> None:
    with pytest.raises(InvalidInput, match="the limit is 8 MB"):
        check_size(9 * 2**20, "big.csv")
    with pytest.raises(InvalidInput, match="empty"):
        check_size(0, "nothing.csv")
    check_size(100, "small.csv")
    default = thresholds_from()
    assert default.possible < default.match
    assert thresholds_from(70.0) == Thresholds(70.0, 70.0)  # a lone low match pulls possible down
    with pytest.raises(ValueError):
        Thresholds(80.0, 90.0)
    assert ScreenConfig(95, 85) == ScreenConfig(95.0, 85.0)
    assert ScreenConfig(workers=0).workers == 0
    for bad in (
        {"match_score": 101},
        {"possible_score": "high"},
        {"match_score": 80, "possible_score": 90},
        {"workers": -1},
        {"workers": 2.5},
        {"workers": True},
    ):
        with pytest.raises(ConfigError):
            ScreenConfig(**bad)  # type: ignore[arg-type]


# --- screening over the database (SQLite and PostgreSQL) ------------------------------------------------


async def test_each_row_gets_a_verdict(
    story: None,  # noqa: F811
    sessions: async_sessionmaker[AsyncSession],
    lookups: Lookups,
) -> None:
    seen: list[tuple[int, int]] = []
    reply = await screen(
        sessions,
        lookups,
        params(SHEET.encode(), name_column="consignee"),
        lambda done, total: seen.append((done, total)),
    )
    out = rows(reply)
    assert list(out[0]) == ["Consignee", "Country", "Invoice", *RESULT_COLUMNS]
    assert [r["Invoice"] for r in out] == ["'=1+1", *(f"A-{i}" for i in range(2, 9))]  # order kept, guarded
    by_name = {r["Consignee"]: r for r in out}
    king = by_name["KING PAI TECHNOLOGY CO LTD"]
    # The OFAC record (Hong Kong) beats the same-name curated record (China): the row says HK.
    assert (king["verdict"], king["matched_name"], king["list"]) == (
        "match",
        "KING PAI TECHNOLOGY CO., LTD.",  # the alias that matched; the explanation names the record
        "SDN List (RUSSIA-EO14024)",
    )
    assert king["explanation"].startswith(
        "Organization 'KING-PAI TECHNOLOGY HK CO., LIMITED', score 100/100: "
    )
    assert "name 'KING PAI TECHNOLOGY CO., LTD.' (aka): king exact, pai exact" in king["explanation"]
    assert "country HK agrees" in king["explanation"] and king["entity_id"]
    assert by_name["Sinno Electronics"]["verdict"] == "match"
    assert by_name["Radioavtomatika"]["matched_name"] == "RADIOAVTOMATIKA LLC"
    for unlisted in ("Apple Inc", "Samsung Electronics"):
        assert by_name[unlisted]["verdict"] == "none" and by_name[unlisted]["matched_name"] == ""
        assert by_name[unlisted]["explanation"].startswith("closest: ")
    poly = by_name["Poly Technologies"]
    assert poly["list"] == "SDN List [curated, cited]" and "'Atlantis' not recognised" in poly["explanation"]
    blank = out[6]
    assert (blank["verdict"], blank["explanation"]) == ("skipped", "not screened: Give a name to look up.")
    assert reply.numbers["counts"] == {"match": 5, "possible": 0, "none": 2, "skipped": 1}
    assert reply.numbers["name_column"] == "Consignee" and reply.numbers["country_column"] == "Country"
    assert seen == [(1, 8), (8, 8)]  # the blank row at once, then each batch of searches
    summary = "\n".join(reply.summary)
    assert "5 match, 0 possible, 2 none, 1 skipped" in summary
    assert "OFAC Specially Designated Nationals (SDN) List: data 2024-05-01" in summary
    assert any(f.name == "Match (5)" and "row 1: KING PAI" in f.value for f in reply.fields)


async def test_all_candidates_and_country_disagreement(
    story: None,  # noqa: F811
    sessions: async_sessionmaker[AsyncSession],
    lookups: Lookups,
) -> None:
    sheet = xlsx(
        pd.DataFrame({"name": ["King Pai Technology", "Sinno Electronics"], "country": ["CN", "RU"]})
    )
    reply = await screen(sessions, lookups, params(sheet, "suppliers.xlsx", all_candidates=True))
    out = rows(reply)
    assert reply.attachments[0].filename == "screened-suppliers.csv"
    king = [r for r in out if r["name"] == "King Pai Technology"]
    assert [r["candidate"] for r in king] == [str(i) for i in range(1, len(king) + 1)] and len(king) >= 2
    # OFAC's record (its address in China) and the curated one (China): both names exact, both countries agree
    assert [r["verdict"] for r in king[:2]] == ["match", "match"]
    assert {r["list"] for r in king[:2]} == {"SDN List (RUSSIA-EO14024)", "Entity List [curated, cited]"}
    sinno = [r for r in out if r["name"] == "Sinno Electronics"]
    assert sinno[0]["verdict"] == "possible"  # the name is exact, but the row says Russia
    assert "country differs: row RU" in sinno[0]["explanation"]
    assert all(float(r["score"]) >= thresholds_from().possible for r in out)


async def test_column_errors_name_the_columns(
    story: None,  # noqa: F811
    sessions: async_sessionmaker[AsyncSession],
    lookups: Lookups,
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await screen(sessions, lookups, params(SHEET.encode()))
    assert "no column 'name'" in caught.value.message
    assert "'Consignee', 'Country', 'Invoice'" in str(caught.value.hint) and "name_column:" in str(
        caught.value.hint
    )
    with pytest.raises(InvalidInput, match="no column 'Land'"):
        await screen(
            sessions, lookups, params(SHEET.encode(), name_column="Consignee", country_column="Land")
        )
    with pytest.raises(InvalidInput, match="more than 3 rows"):
        await screen(sessions, lookups, params(SHEET.encode(), name_column="Consignee", max_rows=3))


async def test_no_lists_loaded(sessions: async_sessionmaker[AsyncSession], lookups: Lookups) -> None:
    with pytest.raises(NoData, match="No sanctions lists"):
        await screen(sessions, lookups, params(b"name\nAcme\n"))


async def test_typed_screen_says_where_screening_runs(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups
) -> None:
    async with sessions() as session:
        with pytest.raises(InvalidInput) as caught:
            await run_text(Context(session=session, lookups=lookups), "/screen consignees.csv")
    assert "tradewatch screen FILE --out results.csv" in caught.value.user_text()


CONSIGNEES = """consignee,country
Sinno Electronics Co Ltd,HK
King Pai Technology (HK) Co.,HK
Radioavtomatika,RU
Wuhan Global Sensor Technology,CN
Juhang Aviation Technology Shenzhen,CN
Jinmingsheng Technology HK Co,HK
Chip Space Electronics Limited,HK
Hengshui Heshuo Cellulose,CN
Pixel Devices Ltd,
Poly Technologies Inc,CN
Apple Inc,US
Samsung Electronics Co Ltd,KR
Siemens AG,DE
Toyota Motor Corporation,JP
Nestle SA,CH
A.P. Moller-Maersk,DK
Hon Hai Precision Industry,TW
Robert Bosch GmbH,DE
Sony Group Corporation,JP
Texas Instruments Inc,US
"""
LISTED = {  # row name -> the record its explanation must name (the SDN list of 2024-05-01, or curated)
    "Sinno Electronics Co Ltd": "SINNO ELECTRONICS CO., LIMITED",
    "King Pai Technology (HK) Co.": "KING-PAI TECHNOLOGY HK CO., LIMITED",
    "Radioavtomatika": "RADIOAVTOMATIKA LLC",
    "Wuhan Global Sensor Technology": "WUHAN GLOBAL SENSOR TECHNOLOGY CO., LTD.",
    "Juhang Aviation Technology Shenzhen": "JUHANG AVIATION TECHNOLOGY SHENZHEN CO., LTD.",
    "Jinmingsheng Technology HK Co": "JINMINGSHENG TECHNOLOGY HK CO LIMITED",
    "Chip Space Electronics Limited": "CHIP SPACE ELECTRONICS CO., LIMITED",
    "Hengshui Heshuo Cellulose": "HENGSHUI HESHUO CELLULOSE CO., LTD.",
    "Pixel Devices Ltd": "PIXEL DEVICES LIMITED",
    "Poly Technologies Inc": "Poly Technologies Inc",
}


async def test_a_consignee_sheet_finds_the_listed_and_calls_no_unlisted_firm_a_match(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, shared_data: Path, tmp_path: Path
) -> None:
    """Twenty consignees as a shipping record writes them: ten on the whole SDN list of 2024-05-01 (or cited in
    the curated file), ten well-known firms on no list."""
    await load_ofac_subset(sessions, shared_data, tmp_path / "ofac", step=1)
    await load_curated(sessions)
    out = rows(await screen(sessions, lookups, params(CONSIGNEES.encode(), name_column="consignee")))
    for row in out:
        if row["consignee"] in LISTED:
            assert row["verdict"] == "match", row
            assert row["explanation"].split("'")[1] == LISTED[row["consignee"]], row
        else:
            assert row["verdict"] != "match", row

    # Two listed firms are `nik` to the search (NIK LLC, and AO NIK's alias): each row gets the one written as
    # it writes it, and is told of the other.
    reply = await screen(sessions, lookups, params(b"name\nNik Llc\nAO NIK\n"))
    nik_llc, ao_nik = rows(reply)
    assert (nik_llc["matched_name"], nik_llc["score"], ao_nik["matched_name"]) == (
        "NIK LLC",
        "100.0",
        "AO NIK",
    )
    assert f"; as close: 'AO NIK' (entity {ao_nik['entity_id']}, 100)" in nik_llc["explanation"]
    assert f"; as close: 'NIK LLC' (entity {nik_llc['entity_id']}, 100)" in ao_nik["explanation"]
    assert any(
        "row 1: Nik Llc → NIK LLC (SDN List (RUSSIA-EO14024)) 100 (+1 as close)" in f.value
        for f in reply.fields
    )
