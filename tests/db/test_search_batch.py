"""Batch screening against one-at-a-time search, and the vectorised scorer against the per-name rule, on the
real list names of the evaluation set (OFAC SDN, OpenSanctions)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from commands.screen import CANDIDATES_PER_ROW, _search_batch
from db.names import normalize_name
from db.search import scoring
from db.search.index import NameIndex
from db.search.phonetics import PHONETIC_SCORE, SAME_LETTERS_SCORE, letters, sound_alike
from db.search.romanisation import ROMANISED_SCORE, romanised_alike
from db.search.service import search_key
from tests.fixtures.entity_eval.evaluate import build_index, read_eval


@pytest.fixture(scope="module")
def index(shared_data: Path) -> NameIndex:
    return build_index(shared_data)[0]


def sample_keys(index: NameIndex, n: int) -> list[str]:
    """Evaluation queries (typos, other romanisations, scripts, negatives) and listed names as they are."""
    rng = random.Random(17)
    queries = [row["query"] for row in read_eval()]
    listed = [index.key(int(p)) for p in rng.sample(range(index.size), n // 2)]
    keys = [normalize_name(q) for q in rng.sample(queries, n // 2)] + listed
    return [k for k in dict.fromkeys(keys) if k]


def test_screening_and_single_search_give_the_same_candidates(index: NameIndex) -> None:
    """Each row of a screened sheet gets the best candidate /entity shows for that name (and the same next ones)."""
    keys = sample_keys(index, 400)
    assert len(keys) > 300
    batch = _search_batch(index, keys)
    for key, hits in zip(keys, batch, strict=True):
        single = search_key(index, key, limit=10)
        assert hits == single[:CANDIDATES_PER_ROW], key
    assert sum(1 for hits in batch if hits and hits[0].score >= 90) > len(keys) / 2  # mostly real matches


def units_of(name: str) -> list[tuple[str, int, int]]:
    n_words = name.split()
    units = [(w, j, 1) for j, w in enumerate(n_words)]
    return units + [(n_words[j] + n_words[j + 1], j, 2) for j in range(len(n_words) - 1)]


def reference_score(query: str, name: str, sizes: list[float], found: set[str]) -> float:
    """The rule of db.search.scoring written name by name in plain Python (as it was before vectorising).

    `sizes`: each name word's length times its weight; `found`: query words spelled exactly so in some
    candidate (those get no sound-alike upgrade; another Chinese romanisation is raised all the same).
    """
    q_words, n_words = query.split(), name.split()
    units = units_of(name)
    rows = []
    for q in q_words:
        row = [fuzz.ratio(q, u) for u, _, _ in units]
        if len(q) >= 2 and q not in found and len(query.replace(" ", "")) > scoring.SHORT_QUERY:
            for k, (u, _, _) in enumerate(units):
                if row[k] < 40.0:
                    continue
                if row[k] < SAME_LETTERS_SCORE and letters(q) == letters(u):
                    row[k] = SAME_LETTERS_SCORE
                elif row[k] < PHONETIC_SCORE and sound_alike(q, u):
                    row[k] = PHONETIC_SCORE
        if len(q) >= 2 and len(query.replace(" ", "")) > scoring.SHORT_QUERY:
            for k, (u, _, _) in enumerate(units):
                if romanised_alike(q, u):
                    row[k] = max(row[k], ROMANISED_SCORE)
        rows.append([float(np.float32(x)) for x in row])
    explained, covered = 0.0, set()
    for i, q in enumerate(q_words):
        if len(q) == 1:
            free = [u for u in units if u[2] == 1 and n_words[u[1]][0] == q and u[1] not in covered]
            best, at = (100.0, free[0]) if free else (0.0, units[0])
        else:
            k = max(range(len(units)), key=lambda k: rows[i][k])
            best, at = rows[i][k], units[k]
        explained += best * len(q)
        if best >= 70.0:
            covered.update(range(at[1], at[1] + at[2]))
    explained /= sum(len(w) for w in q_words)
    name_len = sum(s for j, (w, s) in enumerate(zip(n_words, sizes, strict=True)) if j in covered or not w.endswith(
        ("ovich", "evich", "ovna", "evna", "ichna", "ogly", "kyzy")))  # fmt: skip
    coverage = sum(sizes[j] for j in sorted(covered)) / name_len if name_len else 0.0
    aligned = explained * (0.8 + (1 - 0.8) * coverage)
    compact = Indel.normalized_similarity(query.replace(" ", ""), name.replace(" ", "")) * 100
    score = max(aligned, fuzz.token_sort_ratio(query, name), compact)
    if len(q_words) == 1 and max(rows[0]) < 100.0:
        short = len(query) <= scoring.SHORT_QUERY
        score *= scoring.SHORT_QUERY_FACTOR if short else scoring.ONE_WORD_FACTOR
    return round(score, 1)


def test_vectorised_scores_equal_the_per_name_rule(index: NameIndex) -> None:
    keys = sample_keys(index, 120) + ["putin v v", "v putin", "kingpai technology", "smic", "a b c"]
    keys += ["chow jianshu", "cheung keping", "li john ka chiu", "huang moon chi", "zhou hsien cheng"]
    compared = 0
    for key in keys:
        names = [index.key(int(p)) for p in index._candidates(key, None, prefix=False)[0][:60]]
        got = scoring.score_candidates(key, names, word_sizes=index.phonetic.sizes)
        found = {u for name in names for u, _, _ in units_of(name)}.intersection(key.split())
        sizes = [index.phonetic.sizes(name.split()).tolist() for name in names]
        want = [reference_score(key, name, s, found) for name, s in zip(names, sizes, strict=True)]
        assert got == want, key
        compared += len(names)
    assert compared > 3000
