"""Cited figures beside the data: the repo's curated starter file, loaded by its importer, shown under /exports
and /top (never in a series) and in place of a bare "no data"; matching by HS code, countries, flow and period."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commands.cited import FIELD_PREFIX, match
from commands.context import Context
from commands.errors import NoData
from commands.registry import run_text
from db.ingest import curated
from db.ingest.curated_schema import load_file, period_bounds
from db.lookups import Lookups
from db.queries.reported_figures import FigureRow
from tests.commands.trade_seed import NOW, seed_derived, seed_hs

CURATED = Path(__file__).resolve().parents[2] / "db" / "curated"
CHIPS_WORDS = "more than doubled to about $50 million in the first five months of 2022"


@pytest.fixture
async def seeded(sessions: async_sessionmaker[AsyncSession], shared_data: Path, lookups: Lookups) -> None:
    """The real China monthly exports table, the HS nomenclature and the repo's curated starter file."""
    await seed_derived(sessions, shared_data, lookups)
    await seed_hs(sessions, shared_data)
    await curated.run_import(sessions, CURATED, now=dt.datetime(2026, 11, 29, tzinfo=dt.UTC))


async def ask(sessions: async_sessionmaker[AsyncSession], lookups: Lookups, text: str):  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return await run_text(Context(session=session, lookups=lookups, now=lambda: NOW), text)


def cited_fields(reply) -> list:  # type: ignore[no-untyped-def]
    return [f for f in reply.fields if f.name.startswith(FIELD_PREFIX)]


async def test_no_data_answer_shows_the_cited_figure_and_the_fetch_command(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, seeded: None
) -> None:
    reply = await ask(sessions, lookups, "/exports chips RU 2022")
    assert reply.title.startswith("No loaded data: chips (HS 8542), China's exports to Russia, 2022")
    (field,) = cited_fields(reply)
    assert field.name == f"{FIELD_PREFIX}: The Wall Street Journal, 2022-07-15"
    assert CHIPS_WORDS in field.value and "wsj.com/articles/" in field.value
    assert "Tradewatch's reading" in field.value  # the article gives no HS code: the answer says whose code
    how = next(f for f in reply.fields if f.name == "How to get the data")
    assert "tradewatch import comtrade --api --reporter CN --partner RU --cmd 8542" in how.value
    assert not reply.attachments  # nothing charted: a cited figure is not a series
    (figure,) = reply.numbers["reported_figures"]
    assert (figure["value"], figure["period"], figure["mirror"]) == (50_000_000, "2022-01/2022-05", False)


async def test_aluminium_oxide_figure_is_found_for_2023_against_2022_and_not_for_2020(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, seeded: None
) -> None:
    reply = await ask(sessions, lookups, "/exports aluminium oxide RU 2023")  # base year 2022 is the figure's
    assert "400 times higher than last year" in cited_fields(reply)[0].value
    with pytest.raises(NoData):  # nothing known for 2020-2019: the short "no data" answer
        await ask(sessions, lookups, "/exports aluminium oxide RU 2020")


async def test_data_answer_keeps_figures_out_of_its_series(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, seeded: None
) -> None:
    graphite = await ask(sessions, lookups, "/exports graphite RU 2022")
    assert not cited_fields(graphite) and "reported_figures" not in graphite.numbers
    ranking = await ask(sessions, lookups, "/top partners 8542 2022")  # no HS 8542 rows: figures instead
    assert CHIPS_WORDS in cited_fields(ranking)[0].value
    goods = await ask(sessions, lookups, "/top goods RU 2022")  # every good of the pair: both figures
    assert len(cited_fields(goods)) == 2 and len(goods.numbers["reported_figures"]) == 2
    assert not cited_fields(await ask(sessions, lookups, "/top goods KZ 2022"))  # another partner


async def test_mirror_question_shows_the_figure_labelled_as_chinas_report(
    sessions: async_sessionmaker[AsyncSession], lookups: Lookups, seeded: None
) -> None:
    reply = await ask(sessions, lookups, "/exports chips China 2022 reporter=RU flow=imports")
    (field,) = cited_fields(reply)
    assert "About China's exports to Russia" in field.value and "as China reported them" in field.value
    assert reply.numbers["reported_figures"][0]["mirror"] is True


def _row(**changes: object) -> FigureRow:
    base = dict(
        key="k", subject="s", statement="t", value=None, unit=None, period="2022", hs_code="8542",
        commodity=None, hs_note=None, reporter="CN", partner="RU", flow="X", period_from=202201,
        period_to=202212, citations=[],
    )  # fmt: skip
    return FigureRow(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("codes", "reporter", "partners", "flow", "expected"),
    [
        (("854231",), "CN", {"RU"}, "X", "direct"),  # a subheading of the figure's heading
        (("85",), "CN", None, "X", "direct"),  # a chapter, every partner (/top partners)
        (("8542",), "RU", {"CN"}, "M", "mirror"),  # Russia's imports from China: China's report of them
        (("8542",), "CN", {"KZ"}, "X", None),  # another partner
        (("8542",), "CN", {"RU"}, "M", None),  # China's imports from Russia: another flow
        (("2504",), "CN", {"RU"}, "X", None),  # other goods
        ((), "CN", {"RU"}, "X", None),
    ],
)
def test_match(
    codes: tuple[str, ...], reporter: str, partners: set[str] | None, flow: str, expected: str | None
) -> None:
    found = match(_row(), codes, reporter, partners, flow)
    assert (None if found is None else ("mirror" if found.mirror else "direct")) == expected


@pytest.mark.parametrize(
    ("period", "bounds"),
    [
        ("2022", (202201, 202212)),
        ("2022-01/2022-05", (202201, 202205)),
        ("2022-06-02/2022-11-16", (202206, 202211)),
        ("2014/2022", (201401, 202212)),
        ("2022 (to mid-year)", None),
        ("2022-13", None),
        ("2023/2022", None),
    ],
)
def test_period_bounds(period: str, bounds: tuple[int, int] | None) -> None:
    assert period_bounds(period) == bounds


def test_schema_refuses_an_unreadable_period_and_an_unknown_country(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(
        "citations:\n  c: {publisher: P, title: T, url: 'https://example.org', date: 2022-07-15}\n"
        "figures:\n"
        "  - {id: a, subject: s, statement: t, period: 'mid 2022', cite: [c]}\n"
        "  - {id: b, subject: s, statement: t, period: '2022', reporter: XX, cite: [c]}\n",
        encoding="utf-8",
    )
    model, errors = load_file(path)
    assert model is None
    assert any("figures[0].period" in e and "YYYY" in e for e in errors)
    assert any("figures[1].reporter" in e and "alpha-2" in e for e in errors)
