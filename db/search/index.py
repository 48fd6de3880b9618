"""The in-memory name index: every loaded name and alias, searchable in milliseconds at a million names.

Pure data structure (no database): `db.search.service` fills it from `entity_names` and keeps it fresh.
Memory is a few flat numpy arrays, about 130 bytes per name: trigram postings, the normalised keys as one
ASCII blob, and per-name and per-entity attributes for the filters (country, type, list).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import compress, repeat

import numpy as np
import numpy.typing as npt

from db.names import identifier_key
from db.search import romanisation
from db.search.columns import EntityColumns, IdentifierColumns, NameColumns, Pairs
from db.search.phonetics import PhoneticWords
from db.search.scoring import score_candidates
from db.search.trigrams import Counted, TrigramPostings, query_codes

# A weak alias (OFAC "weak a.k.a.", FtM weakAlias) is a poor identifier: rank it a little lower.
_KIND_FACTOR = np.array([1.0, 1.0, 1.0, 1.0, 0.93, 1.0], dtype=np.float64)  # by NAME_KINDS position
_POOL_DICE = 150  # candidates kept by Dice similarity of trigram sets
_POOL_CONTAINED = 100  # and by share of the query's trigrams found (short names first)
_SOUND_ALIKE_KEYS = 2  # extra candidate searches with listed words that sound like unknown query words
# ... and with a query word's syllable in another Chinese romanisation (`hsi` -> `xi`). One: at a million
# names a second never found more (docs/entities.md) and cost about 1 ms in the queries that ran it.
_ROMANISED_KEYS = 1
_EXPAND_BELOW = 92.0  # ... run only when no name scores this well (commands.entity_card.STRONG_SCORE)
IDENTIFIER_SCORE = 100.0  # an exact identifier: ranked before every name


def identifier_hashes(keys: list[str]) -> npt.NDArray[np.uint64]:
    """64-bit hashes of identifier keys (stable across processes, unlike `hash`, so they can be saved)."""
    digests = b"".join(hashlib.blake2b(k.encode(), digest_size=8).digest() for k in keys)
    return np.frombuffer(digests, dtype=np.uint64).copy() if keys else np.zeros(0, np.uint64)


@dataclass(frozen=True)
class SearchFilters:
    """Restrict a search: any of these countries (ISO2), any of these schemata, a list term."""

    countries: frozenset[str] = frozenset()
    schemata: frozenset[str] = frozenset()
    list_term: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.countries or self.schemata or self.list_term)


@dataclass(frozen=True)
class EntityHit:
    """An entity found by a search: its best name (which alias matched) and the score (0-100).

    Found by an identifier, `identifier` is its key (`1401029`) and `name_id` the entity's first name.
    """

    entity_id: int
    score: float
    name_id: int
    matched_key: str
    identifier: str | None = None


@dataclass
class NameIndex:
    """Trigram postings plus the keys and attributes needed to re-rank and filter."""

    postings: TrigramPostings
    key_blob: npt.NDArray[np.uint8]
    key_offsets: npt.NDArray[np.int64]
    name_ids: npt.NDArray[np.int64]
    name_entity: npt.NDArray[np.int32]
    name_kind: npt.NDArray[np.uint8]
    entity_ids: npt.NDArray[np.int64]
    entity_schema: npt.NDArray[np.uint8]
    schema_vocabulary: list[str]
    countries: Pairs
    tags: Pairs
    version: tuple[object, ...] = ()
    ident_hashes: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros(0, np.uint64))
    ident_entity: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))
    _phonetic: PhoneticWords | None = field(default=None, repr=False)
    _mask_cache: dict[SearchFilters, npt.NDArray[np.bool_]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls,
        names: NameColumns,
        entities: EntityColumns,
        version: tuple[object, ...] = (),
        identifiers: IdentifierColumns | None = None,
    ) -> NameIndex:
        """Index `names`; names of entities missing from `entities` are left out.

        Args:
            names: every name to index (normalised keys).
            entities: the entities they belong to, with their filter attributes.
            version: the database version stamp the rows were read at.
            identifiers: the entities' identifier keys (registration, tax, IMO, list numbers ...).
        """
        entity_ids = np.frombuffer(entities.entity_ids, dtype=np.int64)
        order = np.argsort(entity_ids, kind="stable")
        name_entity_ids = np.frombuffer(names.entity_ids, dtype=np.int64)
        where = (
            np.searchsorted(entity_ids, name_entity_ids, sorter=order)
            if len(order)
            else np.zeros(0, np.int64)
        )
        where = np.minimum(where, max(len(order) - 1, 0))
        found = (entity_ids[order[where]] == name_entity_ids) if len(order) else np.zeros(len(names), bool)
        keys = names.keys if found.all() else list(compress(names.keys, found.tolist()))
        encoded = "".join(keys).encode("ascii", "replace")
        offsets = np.zeros(len(keys) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, keys), dtype=np.int64, count=len(keys)), out=offsets[1:])
        schemata = sorted(set(entities.schemas))
        schema_code = {s: i for i, s in enumerate(schemata)}  # FtM has about 70 schemata: fits uint8
        ident_hashes, ident_entity = _identifier_arrays(identifiers or IdentifierColumns(), entity_ids, order)
        return cls(
            postings=TrigramPostings.build(keys),
            key_blob=np.frombuffer(encoded, dtype=np.uint8),
            key_offsets=offsets,
            name_ids=np.frombuffer(names.name_ids, dtype=np.int64)[found].copy(),
            name_entity=order[where][found].astype(np.int32),
            name_kind=np.frombuffer(names.kinds, dtype=np.uint8)[found].copy(),
            entity_ids=entity_ids.copy(),
            entity_schema=np.array([schema_code[s] for s in entities.schemas], dtype=np.uint8),
            schema_vocabulary=schemata,
            countries=Pairs.build(entities.countries),
            tags=Pairs.build(entities.tags),
            version=version,
            ident_hashes=ident_hashes,
            ident_entity=ident_entity,
            _phonetic=_phonetic_words(keys),
        )

    @property
    def size(self) -> int:
        """Number of names indexed."""
        return len(self.name_ids)

    @property
    def nbytes(self) -> int:
        """Approximate memory held by the index arrays."""
        arrays: list[npt.NDArray[np.generic]] = [
            self.key_blob,
            self.key_offsets,
            self.name_ids,
            self.name_entity,
            self.name_kind,
            self.entity_ids,
            self.entity_schema,
            self.ident_hashes,
            self.ident_entity,
        ]
        return (
            self.postings.nbytes
            + self.countries.nbytes
            + self.tags.nbytes
            + sum(int(a.nbytes) for a in arrays)
        )

    def key(self, position: int) -> str:
        """The normalised key of the name at `position`."""
        start, end = self.key_offsets[position], self.key_offsets[position + 1]
        return self.key_blob[start:end].tobytes().decode("ascii")

    def _entity_mask(self, filters: SearchFilters) -> npt.NDArray[np.bool_]:
        n = len(self.entity_ids)
        mask = np.ones(n, dtype=bool)
        if filters.countries:
            wanted = {i for i, c in enumerate(self.countries.vocabulary) if c in filters.countries}
            mask &= self.countries.owners_of(wanted, n)
        if filters.schemata:
            wanted_schema = [i for i, s in enumerate(self.schema_vocabulary) if s in filters.schemata]
            mask &= np.isin(self.entity_schema, wanted_schema)
        if filters.list_term:
            term = filters.list_term.casefold()
            wanted = {i for i, t in enumerate(self.tags.vocabulary) if term in t}
            mask &= self.tags.owners_of(wanted, n)
        return mask

    def name_mask(self, filters: SearchFilters) -> npt.NDArray[np.bool_] | None:
        """Which names pass `filters` (None when there are no filters); cached per filter set."""
        if filters.empty:
            return None
        if filters not in self._mask_cache:
            if len(self._mask_cache) > 64:
                self._mask_cache.clear()
            self._mask_cache[filters] = self._entity_mask(filters)[self.name_entity]
        return self._mask_cache[filters]

    def _candidates(
        self, key: str, mask: npt.NDArray[np.bool_] | None, prefix: bool, like: Counted | None = None
    ) -> tuple[npt.NDArray[np.int64], Counted]:
        """Positions of the names to score for `key`, and the key's trigram codes and counts (to count a
        similar key from them: `like`)."""
        codes = query_codes(key, open_end=prefix)
        counted = (codes, self.postings.shared_counts(codes, like))
        counts = counted[1] if mask is None else np.where(mask, counted[1], 0)
        floor = max(1, int(len(codes) * 0.25))
        found = np.flatnonzero(counts >= floor)
        if len(found) <= _POOL_DICE + _POOL_CONTAINED:
            return found, counted
        shared = counts[found].astype(np.float64)
        lengths = self.postings.lengths[found].astype(np.float64)
        dice = 2 * shared / (len(codes) + lengths)
        by_dice = found[np.argpartition(-dice, _POOL_DICE)[:_POOL_DICE]]
        contained = shared - lengths * 1e-3  # all query trigrams first, the shortest such names first
        by_contained = found[np.argpartition(-contained, _POOL_CONTAINED)[:_POOL_CONTAINED]]
        return np.union1d(by_dice, by_contained), counted

    @property
    def phonetic(self) -> PhoneticWords:
        """Listed words by sound; built on first use for an index read back from disk (db.search.cache)."""
        if self._phonetic is None:
            blob, ends = self.key_blob.tobytes().decode("ascii"), self.key_offsets.tolist()
            keys = (blob[start:end] for start, end in zip(ends, ends[1:], strict=False))
            self._phonetic = _phonetic_words(keys)
        return self._phonetic

    def by_identifier(self, key: str, filters: SearchFilters | None = None) -> list[EntityHit]:
        """Entities carrying an identifier written in the normalised query key (the whole key, or one word
        with a digit: `registration number 1401029`); each scores IDENTIFIER_SCORE."""
        if len(self.ident_hashes) == 0:
            return []
        whole = identifier_key(key)
        hits = self._identifier_hits({whole} if whole else set(), filters)
        if hits or " " not in key:
            return hits
        words = {identifier_key(w) for w in key.split() if any(c.isdigit() for c in w)} - {""}
        return self._identifier_hits(words, filters)

    def _identifier_hits(self, wanted: set[str], filters: SearchFilters | None) -> list[EntityHit]:
        entity_ok = None if filters is None or filters.empty else self._entity_mask(filters)
        hits = []
        for ident in sorted(wanted):
            code = identifier_hashes([ident])[0]
            lo = int(np.searchsorted(self.ident_hashes, code, side="left"))
            hi = int(np.searchsorted(self.ident_hashes, code, side="right"))
            for entity in sorted(set(self.ident_entity[lo:hi].tolist())):
                if entity_ok is not None and not entity_ok[entity]:
                    continue
                first = np.flatnonzero(self.name_entity == entity)
                name_pos = int(first[0]) if len(first) else -1
                name_id = int(self.name_ids[name_pos]) if name_pos >= 0 else -1
                key_text = self.key(name_pos) if name_pos >= 0 else ""
                hits.append(
                    EntityHit(int(self.entity_ids[entity]), IDENTIFIER_SCORE, name_id, key_text, ident)
                )
        return hits

    def _sound_alike_keys(self, key: str) -> list[str]:
        """The query with a word replaced by the commonest listed spelling of its Chinese syllable in another
        romanisation (`hsi jinping` -> `xi jinping`; up to _ROMANISED_KEYS), then with an unknown word replaced by a listed
        word that sounds like it (`poetin` -> `putin`; up to _SOUND_ALIKE_KEYS)."""
        words = key.split()
        romanised: list[str] = []
        alike: list[str] = []
        for i, word in enumerate(words):
            if len(word) < 2 or any(c.isdigit() for c in word):
                continue
            sizes = self.phonetic.size_of
            listed = [alt for alt in romanisation.other_romanisations(word) if alt in sizes]
            for alt in sorted(listed, key=lambda w: (sizes[w] / len(w), w)):  # the most names hold it first
                romanised.append(" ".join([*words[:i], alt, *words[i + 1 :]]))
            if len(word) < 3:
                continue
            for alt in self.phonetic.alternatives(word, limit=_SOUND_ALIKE_KEYS):
                alike.append(" ".join([*words[:i], alt, *words[i + 1 :]]))
        return romanised[:_ROMANISED_KEYS] + alike[:_SOUND_ALIKE_KEYS]

    def search(
        self,
        key: str,
        *,
        limit: int = 10,
        filters: SearchFilters | None = None,
        prefix: bool = False,
        within_words: bool = False,
    ) -> list[EntityHit]:
        """The best-matching entities for a normalised query key, best first.

        An exact identifier (`by_identifier`) comes before every name. Names are found by shared trigrams,
        then scored; when none scores `_EXPAND_BELOW`, also by the trigrams of the query with an unknown word
        replaced by a listed word that sounds alike (`vladimir poetin` -> `vladimir putin`).

        Args:
            key: the query after `db.names.normalize_name`.
            limit: how many entities to return.
            filters: country, type and list restrictions.
            prefix: the last word is still being typed (autocomplete).
            within_words: the query was written in a dense script: it may be part of a name word.
        Returns:
            Up to `limit` hits, one per entity, each with its best-matching name.
        """
        if not key or self.size == 0:
            return []
        mask = self.name_mask(filters or SearchFilters())
        by_id = [] if prefix else self.by_identifier(key, filters)
        positions, counted = self._candidates(key, mask, prefix)
        keep = limit + len(by_id)  # an entity below these in one scoring is below them after the merge too
        hits = self._scored(key, positions, prefix, within_words, keep)
        if not prefix and (not hits or hits[0].score < _EXPAND_BELOW):
            alike = [self._candidates(k, mask, prefix, counted)[0] for k in self._sound_alike_keys(key)]
            extra = (
                np.setdiff1d(np.concatenate(alike), positions).astype(np.int64, copy=False)
                if alike
                else np.empty(0, dtype=np.int64)
            )
            if len(extra):
                more = {h.entity_id: h for h in self._scored(key, extra, prefix, within_words, keep)}
                for h in hits:
                    if h.entity_id not in more or h.score > more[h.entity_id].score:
                        more[h.entity_id] = h
                hits = sorted(more.values(), key=lambda h: (-h.score, h.entity_id))
        exact = {h.entity_id for h in by_id}
        return (by_id + [h for h in hits if h.entity_id not in exact])[:limit]

    def keys_at(self, positions: npt.NDArray[np.int64]) -> list[str]:
        """The normalised keys of the names at `positions`, gathered from the blob in one step."""
        starts, ends = self.key_offsets[positions], self.key_offsets[positions + 1]
        lengths = ends - starts
        gather = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
        text = self.key_blob[gather].tobytes().decode("ascii")
        bounds = np.cumsum(lengths).tolist()
        return [text[a:b] for a, b in zip([0, *bounds], bounds, strict=False)]

    def _scored(
        self,
        key: str,
        positions: npt.NDArray[np.int64],
        prefix: bool,
        within_words: bool,
        keep: int,
    ) -> list[EntityHit]:
        """The `keep` best entities of the candidate names, each with its best-scoring name, best first.

        An entity's name is its best-scoring one; among equal scores a primary name (kind 0), the last one
        in index order, else the first name in index order.
        """
        if len(positions) == 0:
            return []
        keys = self.keys_at(positions)
        kinds = self.name_kind[positions]
        scores = (
            np.array(
                score_candidates(
                    key, keys, prefix=prefix, within_words=within_words, word_sizes=self.phonetic.sizes
                )
            )
            * _KIND_FACTOR[kinds]
        )
        entities = self.name_entity[positions]
        rank = np.arange(len(positions))
        tie = np.where(kinds == 0, -rank, len(positions) + rank)  # which name of an entity wins a tie
        order = np.lexsort((tie, -scores, entities))
        first = order[np.concatenate(([True], entities[order][1:] != entities[order][:-1]))]
        rounded = np.array(list(map(round, scores[first].tolist(), repeat(1))))
        entity_ids = self.entity_ids[entities[first]]
        best = first[np.lexsort((entity_ids, -rounded))[:keep]]  # by score as shown, then entity id
        return [
            EntityHit(
                int(self.entity_ids[entities[i]]),
                round(float(scores[i]), 1),
                int(self.name_ids[positions[i]]),
                keys[i],
            )
            for i in best.tolist()
        ]


def _phonetic_words(keys: Iterable[str]) -> PhoneticWords:
    """The listed words by sound; the romanisation table is built here too, not in the first search."""
    romanisation.warm()
    return PhoneticWords.build(" ".join(keys).split())


def _identifier_arrays(
    identifiers: IdentifierColumns, entity_ids: npt.NDArray[np.int64], order: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32]]:
    """Identifier hashes sorted, with the entity position of each (identifiers of unknown entities dropped)."""
    if not len(identifiers) or not len(order):
        return np.zeros(0, np.uint64), np.zeros(0, np.int32)
    owners = np.frombuffer(identifiers.entity_ids, dtype=np.int64)
    where = np.minimum(np.searchsorted(entity_ids, owners, sorter=order), len(order) - 1)
    found = entity_ids[order[where]] == owners
    hashes = identifier_hashes(list(compress(identifiers.keys, found.tolist())))
    positions = order[where][found].astype(np.int32)
    sort = np.argsort(hashes, kind="stable")
    return hashes[sort], positions[sort]
