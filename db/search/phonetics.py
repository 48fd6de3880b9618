"""Which name words sound alike: spellings of one sound (`poetin`, `poutine`, `putyin` -> `putin`).

Two codes per word, both computed by table, not by hand-written spelling rules:
- Metaphone (rigour's Rust implementation): English-style spelling variants (`poetin`/`putin`, `xi`/`hsi`).
- The consonant skeleton: every letter mapped to its Soundex group (b f p v -> 1, c g j k q s x z -> 2,
  d t -> 3, l -> 4, m n -> 5, r -> 6), vowels, h, w and y dropped, doubled letters written once, and
  not cut to four characters as Soundex is. Arabic, Persian and Hebrew write few vowels, and their
  romanisations (`bwtyn`, `pwtyn`) keep only the skeleton of `putin`. A vowelless word that starts with w
  has a second skeleton with that w read as v: Hebrew's one letter for both romanises as w (`wldymyr`).

Before either code, `letters` folds the few letters romanisation schemes write differently (й as y, i or j;
х as kh or h): `antey` and `antei` are the same word, scored `SAME_LETTERS_SCORE`.

Scoring (`db.search.scoring`) counts a sound-alike word as `PHONETIC_SCORE`, below an exact spelling and
above the typo-level ratio it would get otherwise (`poetin` ~ `putin` 73, ~ `potanin` 62). The index
(`db.search.index`) also uses `PhoneticWords` to look up listed words that sound like an unknown query
word, so those names reach the re-ranking at all.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from rigour.text.phonetics import metaphone

# Words whose codes are kept. Most lookups are adjacent-word pairs seen once: a cache above a million names'
# 110,000 words (1 << 18) missed 59% of metaphone lookups instead of 72%, about 20 us a search, not measurable.
WORD_CACHE = 1 << 16
PHONETIC_SCORE = 84.0  # a word that sounds like the listed word, spelled otherwise
SAME_LETTERS_SCORE = 96.0  # the same word in another romanisation of the same letters (`antei` / `antey`)
# Letters that romanisation schemes of one Cyrillic, Greek or Arabic letter write differently:
# й -> y / i / j, х -> kh / h, в -> v / w, ф -> f / ph. Applied longest first.
_ROMANISATION_FOLD = (("kh", "h"), ("ph", "f"), ("y", "i"), ("j", "i"), ("w", "v"))
_MIN_CODE = 3  # a code of one or two sounds (`nega` NK ~ `nokia` NK, `rcc` ~ `roche`) says too little
_VOWELS = frozenset("aeiou")
_GROUPS = str.maketrans(
    "bfpvcgjkqsxzdtlmnr", "111122222222334556", "aeiouyhw0123456789"
)  # Soundex's letter groups; vowels, h, w, y and digits dropped


def skeleton(word: str) -> str:
    """The consonant skeleton: `putin`, `pwtyn`, `bwtyn` -> `135`; `potanin` -> `1355`."""
    single = "".join([c for c, before in zip(word, " " + word, strict=False) if c != before])  # `ll` -> `l`
    return single.translate(_GROUPS)


@lru_cache(maxsize=WORD_CACHE)
def letters(word: str) -> str:
    """The word with romanisation variants of one letter folded (`antey`, `antej` -> `antei`)."""
    for a, b in _ROMANISATION_FOLD:
        word = word.replace(a, b)
    return word


def codes(word: str) -> tuple[str, str, str]:
    """(metaphone, skeleton, skeleton with a leading w read as v) of a word; an empty code when it says too
    little (short or no consonant). The third is for vowelless words only: Hebrew writes v and w with one
    letter, which romanises as w (`wldymyr` for Vladimir), while Arabic's is a w (`wlyd`, Walid)."""
    return (_metaphone(word), *_skeletons(word))


@lru_cache(maxsize=WORD_CACHE)
def _metaphone(word: str) -> str:
    meta = metaphone(word) if len(word) >= 2 and word.isalpha() else ""
    return meta if len(meta) >= _MIN_CODE else ""


@lru_cache(maxsize=WORD_CACHE)
def _skeletons(word: str) -> tuple[str, str]:
    if not word.isalpha():
        return ("", "")
    bones = skeleton(word)
    as_v = skeleton("v" + word[1:]) if word[0] == "w" and _abjad_like(word) else ""
    return (bones if len(bones) >= _MIN_CODE else "", as_v if len(as_v) >= _MIN_CODE else "")


def _abjad_like(word: str) -> bool:
    """No written vowel (`bwtyn`): how Arabic, Persian and Hebrew names romanise letter by letter."""
    return not _VOWELS.intersection(word)


def sound_alike(a: str, b: str) -> bool:
    """Whether two words are spelled alike or share a phonetic code.

    The skeleton alone is too loose between two spelled-out Latin words (`yakushev` / `yezhikov` both give
    `221`), so it counts only when one of the words writes no vowel.
    """
    if a == b or not a or not b:
        return a == b
    return sounds_like(a)(b)


def sounds_like(word: str) -> Callable[[str], bool]:
    """`sound_alike(word, other)` for another word that is not `word` (the scorer asks it of many)."""
    meta, *bones = codes(word)
    mine = set(bones) - {""}
    vowelless = _abjad_like(word)

    def alike(other: str) -> bool:  # the skeletons only when they count: one of the words has no vowel
        if meta and meta == _metaphone(other):
            return True
        return bool((vowelless or _abjad_like(other)) and mine.intersection(_skeletons(other)))

    return alike


@lru_cache(maxsize=4096)
def _weight(names_holding: int) -> float:
    return 1.0 / (1.0 + math.log10(1 + names_holding))


class _Sizes(dict[str, float]):
    """Each word's length times its weight; a word that is not indexed weighs 1."""

    def __missing__(self, word: str) -> float:
        return len(word) * _weight(0)


@dataclass
class PhoneticWords:
    """Every distinct word of the indexed names by its two codes: `alternatives` finds listed spellings."""

    by_code: dict[str, list[str]] = field(default_factory=dict)
    size_of: dict[str, float] = field(default_factory=_Sizes)  # word -> its length times its weight

    @classmethod
    def build(cls, words: Iterable[str]) -> PhoneticWords:
        by_code: dict[str, list[str]] = {}
        vocabulary = Counter(words)  # word -> names that hold it
        for word in vocabulary:
            for prefix, code in zip(("m", "s", "s"), codes(word), strict=True):
                if code:
                    by_code.setdefault(prefix + code, []).append(word)
        return cls(by_code, _Sizes((word, len(word) * _weight(n)) for word, n in vocabulary.items()))

    def to_json(self) -> dict[str, object]:
        """Both tables as JSON-ready data (saved with the index: db.search.cache)."""
        return {"by_code": self.by_code, "size_of": self.size_of}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> PhoneticWords:
        """The tables `to_json` gave (about 0.3 s at a million names, against 1.6 s to build them)."""
        by_code, size_of = data["by_code"], data["size_of"]
        if not isinstance(by_code, dict) or not isinstance(size_of, dict):
            raise ValueError("not the phonetic tables")
        return cls(by_code, _Sizes(size_of))

    def sizes(self, words: list[str]) -> npt.NDArray[np.float64]:
        """Each word's length times how much it says (inverse document frequency: `concern` or `company`, in
        thousands of names, weigh less than `almaz`); a name's coverage by the query is measured with these."""
        return np.fromiter(map(self.size_of.__getitem__, words), dtype=np.float64, count=len(words))

    def alternatives(self, word: str, limit: int = 3) -> list[str]:
        """Up to `limit` listed words that sound like `word` (which is not listed itself), closest first."""
        if word in self.size_of:
            return []
        meta, *bones = codes(word)
        found: set[str] = set(self.by_code.get("m" + meta, ())) if meta else set()
        for code in set(bones) - {""}:
            skeleton_words = self.by_code.get("s" + code, ())
            found.update(w for w in skeleton_words if _abjad_like(word) or _abjad_like(w))
        if not found:
            return []
        best = process.extract(word, sorted(found), scorer=fuzz.ratio, limit=limit)  # sorted: ties stable
        return [w for w, _score, _ in best]
