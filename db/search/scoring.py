"""Second stage of the search: score a query against a few hundred candidate names with rapidfuzz.

The score (0-100) is the best of three views of the two normalised keys:
- word alignment: every query word is matched to its most similar name word (rapidfuzz `ratio`, which
  forgives typos), averaged by word length: how much of the query the name explains. It is then scaled
  by how much of the name the query covers, from 0.8 (query names one word of a long name) to 1.0, so
  `king pai` finds `king pai technology` at 88 and an exact `king pai` would come first at 100. Word
  order does not matter.
- the whole key with its words sorted (`token_sort_ratio`): swapped words with typos spread over them.
- the keys without spaces (`ratio`): romanisations that break words differently (`baoli` / `bao li`).
- a one-word query inside a longer word: part of a Chinese name, which romanises to one word.

In prefix mode (autocomplete) the last query word also matches any name word it begins.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel
from rapidfuzz.process import cdist

# A query word must be at least this similar to a name word to count as covering it.
_COVER_THRESHOLD = 70.0
_COVERAGE_FLOOR = 0.8
# A one-word query inside a longer word scores 75 plus up to 20 for the share of the word it covers.
_INSIDE_MIN, _INSIDE_BASE, _INSIDE_SPAN = 4, 75.0, 20.0


def _word_alignment(
    q_words: list[str],
    n_words: list[str],
    rows: list[list[float]],
    cols: list[int],
    prefix_hits: list[bool] | None,
) -> float:
    """Length-weighted best match of each query word, scaled by the share of the name covered.

    Plain Python on purpose: the matrices are a few words square, where numpy's per-call cost dominates.
    """
    explained = 0.0
    covered: set[int] = set()
    last = len(q_words) - 1
    for i, word in enumerate(q_words):
        row = rows[i]
        if i == last and prefix_hits is not None and any(prefix_hits[c] for c in cols):
            best, best_at = 100.0, next(j for j, c in enumerate(cols) if prefix_hits[c])
        else:
            best_at = max(range(len(cols)), key=lambda j: row[cols[j]])
            best = row[cols[best_at]]
        explained += best * len(word)
        if best >= _COVER_THRESHOLD:
            covered.add(best_at)
    explained /= sum(len(w) for w in q_words)
    name_len = sum(len(w) for w in n_words)
    coverage = sum(len(n_words[j]) for j in covered) / name_len if name_len else 0.0
    return explained * (_COVERAGE_FLOOR + (1 - _COVERAGE_FLOOR) * coverage)


def score_candidates(query: str, names: Sequence[str], *, prefix: bool = False) -> list[float]:
    """Similarity (0-100) of the normalised `query` to each normalised candidate name.

    Args:
        query: the normalised query key (`db.names.normalize_name`).
        names: normalised candidate keys.
        prefix: treat the last query word as a prefix (autocomplete while typing).
    Returns:
        One score per name, in order.
    """
    q_words = query.split()
    if not q_words or not names:
        return [0.0] * len(names)
    vocabulary = sorted({w for name in names for w in name.split()})
    if not vocabulary:
        return [0.0] * len(names)
    where = {w: i for i, w in enumerate(vocabulary)}
    rows = cdist(q_words, vocabulary, scorer=fuzz.ratio, dtype=np.float32).tolist()
    starts = [w.startswith(q_words[-1]) for w in vocabulary] if prefix else None
    q_compact = query.replace(" ", "")
    scores = []
    for name in names:
        n_words = name.split()
        if not n_words:
            scores.append(0.0)
            continue
        cols = [where[w] for w in n_words]
        aligned = _word_alignment(q_words, n_words, rows, cols, starts)
        whole = fuzz.token_sort_ratio(query, name)
        compact = Indel.normalized_similarity(q_compact, name.replace(" ", "")) * 100
        inside = _inside_a_word(q_words, n_words)
        scores.append(round(max(aligned, whole, compact, inside), 1))
    return scores


def _inside_a_word(q_words: list[str], n_words: list[str]) -> float:
    """A one-word query found inside a longer name word: how Chinese is searched (`保利` in `中國保利集團`).

    Han names romanise to one long word, so a part of the name is a substring, not a word of it.
    """
    if len(q_words) != 1 or len(q_words[0]) < _INSIDE_MIN:
        return 0.0
    q = q_words[0]
    lengths = [len(w) for w in n_words if q in w and len(w) > len(q)]
    return _INSIDE_BASE + _INSIDE_SPAN * len(q) / min(lengths) if lengths else 0.0
