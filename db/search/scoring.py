"""Second stage of the search: score a query against a few hundred candidate names with rapidfuzz.

The score (0-100) is the best of three views of the two normalised keys:
- word alignment: every query word is matched to its most similar name word (rapidfuzz `ratio`, which
  forgives typos), averaged by word length: how much of the query the name explains. It is then scaled
  by how much of the name the query covers, from 0.8 (query names one word of a long name) to 1.0, so
  `king pai` finds `king pai technology` at 88 and an exact `king pai` would come first at 100. Word
  order does not matter.
- the whole key with its words sorted (`token_sort_ratio`): swapped words with typos spread over them.
- the keys without spaces (`ratio`): romanisations that break words differently (`baoli` / `bao li`).
- a one-word query inside a longer word: part of a Chinese name, which romanises to one word. Only for a
  query written in a dense script (`within_words`): in Latin text `putin` inside `computing` is chance.

A query word also matches two adjacent name words written together (`kingpai` covers `king pai`), a
name word that sounds alike (`db.search.phonetics`: `poetin` ~ `putin` at 88), a name word that writes the
same Chinese syllable in another romanisation (`db.search.romanisation`: `hsi` ~ `xi`), and a one-letter query
word is an initial of any name word it begins (`putin v v` ~ `putin vladimir vladimirovich`).

A one-word query is weak evidence unless a name word (or two written together) is spelled exactly so:
one letter off turns `smic` into `somic` and `adidas` into `dida`, and `window` sounds like `wendy`. Its score is
then scaled by `ONE_WORD_FACTOR`, or by `SHORT_QUERY_FACTOR` for a query of at most `SHORT_QUERY` letters
(an acronym), so that such near-spellings fall below commands.entity.MIN_SCORE.

In prefix mode (autocomplete) the last query word also matches any name word it begins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain, compress, repeat

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel
from rapidfuzz.process import cdist

from db.search.phonetics import PHONETIC_SCORE, SAME_LETTERS_SCORE, letters, sounds_like
from db.search.romanisation import ROMANISED_SCORE, other_romanisations

# A query word must be at least this similar to a name word to count as covering it.
_COVER_THRESHOLD = 70.0
_COVERAGE_FLOOR = 0.8
# An uncovered patronymic (`vladimirovich`) does not count against coverage: it is routinely left out.
_PATRONYMIC_ENDINGS = ("ovich", "evich", "ovna", "evna", "ichna", "ogly", "kyzy")
# A one-word query inside a longer word scores 75 plus up to 20 for the share of the word it covers.
# The query has at least _INSIDE_MIN letters and the word _INSIDE_EXTRA more (`intel` is not in `inteller`).
_INSIDE_MIN, _INSIDE_EXTRA, _INSIDE_BASE, _INSIDE_SPAN = 5, 4, 75.0, 20.0
_SOUND_FLOOR = 40.0  # ratio below which a word is not checked for sounding alike (`bwtyn` ~ `putin` is 40)
SHORT_QUERY = 4  # letters: a query this short is an acronym or a short name, matched exactly
SHORT_QUERY_FACTOR = 0.85
ONE_WORD_FACTOR = 0.9


@dataclass(frozen=True)
class _Units:
    """Every candidate's words, then its adjacent word pairs written together (`king pai` -> `kingpai`), flat.

    Arrays run over the units of all candidates at once, so the alignment below is a few numpy operations per
    query word instead of a Python loop per candidate (a query has a few hundred candidates); the strings are
    cut and looked up with C-level calls (`split`, `map`), not a Python step per word.
    """

    vocabulary: list[str]  # the distinct unit texts
    vocab: npt.NDArray[np.intp]  # vocabulary position of each unit; a candidate's units are contiguous
    starts: npt.NDArray[np.intp]  # first unit of each candidate
    owner: npt.NDArray[np.intp]  # candidate of each unit
    word: npt.NDArray[np.intp]  # flat position of the unit's first word (`words` below)
    pair: npt.NDArray[np.bool_]  # the unit is two words written together
    words: list[str]  # the candidates' words, flat
    word_starts: npt.NDArray[np.intp]  # first word of each candidate
    where: dict[str, int]  # vocabulary position of each unit text

    @classmethod
    def of(cls, names: Sequence[str]) -> _Units:
        """The units of `names` (each with at least one word)."""
        words = " ".join(names).split()
        n = np.fromiter(map(str.count, names, repeat(" ")), dtype=np.intp, count=len(names)) + 1
        if int(n.sum()) != len(words):  # not one space between words: count them the slow way
            n = np.array([len(name.split()) for name in names], dtype=np.intp)
        word_starts = np.cumsum(n) - n
        word_owner = np.repeat(np.arange(len(names)), n)
        inner = word_owner[:-1] == word_owner[1:]  # word i and i + 1 are in one name: a pair
        pairs = list(compress(map(str.__add__, words, words[1:]), inner.tolist()))
        vocabulary = list(dict.fromkeys(chain(words, pairs)))  # any order: each entry is scored on its own
        where = dict(zip(vocabulary, range(len(vocabulary)), strict=True))
        word_vocab = np.fromiter(map(where.__getitem__, words), dtype=np.intp, count=len(words))
        pair_vocab = np.fromiter(map(where.__getitem__, pairs), dtype=np.intp, count=len(pairs))
        pair_of_word = np.cumsum(inner) - 1  # position in `pairs` of the pair a word begins
        counts = 2 * n - 1  # units per candidate: its words, then the pairs between them
        starts = np.cumsum(counts) - counts
        owner = np.repeat(np.arange(len(names)), counts)
        ramp = np.arange(int(counts.sum())) - starts[owner]  # a unit's place within its candidate
        pair = ramp >= n[owner]
        word = word_starts[owner] + np.where(pair, ramp - n[owner], ramp)
        vocab = word_vocab[word]
        if len(pairs):
            vocab[pair] = pair_vocab[pair_of_word[word[pair]]]
        return cls(vocabulary, vocab, starts, owner, word, pair, words, word_starts, where)


def _rows(q_words: list[str], units: _Units, short: bool) -> npt.NDArray[np.float64]:
    """Word similarity: rapidfuzz ratio, raised for the same letters in another romanisation, for words that
    sound alike (unless the query word is found as it is among the candidates' words), and for the query
    word's syllable in another Chinese romanisation (`hsi` ~ `xi`: a few dictionary look-ups per word)."""
    vocabulary = units.vocabulary
    rows = cdist(q_words, vocabulary, scorer=fuzz.ratio, dtype=np.float32).astype(np.float64)
    if short:
        return rows
    for q, row in zip(q_words, rows, strict=True):
        if len(q) < 2:
            continue
        if row.max() < 100.0:
            folded, alike = letters(q), sounds_like(q)
            # below _SOUND_FLOOR no two letters in common: neither a romanisation nor a sound-alike
            for j in np.flatnonzero((row >= _SOUND_FLOOR) & (row < SAME_LETTERS_SCORE)).tolist():
                if folded == letters(vocabulary[j]):
                    row[j] = SAME_LETTERS_SCORE
                elif row[j] < PHONETIC_SCORE and alike(vocabulary[j]):
                    row[j] = PHONETIC_SCORE
        syllables = [units.where[w] for w in other_romanisations(q) if w in units.where]
        if syllables:
            row[syllables] = np.maximum(row[syllables], ROMANISED_SCORE)
    return rows


def _word_alignment(
    q_words: list[str],
    units: _Units,
    scores: list[npt.NDArray[np.float64]],
    prefix_hits: npt.NDArray[np.bool_] | None,
    sizes: npt.NDArray[np.float64],
    patronymic: npt.NDArray[np.bool_],
) -> npt.NDArray[np.float64]:
    """Length-weighted best match of each query word, scaled by the share of the name covered, per candidate.

    `scores[i]`: query word i against every unit; `sizes`: each name word's length times its weight (rare
    words count more in the coverage); `patronymic`: the word is left out of the name's length unless covered.
    Query words are taken in order, since an initial takes the first name word it begins that is not yet
    covered; each step is vectorised over all candidates.
    """
    n_units = len(units.vocab)
    position = np.arange(n_units)
    covered = np.zeros(len(units.words), dtype=bool)
    explained = np.zeros(len(units.starts))
    single = ~units.pair
    initials = None
    if any(len(w) == 1 for w in q_words):
        initials = np.array([w[0] for w in units.vocabulary])[units.vocab]
    last = len(q_words) - 1
    for i, word in enumerate(q_words):
        if len(word) == 1:  # an initial: the first name word it begins that no other initial took
            assert initials is not None
            ok = single & (initials == word) & ~covered[units.word]
            best = np.where(np.logical_or.reduceat(ok, units.starts), 100.0, 0.0)
        else:
            ok = None
            best = np.maximum.reduceat(scores[i], units.starts)
        at_best = ok if ok is not None else scores[i] == best[units.owner]
        if i == last and prefix_hits is not None:  # the word being typed begins a name word: 100 there
            typed = np.logical_or.reduceat(prefix_hits, units.starts)
            best = np.where(typed, 100.0, best)
            at_best = np.where(typed[units.owner], prefix_hits, at_best)
        first = np.minimum.reduceat(np.where(at_best, position, n_units), units.starts)
        explained += best * len(word)
        took = first[best >= _COVER_THRESHOLD]
        covered[units.word[took]] = True
        covered[units.word[took[units.pair[took]]] + 1] = True
    explained /= sum(len(w) for w in q_words)
    name_len = np.add.reduceat(np.where(covered | ~patronymic, sizes, 0.0), units.word_starts)
    covers = np.add.reduceat(np.where(covered, sizes, 0.0), units.word_starts)
    coverage = np.divide(covers, name_len, out=np.zeros_like(covers), where=name_len != 0)
    aligned: npt.NDArray[np.float64] = explained * (_COVERAGE_FLOOR + (1 - _COVERAGE_FLOOR) * coverage)
    return aligned


def _lengths(words: list[str]) -> npt.NDArray[np.float64]:
    return np.fromiter(map(len, words), dtype=np.float64, count=len(words))


def score_candidates(
    query: str,
    names: Sequence[str],
    *,
    prefix: bool = False,
    within_words: bool = False,
    word_sizes: Callable[[list[str]], npt.NDArray[np.float64]] = _lengths,
) -> list[float]:
    """Similarity (0-100) of the normalised `query` to each normalised candidate name.

    Args:
        query: the normalised query key (`db.names.normalize_name`).
        names: normalised candidate keys.
        prefix: treat the last query word as a prefix (autocomplete while typing).
        within_words: the query was written in a dense script (Han, kana, Hangul): it may be part of a word.
        word_sizes: how much each name word counts in the coverage (`PhoneticWords.sizes`: its length,
            times a weight that makes rare words count more).
    Returns:
        One score per name, in order.
    """
    q_words = query.split()
    out = np.zeros(len(names))
    present = [i for i, name in enumerate(names) if name and not name.isspace()]
    if not q_words or not present:
        return out.tolist()
    if len(present) < len(names):
        names = [names[i] for i in present]
    units = _Units.of(names)
    q_compact = query.replace(" ", "")
    short = len(q_compact) <= SHORT_QUERY and not prefix
    rows = _rows(q_words, units, short)
    scores = [row[units.vocab] for row in rows]
    starts = None
    if prefix:
        starts = np.array([w.startswith(q_words[-1]) for w in units.vocabulary])[units.vocab]
    patronymics = {w for w in set(units.words) if w.endswith(_PATRONYMIC_ENDINGS)}
    patronymic = np.fromiter(map(patronymics.__contains__, units.words), dtype=bool, count=len(units.words))
    sizes = word_sizes(units.words)
    aligned = _word_alignment(q_words, units, scores, starts, sizes, patronymic)
    whole = cdist([query], names, scorer=fuzz.token_sort_ratio, dtype=np.float64)[0]
    compacts = "\n".join(names).replace(" ", "").split("\n")
    if len(compacts) != len(names):  # a line break inside a name (keys have none): one by one
        compacts = [name.replace(" ", "") for name in names]
    compact = cdist([q_compact], compacts, scorer=Indel.normalized_similarity, dtype=np.float64)[0]
    score = np.maximum(np.maximum(aligned, whole), compact * 100)
    if not prefix and len(q_words) == 1:
        weak = np.maximum.reduceat(scores[0], units.starts) < 100.0
        score = np.where(weak, score * (SHORT_QUERY_FACTOR if short else ONE_WORD_FACTOR), score)
    if within_words:
        score = np.maximum(score, [_inside_a_word(q_words, name.split()) for name in names])
    out[present] = score
    return list(map(round, out.tolist(), repeat(1)))


def _inside_a_word(q_words: list[str], n_words: list[str]) -> float:
    """A one-word query found inside a longer name word: how Chinese is searched (`保利` in `中國保利集團`).

    Han names romanise to one long word, so a part of the name is a substring, not a word of it.
    """
    if len(q_words) != 1 or len(q_words[0]) < _INSIDE_MIN:
        return 0.0
    q = q_words[0]
    lengths = [len(w) for w in n_words if q in w and len(w) >= len(q) + _INSIDE_EXTRA]
    return _INSIDE_BASE + _INSIDE_SPAN * len(q) / min(lengths) if lengths else 0.0
