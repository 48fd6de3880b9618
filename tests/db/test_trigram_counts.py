"""Shared-trigram counts (the search's candidate stage) against a plain bincount, on the real SDN names."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from db.names import normalize_name
from db.search.trigrams import TrigramPostings, query_codes


def sdn_keys(shared_data: Path) -> list[str]:
    with (shared_data / "ofac/sdn_snapshots/2024-05-01/sdn.csv").open(
        encoding="utf-8", errors="replace"
    ) as fh:
        names = [row[1] for row in csv.reader(fh) if len(row) > 1]
    return [k for k in map(normalize_name, names) if k]


def test_counts_equal_a_bincount_of_the_joined_postings(shared_data: Path) -> None:
    keys = sdn_keys(shared_data)
    assert len(keys) > 10_000
    postings = TrigramPostings.build(keys)
    queries = keys[::40] + ["vladimir poetin", "kingpai", "sinno electronics", "a", "zzzz qqqq", ""]
    for query in queries:
        codes = query_codes(query)
        lists = [postings.postings[postings.offsets[c] : postings.offsets[c + 1]] for c in codes]
        joined = np.concatenate(lists) if lists else np.zeros(0, np.int32)
        expected = np.bincount(joined, minlength=postings.size)
        got = postings.shared_counts(codes)
        assert np.array_equal(got, expected), query
        if query in keys:  # a listed name shares all its trigrams with itself
            assert got.max() == len(codes)


def test_counts_from_a_similar_query_equal_fresh_counts(shared_data: Path) -> None:
    """A sound-alike key (one word respelled) is counted from the query's counts: the same numbers."""
    postings = TrigramPostings.build(sdn_keys(shared_data))
    pairs = [("vladimir poetin", "vladimir putin"), ("kingpai technology", "king pai technology"),
             ("sinno electronics", "sino electronic"), ("almaz antei", "almaz antey"), ("abc", "xyz qqq")]  # fmt: skip
    for query, alike in pairs:
        codes = query_codes(query)
        like = (codes, postings.shared_counts(codes))
        got = postings.shared_counts(query_codes(alike), like)
        assert np.array_equal(got, postings.shared_counts(query_codes(alike))), alike
