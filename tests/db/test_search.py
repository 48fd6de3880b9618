"""The name index: matching behaviour, recall on the labelled evaluation set, and freshness against the DB."""

from __future__ import annotations

import asyncio
import csv
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.names import normalize_name
from db.search import service
from db.search.columns import EntityAttributes, EntityColumns, NameColumns
from db.search.index import NameIndex, SearchFilters
from db.search.service import get_index, search_entities, suggest_names
from tests.db.entity_seed import load_curated, load_ofac_subset
from tests.fixtures.entity_eval.real_lists import read_all

EVAL = Path(__file__).resolve().parents[1] / "fixtures" / "entity_eval" / "eval.csv"

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


def small_index() -> NameIndex:
    names = NameColumns()
    next_id = 100
    for entity_id, _schema, _countries, _tags, entity_names in SMALL:
        for i, name in enumerate(entity_names):
            next_id += 1
            names.append(next_id, entity_id, normalize_name(name), "primary" if i == 0 else "aka")
    entities = [EntityAttributes(e, s, c, t) for e, s, c, t, _ in SMALL]
    return NameIndex.build(names, EntityColumns.of(entities))


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
        (SearchFilters(countries=frozenset({"ru"})), {4, 5, 6, 7}),
        (SearchFilters(schemata=frozenset({"Person"})), {4, 7}),
        (SearchFilters(list_term="ofac"), {1, 2, 5, 6, 7}),
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
    """Every name of the real lists the eval set was drawn from (about 47,000 names), indexed once."""
    names, entities, keys = NameColumns(), EntityColumns(), {}
    for position, record in enumerate(read_all(shared_data)):
        entities.append(position, record.schema, tuple(record.countries))
        keys[position] = (record.source, record.key)
        for name, kind in record.names:
            names.append(len(names) + 1, position, normalize_name(name), kind)
    return NameIndex.build(names, entities), keys


def test_recall_on_the_evaluation_set(eval_index: tuple[NameIndex, dict[int, tuple[str, str]]]) -> None:
    """≥ 300 labelled variants of real names (typos, legal forms, word order, scripts): recall@5 ≥ 0.95."""
    index, keys = eval_index
    with EVAL.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    assert len(rows) >= 300
    at1, at5, per_variant, total = Counter(), Counter(), Counter(), Counter()
    for row in rows:
        wanted = {(row["source"], row["key"])} | {tuple(x.split(":", 1)) for x in row["also"].split(";") if x}
        found = [keys[h.entity_id] for h in index.search(normalize_name(row["query"]), limit=5)]
        total[row["variant"]] += 1
        at1[row["variant"]] += bool(found) and found[0] in wanted
        at5[row["variant"]] += any(f in wanted for f in found)
        per_variant[row["variant"]] += any(f in wanted for f in found)
    n = sum(total.values())
    recall1, recall5 = sum(at1.values()) / n, sum(at5.values()) / n
    print(f"\nentity eval: {n} queries, recall@1 {recall1:.3f}, recall@5 {recall5:.3f}")
    for variant in sorted(total):
        print(
            f"  {variant:45s} {total[variant]:4d}  @1 {at1[variant] / total[variant]:.2f}  "
            f"@5 {at5[variant] / total[variant]:.2f}"
        )
    assert recall5 >= 0.95
    assert recall1 >= 0.90
    assert {v for v in total if "Cyrillic" in v} and {v for v in total if "Chinese" in v}


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
