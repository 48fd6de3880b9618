"""Names and entity attributes as columns: what the index is built from, loaded a page at a time.

A million names as Python row objects would take a gigabyte; as columns (C arrays for the ids and codes,
one list of short ASCII keys) they take about 100 MB while the index is built, and nothing after.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

NAME_KINDS = ("primary", "aka", "fka", "nka", "weak", "other")
KIND_CODE = {k: i for i, k in enumerate(NAME_KINDS)}
OTHER_KIND = len(NAME_KINDS) - 1


@dataclass
class NameColumns:
    """Names from `entity_names`: id, entity id, normalised key and kind, column by column."""

    name_ids: array[int] = field(default_factory=lambda: array("q"))
    entity_ids: array[int] = field(default_factory=lambda: array("q"))
    keys: list[str] = field(default_factory=list)
    kinds: array[int] = field(default_factory=lambda: array("B"))

    def append(self, name_id: int, entity_id: int, key: str, kind: str) -> None:
        self.name_ids.append(name_id)
        self.entity_ids.append(entity_id)
        self.keys.append(key)
        self.kinds.append(KIND_CODE.get(kind, OTHER_KIND))

    def extend(self, rows: Sequence[tuple[int, int, str | None, str]]) -> None:
        """Add a page of (id, entity id, key, kind) rows."""
        if not rows:
            return
        ids, entity_ids, keys, kinds = zip(*rows, strict=True)
        self.name_ids.extend(ids)
        self.entity_ids.extend(entity_ids)
        self.keys.extend(k or "" for k in keys)
        self.kinds.extend(KIND_CODE.get(k, OTHER_KIND) for k in kinds)

    def extend_coded(self, rows: Sequence[tuple[int, int, str, int]]) -> None:
        """Add a page of (id, entity id, key, kind code) rows, keys never NULL (C-level extends only)."""
        if not rows:
            return
        ids, entity_ids, keys, kinds = zip(*rows, strict=True)
        self.name_ids.extend(ids)
        self.entity_ids.extend(entity_ids)
        self.keys.extend(keys)
        self.kinds.extend(kinds)

    def __len__(self) -> int:
        return len(self.name_ids)


@dataclass
class IdentifierColumns:
    """Identifiers from `entity_identifiers`: entity id and comparable key (`db.names.identifier_key`)."""

    entity_ids: array[int] = field(default_factory=lambda: array("q"))
    keys: list[str] = field(default_factory=list)

    def append(self, entity_id: int, key: str) -> None:
        self.entity_ids.append(entity_id)
        self.keys.append(key)

    def extend(self, rows: Sequence[tuple[int, int, str]]) -> None:
        """Add a page of (row id, entity id, key) rows."""
        for _id, entity_id, key in rows:
            if key:
                self.append(entity_id, key)

    def __len__(self) -> int:
        return len(self.entity_ids)


@dataclass(frozen=True)
class EntityAttributes:
    """What the filters need to know about one entity: type, countries, lists (lower-case tags)."""

    entity_id: int
    schema: str
    countries: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass
class EntityColumns:
    """Entities: id, schema, countries and list tags, column by column (tuples shared between rows)."""

    entity_ids: array[int] = field(default_factory=lambda: array("q"))
    schemas: list[str] = field(default_factory=list)
    countries: list[tuple[str, ...]] = field(default_factory=list)
    tags: list[tuple[str, ...]] = field(default_factory=list)

    def append(
        self, entity_id: int, schema: str, countries: tuple[str, ...] = (), tags: tuple[str, ...] = ()
    ) -> None:
        self.entity_ids.append(entity_id)
        self.schemas.append(schema)
        self.countries.append(countries)
        self.tags.append(tags)

    def extend(
        self,
        entity_ids: Sequence[int],
        schemas: Sequence[str],
        countries: Sequence[tuple[str, ...]],
        tags: Sequence[tuple[str, ...]],
    ) -> None:
        """Add a page of entities, column by column."""
        self.entity_ids.extend(entity_ids)
        self.schemas.extend(schemas)
        self.countries.extend(countries)
        self.tags.extend(tags)

    @classmethod
    def of(cls, entities: Iterable[EntityAttributes]) -> EntityColumns:
        columns = cls()
        for e in entities:
            columns.append(e.entity_id, e.schema, e.countries, e.tags)
        return columns

    def __len__(self) -> int:
        return len(self.entity_ids)


@dataclass
class Pairs:
    """(entity position, vocabulary code) pairs: a many-valued attribute such as countries or list tags."""

    owners: npt.NDArray[np.int32]
    codes: npt.NDArray[np.int32]
    vocabulary: list[str]

    @classmethod
    def build(cls, values: Sequence[tuple[str, ...]]) -> Pairs:
        """Pairs for one tuple of values per entity; equal tuples (`("ru",)` ...) are coded once."""
        distinct: dict[tuple[str, ...], int] = {}
        which = np.fromiter(
            (distinct.setdefault(v, len(distinct)) for v in values), dtype=np.int64, count=len(values)
        )
        vocabulary: dict[str, int] = {}
        per_tuple = [
            [vocabulary.setdefault(item, len(vocabulary)) for item in dict.fromkeys(t)] for t in distinct
        ]
        sizes = np.array([len(c) for c in per_tuple] or [0], dtype=np.int64)
        flat = np.array([c for codes in per_tuple for c in codes], dtype=np.int32)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        counts = sizes[which] if len(which) else np.zeros(0, dtype=np.int64)
        owners = np.repeat(np.arange(len(values), dtype=np.int32), counts)
        offsets_in_run = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        codes = flat[np.repeat(starts[which], counts) + offsets_in_run] if len(owners) else flat[:0]
        return cls(owners, codes.astype(np.int32), list(vocabulary))

    def owners_of(self, wanted: set[int], n_entities: int) -> npt.NDArray[np.bool_]:
        """Which entity positions have any of the wanted codes."""
        hit = np.isin(self.codes, np.fromiter(wanted, dtype=np.int32, count=len(wanted)))
        return np.bincount(self.owners[hit], minlength=n_entities) > 0

    @property
    def nbytes(self) -> int:
        return int(self.owners.nbytes + self.codes.nbytes)
