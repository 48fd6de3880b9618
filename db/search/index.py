"""The in-memory name index: every loaded name and alias, searchable in milliseconds at a million names.

Pure data structure (no database): `db.search.service` fills it from `entity_names` and keeps it fresh.
Memory is a few flat numpy arrays, about 130 bytes per name: trigram postings, the normalised keys as one
ASCII blob, and per-name and per-entity attributes for the filters (country, type, list).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from db.search.scoring import score_candidates
from db.search.trigrams import TrigramPostings, query_codes

NAME_KINDS = ("primary", "aka", "fka", "nka", "weak", "other")
# A weak alias (OFAC "weak a.k.a.", FtM weakAlias) is a poor identifier: rank it a little lower.
_KIND_FACTOR = np.array([1.0, 1.0, 1.0, 1.0, 0.93, 1.0], dtype=np.float64)
_POOL_DICE = 150  # candidates kept by Dice similarity of trigram sets
_POOL_CONTAINED = 100  # and by share of the query's trigrams found (short names first)


@dataclass
class NameColumns:
    """Names as loaded from `entity_names`, column by column (cheaper than a million row objects)."""

    name_ids: list[int] = field(default_factory=list)
    entity_ids: list[int] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    def append(self, name_id: int, entity_id: int, key: str, kind: str) -> None:
        self.name_ids.append(name_id)
        self.entity_ids.append(entity_id)
        self.keys.append(key)
        self.kinds.append(kind)

    def __len__(self) -> int:
        return len(self.name_ids)


@dataclass(frozen=True)
class EntityAttributes:
    """What the filters need to know about an entity: type, countries, lists (lower-case tags)."""

    entity_id: int
    schema: str
    countries: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


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
    """An entity found by a search: its best name (which alias matched) and the score (0-100)."""

    entity_id: int
    score: float
    name_id: int
    matched_key: str


@dataclass
class _Pairs:
    """(owner entity position, vocabulary code) pairs: a many-valued attribute such as countries."""

    owners: npt.NDArray[np.int32]
    codes: npt.NDArray[np.int32]
    vocabulary: list[str]

    @classmethod
    def build(cls, values: Sequence[Iterable[str]]) -> _Pairs:
        vocabulary: dict[str, int] = {}
        owners: list[int] = []
        codes: list[int] = []
        for position, items in enumerate(values):
            for item in set(items):
                owners.append(position)
                codes.append(vocabulary.setdefault(item, len(vocabulary)))
        return cls(np.array(owners, dtype=np.int32), np.array(codes, dtype=np.int32), list(vocabulary))

    def owners_of(self, wanted: set[int], n_entities: int) -> npt.NDArray[np.bool_]:
        hit = np.isin(self.codes, np.fromiter(wanted, dtype=np.int32, count=len(wanted)))
        return np.bincount(self.owners[hit], minlength=n_entities) > 0


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
    countries: _Pairs
    tags: _Pairs
    version: tuple[object, ...] = ()
    _mask_cache: dict[SearchFilters, npt.NDArray[np.bool_]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls, names: NameColumns, entities: Sequence[EntityAttributes], version: tuple[object, ...] = ()
    ) -> NameIndex:
        """Index `names`; names with an empty key or of entities missing from `entities` are left out."""
        entity_pos = {e.entity_id: i for i, e in enumerate(entities)}
        keep = [i for i in range(len(names)) if names.keys[i] and names.entity_ids[i] in entity_pos]
        keys = [names.keys[i] for i in keep]
        encoded = [k.encode("ascii", "replace") for k in keys]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(k) for k in encoded], out=offsets[1:])
        schemata = sorted({e.schema for e in entities})
        schema_code = {s: i for i, s in enumerate(schemata)}  # FtM has about 70 schemata: fits uint8
        kind_code = {k: i for i, k in enumerate(NAME_KINDS)}
        other = len(NAME_KINDS) - 1
        return cls(
            postings=TrigramPostings.build(keys),
            key_blob=np.frombuffer(b"".join(encoded), dtype=np.uint8),
            key_offsets=offsets,
            name_ids=np.array([names.name_ids[i] for i in keep], dtype=np.int64),
            name_entity=np.array([entity_pos[names.entity_ids[i]] for i in keep], dtype=np.int32),
            name_kind=np.array([kind_code.get(names.kinds[i], other) for i in keep], dtype=np.uint8),
            entity_ids=np.array([e.entity_id for e in entities], dtype=np.int64),
            entity_schema=np.array([schema_code[e.schema] for e in entities], dtype=np.uint8),
            schema_vocabulary=schemata,
            countries=_Pairs.build([e.countries for e in entities]),
            tags=_Pairs.build([e.tags for e in entities]),
            version=version,
        )

    @property
    def size(self) -> int:
        """Number of names indexed."""
        return len(self.name_ids)

    @property
    def nbytes(self) -> int:
        """Approximate memory held by the index arrays."""
        arrays = [
            self.key_blob,
            self.key_offsets,
            self.name_ids,
            self.name_entity,
            self.name_kind,
            self.entity_ids,
            self.entity_schema,
            self.countries.owners,
            self.countries.codes,
            self.tags.owners,
            self.tags.codes,
        ]
        return self.postings.nbytes + sum(int(a.nbytes) for a in arrays)

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
        self, key: str, mask: npt.NDArray[np.bool_] | None, prefix: bool
    ) -> npt.NDArray[np.int64]:
        codes = query_codes(key, open_end=prefix)
        counts = self.postings.shared_counts(codes)
        if mask is not None:
            counts = np.where(mask, counts, 0)
        floor = max(1, int(len(codes) * 0.25))
        found = np.flatnonzero(counts >= floor)
        if len(found) <= _POOL_DICE + _POOL_CONTAINED:
            return found
        shared = counts[found].astype(np.float64)
        lengths = self.postings.lengths[found].astype(np.float64)
        dice = 2 * shared / (len(codes) + lengths)
        by_dice = found[np.argpartition(-dice, _POOL_DICE)[:_POOL_DICE]]
        contained = shared - lengths * 1e-3  # all query trigrams first, the shortest such names first
        by_contained = found[np.argpartition(-contained, _POOL_CONTAINED)[:_POOL_CONTAINED]]
        return np.union1d(by_dice, by_contained)

    def search(
        self, key: str, *, limit: int = 10, filters: SearchFilters | None = None, prefix: bool = False
    ) -> list[EntityHit]:
        """The best-matching entities for a normalised query key, best first.

        Args:
            key: the query after `db.names.normalize_name`.
            limit: how many entities to return.
            filters: country, type and list restrictions.
            prefix: the last word is still being typed (autocomplete).
        Returns:
            Up to `limit` hits, one per entity, each with its best-matching name.
        """
        if not key or self.size == 0:
            return []
        positions = self._candidates(key, self.name_mask(filters or SearchFilters()), prefix)
        if len(positions) == 0:
            return []
        keys = [self.key(int(p)) for p in positions]
        scores = (
            np.array(score_candidates(key, keys, prefix=prefix)) * _KIND_FACTOR[self.name_kind[positions]]
        )
        best: dict[int, EntityHit] = {}
        for pos, name_key, score in zip(positions.tolist(), keys, scores.tolist(), strict=True):
            entity = int(self.name_entity[pos])
            current = best.get(entity)
            if (
                current is None
                or score > current.score
                or (score == current.score and self.name_kind[pos] == 0)
            ):
                best[entity] = EntityHit(
                    int(self.entity_ids[entity]), round(score, 1), int(self.name_ids[pos]), name_key
                )
        return sorted(best.values(), key=lambda h: (-h.score, h.entity_id))[:limit]
