"""Chinese names in other romanisations: pinyin, Wade-Giles and Hong Kong surname spellings of one syllable."""

from __future__ import annotations

import pytest
from pypinyin import Style, pinyin

from commands.entity_match import word_evidence
from db.names import normalize_name
from db.search.columns import EntityAttributes, EntityColumns, NameColumns
from db.search.index import NameIndex
from db.search.romanisation import HONG_KONG_SURNAMES, ROMANISED_SCORE, other_romanisations
from db.search.scoring import score_candidates
from db.search.service import search_key

# (entity id, names): real list names (OFAC SDN; Xi Jinping as public sources write him), and SYNTHETIC ones
# (marked) where a test needs two spellings of one name side by side.
PEOPLE = [
    (1, ["XI Jinping", "习近平"]),
    (2, ["ZHOU, Jianshu"]),
    (3, ["ZHANG, Keping"]),
    (4, ["CHOU, Hsien Cheng"]),
    (5, ["LEE, John Ka-chiu"]),
    (6, ["WONG, Moon Chi"]),
    (7, ["CHOW, Jianshu"]),  # SYNTHETIC: the Hong Kong spelling of entity 2's name
    (8, ["SHI, Jinping"]),  # SYNTHETIC: another syllable, one letter off Wade-Giles `hsi`
    (9, ["XU, Keping"]),  # SYNTHETIC: another surname with the same given name
]


def people_index() -> NameIndex:
    names = NameColumns()
    for entity_id, entity_names in PEOPLE:
        for i, name in enumerate(entity_names):
            names.append(len(names) + 1, entity_id, normalize_name(name), "primary" if i == 0 else "aka")
    entities = [EntityAttributes(e, "Person", ("cn",), ("ofac_sdn",)) for e, _ in PEOPLE]
    return NameIndex.build(names, EntityColumns.of(entities))


@pytest.mark.parametrize(
    ("word", "others"),
    [
        ("zhou", {"chou", "chow", "chau"}),  # pinyin: Wade-Giles, then Hong Kong's two spellings of 周
        ("chow", {"zhou", "chou"}),
        ("xi", {"hsi"}),
        ("hsi", {"xi"}),
        ("zhang", {"chang", "cheung"}),
        ("cheung", {"zhang", "chang", "jiang", "chiang"}),  # 張 and 蔣
        ("ji", {"chi"}),  # Wade-Giles without its apostrophe writes ji and qi alike, but ji is not qi
        ("lai", {"li"}),  # 黎 is Lai in Hong Kong; pypinyin's Wade-Giles slip (lai as lei) is corrected
        ("smith", set()),
        ("i", set()),  # Wade-Giles `i` for `yi`: one letter is an initial
    ],
)
def test_other_romanisations(word: str, others: set[str]) -> None:
    assert set(other_romanisations(word)) == others


def test_hong_kong_spellings_are_pypinyin_readings_of_their_characters() -> None:
    """Each surname's pinyin in the table is one pypinyin gives its character (a typo in the table fails)."""
    for chars, hong_kong, syllables in HONG_KONG_SURNAMES:
        readings = pinyin(chars, style=Style.NORMAL, heteronym=True)
        if len(chars) == 1:
            assert syllables in readings[0], (chars, hong_kong, syllables)
        else:  # 司徒 situ: one syllable per character
            assert any(syllables.startswith(r) for r in readings[0]), (chars, syllables)


@pytest.mark.parametrize(
    ("query", "entity_id"),
    [
        ("Hsi Jinping", 1),  # Wade-Giles surname
        ("Jinping Hsi", 1),
        ("Zhou Jianshu", 2),
        ("Chou Jianshu", 2),  # an exact CHOW (7) would tie: Chou writes Zhou, not Chow
        ("Cheung Keping", 3),  # Hong Kong
        ("Chang Keping", 3),  # Wade-Giles
        ("Zhou Hsien Cheng", 4),  # pinyin for a Wade-Giles name
        ("Li John Ka-chiu", 5),
        ("Huang Moon Chi", 6),
    ],
)
def test_finds_other_romanisations(query: str, entity_id: int) -> None:
    hits = search_key(people_index(), normalize_name(query), limit=3)
    assert hits and hits[0].entity_id == entity_id and hits[0].score >= 90, hits


def test_the_spelling_as_typed_ranks_first() -> None:
    """`Chow Jianshu` finds the CHOW record first and the ZHOU one next: another romanisation is not equal."""
    hits = search_key(people_index(), normalize_name("Chow Jianshu"), limit=3)
    assert [h.entity_id for h in hits[:2]] == [7, 2]
    assert hits[0].score == 100.0 and 90 <= hits[1].score < 100


def test_other_syllables_stay_below() -> None:
    """`hsi` is pinyin `xi`, not `shi` (one letter off), and Zhang is not Xu."""
    got = score_candidates("hsi jinping", ["xi jinping", "shi jinping"])
    assert got[0] > got[1]
    zhang, xu = score_candidates("cheung keping", ["zhang keping", "xu keping"])
    assert zhang >= 90 > xu


def test_word_score_is_the_romanised_score() -> None:
    """Two-word query: the surname scores ROMANISED_SCORE, the given name 100, averaged by length."""
    (got,) = score_candidates("hsi jinping", ["xi jinping"])
    assert got == round((3 * ROMANISED_SCORE + 7 * 100.0) / 10, 1)


def test_short_queries_are_not_romanised() -> None:
    """A query of four letters or fewer is matched as spelled (an acronym or a lone surname)."""
    (chow,) = score_candidates("chow", ["zhou"])
    assert chow < 50  # the letters' ratio (50) times the short-query factor, not ROMANISED_SCORE


def test_search_tries_the_listed_spellings() -> None:
    """When nothing scores well, the query is also searched with the listed spellings of its syllables."""
    index = people_index()
    keys = index._sound_alike_keys("hsi jinping")
    assert keys[0] == "xi jinping"
    assert index._sound_alike_keys("chou jianshu")[0] in ("chow jianshu", "zhou jianshu")


def test_why_says_another_romanisation() -> None:
    assert word_evidence("hsi jinping", "xi jinping") == "hsi another romanisation, jinping exact"
    assert word_evidence("chow jianshu", "zhou jianshu") == "chow another romanisation, jianshu exact"
