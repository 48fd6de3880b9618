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
name word that sounds alike (`db.search.phonetics`: `poetin` ~ `putin` at 88), and a one-letter query
word is an initial of any name word it begins (`putin v v` ~ `putin vladimir vladimirovich`).

A one-word query is weak evidence unless a name word (or two written together) is spelled exactly so:
one letter off turns `smic` into `somic` and `adidas` into `dida`, and `window` sounds like `wendy`. Its score is
then scaled by `ONE_WORD_FACTOR`, or by `SHORT_QUERY_FACTOR` for a query of at most `SHORT_QUERY` letters
(an acronym), so that such near-spellings fall below commands.entity.MIN_SCORE.

In prefix mode (autocomplete) the last query word also matches any name word it begins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel
from rapidfuzz.process import cdist

from db.search.phonetics import PHONETIC_SCORE, SAME_LETTERS_SCORE, letters, sound_alike

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

Unit = tuple[int, int]  # (vocabulary position, first name word it covers); a pair unit covers two words


def _word_alignment(
    q_words: list[str],
    n_words: list[str],
    rows: list[list[float]],
    units: list[tuple[int, int, int]],
    prefix_hits: list[bool] | None,
    sizes: list[float],
) -> float:
    """Length-weighted best match of each query word, scaled by the share of the name covered.

    `units` are (vocabulary position, first word, word count): the name's words and adjacent pairs;
    `sizes` each name word's length times its weight (rare words count more in the coverage).
    Plain Python on purpose: the matrices are a few words square, where numpy's per-call cost dominates.
    """
    explained = 0.0
    covered: set[int] = set()
    last = len(q_words) - 1
    for i, word in enumerate(q_words):
        row = rows[i]
        if i == last and prefix_hits is not None and any(prefix_hits[u[0]] for u in units):
            best, best_at = 100.0, next(u for u in units if prefix_hits[u[0]])
        elif len(word) == 1:  # an initial: the first name word it begins that no other initial took
            free = [u for u in units if u[2] == 1 and n_words[u[1]][0] == word and u[1] not in covered]
            best, best_at = (100.0, free[0]) if free else (0.0, units[0])
        else:
            best_at = max(units, key=lambda u: row[u[0]])
            best = row[best_at[0]]
        explained += best * len(word)
        if best >= _COVER_THRESHOLD:
            covered.update(range(best_at[1], best_at[1] + best_at[2]))
    explained /= sum(len(w) for w in q_words)
    name_len = sum(
        size for j, (w, size) in enumerate(zip(n_words, sizes, strict=True))
        if j in covered or not w.endswith(_PATRONYMIC_ENDINGS)
    )  # fmt: skip
    coverage = sum(sizes[j] for j in covered) / name_len if name_len else 0.0
    return explained * (_COVERAGE_FLOOR + (1 - _COVERAGE_FLOOR) * coverage)


def _name_units(n_words: list[str]) -> list[tuple[str, int, int]]:
    """The name's words, then each two adjacent words written together (`king pai` -> `kingpai`)."""
    units = [(w, j, 1) for j, w in enumerate(n_words)]
    units += [(n_words[j] + n_words[j + 1], j, 2) for j in range(len(n_words) - 1)]
    return units


def _rows(q_words: list[str], vocabulary: list[str], short: bool) -> list[list[float]]:
    """Word similarity: rapidfuzz ratio, raised for the same letters in another romanisation and for words
    that sound alike. A query word found as it is among the candidates' words needs neither."""
    rows: list[list[float]] = cdist(q_words, vocabulary, scorer=fuzz.ratio, dtype=np.float32).tolist()
    if short:
        return rows
    for q, row in zip(q_words, rows, strict=True):
        if len(q) < 2 or max(row) == 100.0:
            continue
        folded = letters(q)
        for j, score in enumerate(row):
            if score < _SOUND_FLOOR:  # no two letters in common: neither a romanisation nor a sound-alike
                continue
            if score < SAME_LETTERS_SCORE and folded == letters(vocabulary[j]):
                row[j] = SAME_LETTERS_SCORE
            elif score < PHONETIC_SCORE and sound_alike(q, vocabulary[j]):
                row[j] = PHONETIC_SCORE
    return rows


def _even(_word: str) -> float:
    return 1.0


def score_candidates(
    query: str,
    names: Sequence[str],
    *,
    prefix: bool = False,
    within_words: bool = False,
    weight: Callable[[str], float] = _even,
) -> list[float]:
    """Similarity (0-100) of the normalised `query` to each normalised candidate name.

    Args:
        query: the normalised query key (`db.names.normalize_name`).
        names: normalised candidate keys.
        prefix: treat the last query word as a prefix (autocomplete while typing).
        within_words: the query was written in a dense script (Han, kana, Hangul): it may be part of a word.
        weight: how much a name word counts in the coverage (`PhoneticWords.weight`: rare words more).
    Returns:
        One score per name, in order.
    """
    q_words = query.split()
    if not q_words or not names:
        return [0.0] * len(names)
    split = [name.split() for name in names]
    unit_lists = [_name_units(n_words) for n_words in split]
    vocabulary = sorted({u[0] for units in unit_lists for u in units})
    if not vocabulary:
        return [0.0] * len(names)
    where = {w: i for i, w in enumerate(vocabulary)}
    q_compact = query.replace(" ", "")
    short = len(q_compact) <= SHORT_QUERY and not prefix
    rows = _rows(q_words, vocabulary, short)
    starts = [w.startswith(q_words[-1]) for w in vocabulary] if prefix else None
    weights = {w: len(w) * weight(w) for n_words in split for w in n_words}
    scores = []
    for name, n_words, units in zip(names, split, unit_lists, strict=True):
        if not n_words:
            scores.append(0.0)
            continue
        coded = [(where[w], j, k) for w, j, k in units]
        sizes = [weights[w] for w in n_words]
        aligned = _word_alignment(q_words, n_words, rows, coded, starts, sizes)
        whole = fuzz.token_sort_ratio(query, name)
        compact = Indel.normalized_similarity(q_compact, name.replace(" ", "")) * 100
        inside = _inside_a_word(q_words, n_words) if within_words else 0.0
        score = max(aligned, whole, compact)
        if not prefix and len(q_words) == 1 and max(rows[0][u[0]] for u in coded) < 100.0:
            score *= SHORT_QUERY_FACTOR if short else ONE_WORD_FACTOR
        score = max(score, inside)
        scores.append(round(score, 1))
    return scores


def _inside_a_word(q_words: list[str], n_words: list[str]) -> float:
    """A one-word query found inside a longer name word: how Chinese is searched (`保利` in `中國保利集團`).

    Han names romanise to one long word, so a part of the name is a substring, not a word of it.
    """
    if len(q_words) != 1 or len(q_words[0]) < _INSIDE_MIN:
        return 0.0
    q = q_words[0]
    lengths = [len(w) for w in n_words if q in w and len(w) >= len(q) + _INSIDE_EXTRA]
    return _INSIDE_BASE + _INSIDE_SPAN * len(q) / min(lengths) if lengths else 0.0
