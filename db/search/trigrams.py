"""Character-trigram postings over normalised names, built and queried with numpy.

First stage of the two-stage search (a trigram prefilter, then rapidfuzz on a few hundred names): every word
of a normalised name is padded as `$word$` and cut into trigrams, each trigram is a small integer, and a
CSR table (`offsets`, `postings`) lists the names that contain it. A query's trigrams select the names
that share the most of them; the second stage (`db.search.scoring`) re-ranks those few with rapidfuzz.

Trigrams never span two words, so swapping words keeps every trigram. Names are plain ASCII `[a-z0-9 ]`
(see `db.names.normalize_name`), which keeps the alphabet at 37 symbols and a trigram code below 2**16.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

ALPHABET = 38  # '$' word boundary, a-z, 0-9, one spare
N_CODES = ALPHABET**3
_INVALID = 255
_BUILD_CHUNK = 50_000  # names per build step: bounds the temporary arrays (about 50 MB)


def _symbol_table() -> npt.NDArray[np.uint8]:
    table = np.full(256, _INVALID, dtype=np.uint8)
    for boundary in "$ \n":  # a word starts or ends at a space or a newline (between names)
        table[ord(boundary)] = 0
    for i, ch in enumerate("abcdefghijklmnopqrstuvwxyz0123456789"):
        table[ord(ch)] = i + 1
    return table


_SYMBOLS = _symbol_table()


def _codes_and_names(names: Sequence[str]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """All (trigram code, name position) pairs of `names`, one per distinct trigram of each name.

    The names are joined by newlines, and spaces and newlines both act as the `$` boundary: a trigram
    whose middle character is a boundary would span two words (or names) and is dropped. That gives
    `$ki kin ing ng$ $pa pai ai$` for `king pai` without building a padded copy of every name.
    """
    raw = np.frombuffer(("\n" + "\n".join(names) + "\n").encode("ascii", "replace"), dtype=np.uint8)
    symbols = _SYMBOLS[raw].astype(np.int64)
    name_pos = np.cumsum(raw == ord("\n")) - 1  # at each character: the name it belongs to
    a, b, c = symbols[:-2], symbols[1:-1], symbols[2:]
    valid = (b != 0) & (a != _INVALID) & (b != _INVALID) & (c != _INVALID)
    codes = (a * ALPHABET + b) * ALPHABET + c
    n = max(len(names), 1)
    pairs = np.sort(codes[valid] * n + name_pos[1:-1][valid])
    # Sort and drop repeats by hand: numpy 2's hash-based np.unique is ten times slower here.
    if len(pairs):
        pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]
    return pairs // n, pairs % n


def _run_starts(codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """For a sorted array, the index where each element's run of equal values begins (linear time)."""
    if len(codes) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
    return np.repeat(starts, np.diff(np.append(starts, len(codes))))


def query_codes(normalized: str, *, open_end: bool = False) -> npt.NDArray[np.int64]:
    """The distinct trigram codes of one normalised query (empty for an empty query).

    With `open_end` the last word is still being typed: its closing trigram (`ai$`) is left out, so
    `king pa` shares all its trigrams with `king pai`.
    """
    if not normalized:
        return np.zeros(0, dtype=np.int64)
    codes, _ = _codes_and_names([normalized])
    if open_end:
        last = normalized.rsplit(" ", 1)[-1]
        tail = ("$" + last + "$")[-3:]
        if len(tail) == 3:
            s = _SYMBOLS[np.frombuffer(tail.encode("ascii", "replace"), dtype=np.uint8)].astype(np.int64)
            codes = codes[codes != (s[0] * ALPHABET + s[1]) * ALPHABET + s[2]]
    return codes


Counted = tuple[npt.NDArray[np.int64], npt.NDArray[np.unsignedinteger[Any]]]  # a query's codes and counts


@dataclass
class TrigramPostings:
    """CSR table: the names containing trigram `t` are `postings[offsets[t]:offsets[t + 1]]`."""

    offsets: npt.NDArray[np.int64]
    postings: npt.NDArray[np.int32]
    lengths: npt.NDArray[np.uint16]  # distinct trigrams per name, for the Dice coefficient

    @property
    def size(self) -> int:
        return len(self.lengths)

    @property
    def nbytes(self) -> int:
        return int(self.offsets.nbytes + self.postings.nbytes + self.lengths.nbytes)

    @classmethod
    def build(cls, names: Sequence[str]) -> TrigramPostings:
        """Index `names` (normalised keys) in chunks, so memory stays near the size of the result."""
        chunks: list[tuple[npt.NDArray[np.uint16], npt.NDArray[np.int32]]] = []
        counts = np.zeros(N_CODES, dtype=np.int64)
        lengths = np.zeros(len(names), dtype=np.uint16)
        for start in range(0, len(names), _BUILD_CHUNK):
            codes, local = _codes_and_names(names[start : start + _BUILD_CHUNK])
            chunks.append((codes.astype(np.uint16), (local + start).astype(np.int32)))
            counts += np.bincount(codes, minlength=N_CODES)
            per_name = np.bincount(local, minlength=min(_BUILD_CHUNK, len(names) - start))
            lengths[start : start + len(per_name)] = np.minimum(per_name, 65535)
        offsets = np.zeros(N_CODES + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        postings = np.empty(int(offsets[-1]), dtype=np.int32)
        filled = offsets[:-1].copy()
        for codes16, positions in chunks:
            # Pairs come sorted by code, so a pair's rank within its code run gives its slot.
            codes = codes16.astype(np.int64)
            run_start = _run_starts(codes)
            slots = filled[codes] + (np.arange(len(codes)) - run_start)
            postings[slots] = positions
            filled += np.bincount(codes, minlength=N_CODES)
        return cls(offsets, postings, lengths)

    def shared_counts(
        self, codes: npt.NDArray[np.int64], like: Counted | None = None
    ) -> npt.NDArray[np.unsignedinteger[Any]]:
        """For every name, how many of the query trigrams `codes` it contains.

        Each code's list holds a name at most once, so adding 1 at its names list by list counts exactly.
        `np.add.at` with a one of the counters' own type does it in one pass over the list, about a third
        cheaper than `counts[names] += 1` (a gather, an add and a scatter) and than one `bincount` over the
        joined lists. The counts are bytes while the query has under 256 trigrams, else uint16 (a query has
        far fewer than 2**16).

        `like`: the codes and counts of a query that differs in a word (`vladimir poetin` for `vladimir
        putin`): counted from those by the trigrams that differ, the same counts for a fraction of the work.
        """
        dtype = np.uint8 if len(codes) < 256 else np.uint16
        one = np.ones(1, dtype=dtype)[0]
        if like is not None and like[1].dtype == dtype:
            gone, new = np.setdiff1d(like[0], codes), np.setdiff1d(codes, like[0])
            if len(gone) + len(new) < len(codes):
                counts = like[1].copy()
                for c in gone.tolist():
                    np.subtract.at(counts, self._names_with(c), one)
                for c in new.tolist():
                    np.add.at(counts, self._names_with(c), one)
                return counts
        counts = np.zeros(self.size, dtype=dtype)
        for c in codes.tolist():
            np.add.at(counts, self._names_with(c), one)
        return counts

    def _names_with(self, code: int) -> npt.NDArray[np.int32]:
        return self.postings[self.offsets[code] : self.offsets[code + 1]]
