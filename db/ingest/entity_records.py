"""The normalised form every entity importer produces, before it is stored.

Each source's parser yields its own raw rows; its normalise stage turns them into `EntityRecord`s. The store
(db.ingest.entity_store) then compares them with what is loaded, by natural key and content hash.

`properties` uses one vocabulary across sources so the search card and the change detector can read any of
them (all keys optional):
    programs [str]; remarks str; addresses [{"full", "street", "city", "country" (ISO2), "country_name",
    "remarks"}]; identifiers [{"type", "number", "country" (ISO2), "kind" (registration, tax, passport,
    national_id, vessel, aircraft, crypto, other), "issued", "expires"}]; birth_dates, birth_places,
    nationalities, citizenships (ISO2), gender, established, websites, emails, phones, secondary_sanctions
    [str]; other_facts [str]; vessel {...}; title; topics; datasets; list; notes [{"text", "citation"}].
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Name kinds stored in entity_names.kind.
NAME_KINDS = ("primary", "aka", "fka", "nka", "weak")


@dataclass
class RelationRecord:
    """A link from the record that carries it to another entity, known by name and maybe by key."""

    kind: str  # linked_to, ownership, directorship, family, associate, same_as, unknown_link ...
    to_name: str
    to_key: str | None = None  # qualified natural key "source_key:natural_key", when the source gives one
    details: dict[str, Any] | None = None
    citation: dict[str, Any] | None = None

    def canonical(self) -> list[Any]:
        return [self.kind, self.to_name, self.to_key, self.details or {}, self.citation or {}]


@dataclass
class DesignationRecord:
    """One listing: authority, list, program, date and reference."""

    authority: str
    list_name: str
    program: str | None = None
    listed_on: str | None = None  # ISO date; stored as a date
    reference: str | None = None
    source_url: str | None = None
    details: dict[str, Any] | None = None

    def canonical(self) -> list[Any]:
        return [
            self.authority,
            self.list_name,
            self.program,
            self.listed_on,
            self.reference,
            self.source_url,
            self.details or {},
        ]


@dataclass
class EntityRecord:
    """One record of a source, normalised: what the database stores for it."""

    key: str  # natural key in the source (OFAC ent_num, CSL _id, OpenSanctions id, curated id)
    schema: str  # FollowTheMoney schema name
    name: str
    countries: list[str] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (name, kind), kind from NAME_KINDS
    designations: list[DesignationRecord] = field(default_factory=list)
    relations: list[RelationRecord] = field(default_factory=list)
    # Parts of the record that came from an optional file (OFAC add.csv, alt.csv ...): the change detector
    # compares a part only when both snapshots had it. Maps part name -> hash of that part.
    part_hashes: dict[str, str] = field(default_factory=dict)
    cached_hash: str | None = field(default=None, repr=False, compare=False)
    # A record can be a stub (key, name and hash only) that builds its full self on demand: the OFAC parser
    # uses this so an unchanged entry of a 15k-entry list is never normalised just to be found unchanged.
    loader: Callable[[], EntityRecord] | None = field(default=None, repr=False, compare=False)

    def materialize(self) -> EntityRecord:
        """Build a stub's full content in place (no-op for a full record)."""
        if self.loader is not None:
            full = self.loader()
            self.loader = None
            for name in (
                "schema",
                "name",
                "countries",
                "properties",
                "aliases",
                "designations",
                "relations",
                "part_hashes",
            ):
                setattr(self, name, getattr(full, name))
            self.cached_hash = self.cached_hash or full.content_hash()
        return self

    def all_names(self) -> list[tuple[str, str]]:
        """The primary name then the aliases, without exact duplicates."""
        seen: set[str] = set()
        out: list[tuple[str, str]] = []
        for name, kind in [(self.name, "primary"), *self.aliases]:
            clean = " ".join(name.split())
            if clean and clean not in seen:
                seen.add(clean)
                out.append((clean, kind))
        return out

    def content_hash(self) -> str:
        """A stable hash of everything stored for the record (order-insensitive where order is noise)."""
        if self.cached_hash is not None:
            return self.cached_hash
        body = {
            "schema": self.schema,
            "name": self.name,
            "countries": sorted(self.countries),
            "properties": self.properties,
            "names": sorted(self.all_names()),
            "designations": sorted(json.dumps(d.canonical(), sort_keys=True) for d in self.designations),
            "relations": sorted(json.dumps(r.canonical(), sort_keys=True) for r in self.relations),
        }
        self.cached_hash = stable_hash(body)
        return self.cached_hash


def stable_hash(value: Any) -> str:
    """sha256 of the canonical JSON form of a value."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dedupe(values: list[Any]) -> list[Any]:
    """Values in first-seen order without duplicates (works for dicts too); two values are the same when
    their JSON forms are."""
    seen: set[Any] = set()
    out = []
    for value in values:
        marker = _marker(value)
        if marker not in seen:
            seen.add(marker)
            out.append(value)
    return out


def _marker(value: Any) -> Any:
    """A hashable stand-in equal for two values exactly when their JSON forms are equal.

    Aliases (tuples of strings) and flat string dicts (identifiers) are the common cases: their own items
    compare as their JSON does, so the JSON text is built only for anything else. The kinds cannot collide:
    a JSON text is a str, the others are tuples tagged by kind.
    """
    if isinstance(value, tuple | list) and all(type(v) is str for v in value):
        return ("seq", *value)
    if isinstance(value, dict) and all(type(k) is str and type(v) is str for k, v in value.items()):
        return ("map", *sorted(value.items()))
    return json.dumps(value, sort_keys=True, default=str)
