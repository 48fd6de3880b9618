"""The name index: matching behaviour, recall on the labelled evaluation set, and freshness against the DB."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.names import identifier_key, normalize_name
from db.search import service
from db.search.columns import EntityAttributes, EntityColumns, IdentifierColumns, NameColumns
from db.search.index import EntityHit, NameIndex, SearchFilters
from db.search.service import get_index, search_entities, search_key, suggest_names
from tests.db.entity_seed import load_curated, load_ofac_subset
from tests.fixtures.entity_eval.evaluate import NEGATIVE, build_index, evaluate, read_eval, report

# (entity id, schema, countries, list tags, names) - hand-made, for behaviour tests only.
SMALL = [
    (1, "Company", ("hk",), ("ofac_sdn",), ["SINNO ELECTRONICS CO., LIMITED", "SINNO ELECTRONIC CO., LTD"]),
    (2, "Company", ("hk", "cn"), ("ofac_sdn",), ["KING-PAI TECHNOLOGY HK CO., LIMITED"]),
    (3, "Company", ("cn",), ("curated",), ["China Poly Group Corporation", "中国保利集团有限公司"]),
    (
        4,
        "Person",
        ("ru",),
        ("opensanctions",),
        ["KOLTUKHOV Sergey Georgievich", "КОЛТУХОВ Сергей Георгиевич"],
    ),
    (5, "Company", ("ru",), ("ofac_sdn",), ["RADIOAVTOMATIKA LLC"]),
    (6, "Company", ("ru",), ("ofac_sdn",), ["SPRING ELECTRONICS LLC"]),
    (7, "Person", ("ru",), ("ofac_sdn",), ["KOZLOV, Sergey Mikhaylovich"]),
    (8, "Vessel", ("pa",), ("opensanctions",), ["ROSALIN", "Gold Sun"]),
]


SMALL += [
    (9, "Company", ("ru",), ("ofac_sdn",), ["ALMAZ-ANTEY AIR AND SPACE DEFENCE CORPORATION"]),
    (10, "Person", ("ru",), ("ofac_sdn",), ["PUTIN, Vladimir Vladimirovich", "ПУТИН Владимир Владимирович"]),
    (11, "Person", ("ru",), ("ofac_sdn",), ["POTANIN, Vladimir Olegovich"]),
    (12, "Company", ("ir",), ("ofac_sdn",), ["SOMIC ENGINEERING AND MANAGEMENT CO", "SOMIC"]),
]
IDENTIFIERS = [(1, "1401029"), (2, "1263702"), (5, "7725824287"), (5, "35348")]


def small_index() -> NameIndex:
    names = NameColumns()
    next_id = 100
    for entity_id, _schema, _countries, _tags, entity_names in SMALL:
        for i, name in enumerate(entity_names):
            next_id += 1
            names.append(next_id, entity_id, normalize_name(name), "primary" if i == 0 else "aka")
    entities = [EntityAttributes(e, s, c, t) for e, s, c, t, _ in SMALL]
    identifiers = IdentifierColumns()
    for entity_id, number in IDENTIFIERS:
        identifiers.append(entity_id, identifier_key(number))
    return NameIndex.build(names, EntityColumns.of(entities), identifiers=identifiers)


def top(query: str, **filters: frozenset[str]) -> EntityHit | None:
    hits = search_key(small_index(), normalize_name(query), limit=3, filters=SearchFilters(**filters))
    return hits[0] if hits else None


@pytest.mark.parametrize(
    ("query", "entity_id"),
    [
        ("kingpai", 2),  # run together
        ("KINGPAI TECHNOLOGY", 2),
        ("Алмаз-Антей", 9),  # hyphenated, another romanisation of й
        ("Almaz Antei", 9),
        ("Vladimir Poetin", 10),  # Dutch spelling: Putin, not Potanin
        ("Vladimir Poutine", 10),
        ("Putyin Vladimir", 10),
        ("President Putin", 10),  # titles ignored
        ("Президент Путин", 10),
        ("Путин В. В.", 10),  # initials
        ("فلاديمير بوتين", 10),  # Arabic
        ("ולדימיר פוטין", 10),  # Hebrew: one letter for v and w, romanised w (wldymyr)
        ("Βλαντίμιρ Πούτιν", 10),  # Greek
        ("푸틴", 10),  # Korean
        ("व्लादिमीर पुतिन", 10),  # Hindi
        ("ভ্লাদিমির পুতিন", 10),  # Bengali
        ("វ្លាឌីមៀ ពូទីន", 10),  # Khmer
    ],
)
def test_finds_spellings_and_scripts(query: str, entity_id: int) -> None:
    hit = top(query)
    assert hit is not None and hit.entity_id == entity_id and hit.score >= 80, hit


@pytest.mark.parametrize(
    ("query", "entity_id"),
    [("1401029", 1), ("1 401 029", 1), ("001401029", 1), ("77-2582-4287", 5), ("Tax ID 7725824287", 5),
     ("35348", 5), ("1263702", 2)],
)  # fmt: skip
def test_exact_identifier_comes_first(query: str, entity_id: int) -> None:
    hit = top(query)
    assert hit is not None and hit.entity_id == entity_id and hit.score == 100.0
    assert hit.identifier == identifier_key(query.split()[-1] if " " in query and "ID" in query else query)


def test_identifier_respects_filters() -> None:
    assert top("1401029", countries=frozenset({"ru"})) is None


@pytest.mark.parametrize("query", ["SMIC", "Adidas", "window"])
def test_near_spellings_of_one_word_do_not_match(query: str) -> None:
    """An acronym or a single word one letter off a listed name is not a match (SMIC is not SOMIC)."""
    hit = top(query)
    assert hit is None or hit.score < 80


def test_potanin_is_not_putin() -> None:
    hits = search_key(small_index(), normalize_name("Vladimir Poetin"), limit=3)
    assert [h.entity_id for h in hits[:2]] == [10, 11] and hits[0].score > hits[1].score


@pytest.mark.parametrize(
    ("query", "entity_id"),
    [
        ("sinno electronic", 1),
        ("Electronics Sinno", 1),  # swapped words
        ("SINOO ELECTRONICS LTD", 1),  # typo and another legal form
        ("King Pai", 2),
        ("kingpai technology", 2),  # word break differs
        ("Poly Group", 3),
        ("中国保利集团", 3),  # Chinese, without the legal form
        ("Колтухов Сергей", 4),  # Cyrillic
        ("Sergei Koltuhov", 4),  # another romanisation, swapped
        ("Радиоавтоматика", 5),  # a Latin name typed in Cyrillic
        ("ООО Радиоавтоматика", 5),
        ("gold sun", 8),
    ],
)
def test_finds_variants(query: str, entity_id: int) -> None:
    hits = small_index().search(normalize_name(query), limit=3)
    assert hits and hits[0].entity_id == entity_id


def test_hit_says_which_alias_matched() -> None:
    hit = small_index().search(normalize_name("中国保利集团"))[0]
    assert hit.matched_key == normalize_name("中国保利集团有限公司")
    assert hit.score == 100.0


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (SearchFilters(countries=frozenset({"ru"})), {4, 5, 6, 7, 9, 10, 11}),
        (SearchFilters(schemata=frozenset({"Person"})), {4, 7, 10, 11}),
        (SearchFilters(list_term="ofac"), {1, 2, 5, 6, 7, 9, 10, 11, 12}),
        (SearchFilters(countries=frozenset({"hk"}), list_term="OFAC"), {1, 2}),
        (SearchFilters(countries=frozenset({"zz"})), set()),
    ],
)
def test_filters_restrict_candidates(filters: SearchFilters, expected: set[int]) -> None:
    index = small_index()
    found = {
        h.entity_id
        for q in ("electronics", "sergey", "king", "radio", "rosalin", "poly")
        for h in index.search(normalize_name(q), limit=10, filters=filters)
    }
    assert found <= expected
    if expected:
        assert found


def test_prefix_mode_completes_the_last_word() -> None:
    index = small_index()
    assert index.search("sinno el", prefix=True)[0].entity_id == 1
    assert index.search("radioavt", prefix=True)[0].entity_id == 5
    assert index.search("") == []


def test_weak_alias_ranks_below_an_equal_strong_name() -> None:
    names = NameColumns()
    names.append(1, 1, "acme trading", "weak")
    names.append(2, 2, "acme trading", "primary")
    index = NameIndex.build(
        names, EntityColumns.of([EntityAttributes(1, "Company"), EntityAttributes(2, "Company")])
    )
    hits = index.search("acme trading")
    assert [h.entity_id for h in hits] == [2, 1]
    assert hits[1].score < hits[0].score


@pytest.fixture(scope="module")
def eval_index(shared_data: Path) -> tuple[NameIndex, dict[int, tuple[str, str]]]:
    """Every name and identifier of the real lists the eval set was drawn from, indexed once."""
    return build_index(shared_data)


def test_recall_and_precision_on_the_evaluation_set(
    eval_index: tuple[NameIndex, dict[int, tuple[str, str]]],
) -> None:
    """~850 labelled variants of real names and identifiers, ~40 negatives: the figures in docs/entities.md."""
    index, keys = eval_index
    rows = read_eval()
    figures = evaluate(index, keys, rows)
    print("\n" + report(figures))
    assert len(rows) >= 800 and figures.total[NEGATIVE] >= 30
    assert figures.recall(figures.at5) >= 0.97
    assert figures.recall(figures.at1) >= 0.93
    assert figures.precision >= 0.95
    assert figures.negatives_matched <= 3
    variants = ("identifier", "run-together", "phonetic respelling", "hyphenated, written apart")
    for variant in (*variants, "Chinese name, other romanisation"):
        assert figures.at5[variant] / figures.total[variant] >= 0.95, variant


async def test_index_follows_the_database(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, tmp_path: Path
) -> None:
    """Built from the real OFAC importer's rows; a later import is picked up by the version check."""
    async with sessions() as session:
        empty = await search_entities(session, "sinno electronic")
        assert empty.names_indexed == 0 and empty.hits == []
    await load_ofac_subset(sessions, shared_data, tmp_path / "ofac", step=12)
    async with sessions() as session:
        result = await search_entities(session, "sinno electronic")
        assert result.names_indexed > 1000 and not result.stale
        index, _ = await get_index(session)
        assert index.size == result.names_indexed
        poly_before = await search_entities(session, "中国保利集团")
    await load_curated(sessions)
    async with sessions() as session:
        poly = await search_entities(session, "中国保利集团")
        assert poly.names_indexed > result.names_indexed
        assert poly.hits[0].score == 100.0
        assert not poly_before.hits or poly_before.hits[0].score < 80
        ru = await search_entities(
            session, "radioavtomatika", filters=SearchFilters(countries=frozenset({"ru"}))
        )
        assert ru.hits and ru.hits[0].matched_key == "radioavtomatika"
        hk = await search_entities(
            session, "radioavtomatika", filters=SearchFilters(countries=frozenset({"hk"}))
        )
        assert all(h.score < 90 for h in hk.hits)


async def test_suggestions(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, tmp_path: Path
) -> None:
    await load_ofac_subset(sessions, shared_data, tmp_path / "ofac", step=12)
    async with sessions() as session:
        names = await suggest_names(session, "sinno el")
        assert "SINNO ELECTRONICS CO., LIMITED" in names[:3]
        assert len(await suggest_names(session, "ko")) == 25
        assert all(len(n) <= 100 for n in await suggest_names(session, "joint stock company"))
        assert await suggest_names(session, "") == [] and await suggest_names(session, "!") == []


async def test_large_index_refreshes_in_the_background(
    sessions: async_sessionmaker[AsyncSession],
    shared_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above the size limit a changed database is answered from the old index while a new one builds."""
    monkeypatch.setattr(service, "SYNC_REBUILD_LIMIT", 10)
    await load_ofac_subset(sessions, shared_data, tmp_path / "ofac", step=12)
    async with sessions() as session:
        first = await search_entities(session, "China Poly Group")
    await load_curated(sessions)
    async with sessions() as session:
        stale = await search_entities(session, "China Poly Group")
        assert stale.stale and stale.names_indexed == first.names_indexed
        holder = service._holder(session)
        assert holder.refresh is not None
        await asyncio.wait_for(holder.refresh, 30)
        fresh = await search_entities(session, "China Poly Group")
        assert not fresh.stale and fresh.hits[0].score == 100.0
