"""The arguments of `/entity`: the name checked, the country, list and type filters resolved.

Shared by the command (commands/entity.py) and the card it builds (commands/entity_card.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from followthemoney import model

from commands.errors import InvalidInput
from commands.resolve import resolve_country
from db.lookups import Lookups
from db.names import normalize_name
from db.search.index import SearchFilters

EXAMPLE = 'e.g. /entity Poly Group, /entity "King Pai" country=HK, /entity Ромашка type=company'
MAX_NAME_CHARS = 200
MAX_NAME_CHARS = 200
_MENTION = re.compile(r"<@[!&]?\d+>|<#\d+>|@everyone|@here", re.I)


def _schemata(*roots: str) -> frozenset[str]:
    return frozenset(name for name, s in model.schemata.items() if any(s.is_a(r) for r in roots))


_ORGS = _schemata("Organization") | {"LegalEntity"}
TYPES: dict[str, frozenset[str]] = {
    "person": _schemata("Person"),
    "company": _ORGS,
    "organization": _ORGS,
    "organisation": _ORGS,
    "vessel": frozenset({"Vessel"}),
    "aircraft": frozenset({"Airplane"}),
}
_TYPE_ALIASES = {
    "people": "person",
    "individual": "person",
    "org": "organization",
    "entity": "company",
    "ship": "vessel",
    "airplane": "aircraft",
    "plane": "aircraft",
}


@dataclass(frozen=True)
class EntityParams:
    """Validated arguments of /entity (the Discord cog builds the same from its typed options)."""

    name: str
    country: str | None = None  # ISO2, lower case (as entities store it)
    country_name: str | None = None
    list_term: str | None = None
    entity_type: str | None = None

    @classmethod
    def build(
        cls,
        name: str | None,
        lookups: Lookups,
        *,
        country: str | None = None,
        list_term: str | None = None,
        entity_type: str | None = None,
    ) -> EntityParams:
        """Check the name and resolve the filters.

        Raises:
            InvalidInput: empty, too short, too long, mention-only or symbol-only name; unknown type.
            NotFound: unknown country (with the closest country names).
        """
        text = " ".join((name or "").split())
        check_name(text)
        iso2 = country_name = None
        if country and country.strip():
            resolved = resolve_country(lookups, country, "country")
            if not resolved.iso2:
                raise InvalidInput(
                    f"{resolved.name} has no ISO country code to filter by.", "Try a country, e.g. CN."
                )
            iso2, country_name = resolved.iso2.lower(), resolved.name
        kind = None
        if entity_type and entity_type.strip():
            kind = _TYPE_ALIASES.get(entity_type.strip().lower(), entity_type.strip().lower())
            if kind not in TYPES:
                raise InvalidInput(
                    f"Unknown type {entity_type.strip()!r}.", "Types: person, company, vessel, aircraft."
                )
        term = " ".join((list_term or "").split()) or None
        if term and len(term) > 100:
            raise InvalidInput(
                "The list= filter is too long.", "Use a word of the list's name, e.g. list=SDN."
            )
        return cls(text, iso2, country_name, term, kind)

    def filters(self) -> SearchFilters:
        return SearchFilters(
            countries=frozenset({self.country}) if self.country else frozenset(),
            schemata=TYPES[self.entity_type] if self.entity_type else frozenset(),
            list_term=self.list_term,
        )

    def filter_text(self) -> str:
        """`country Hong Kong, list SDN, type company` (empty without filters)."""
        parts = [
            f"country {self.country_name}" if self.country_name else "",
            f"list {self.list_term}" if self.list_term else "",
            f"type {self.entity_type}" if self.entity_type else "",
        ]
        return ", ".join(p for p in parts if p)


def check_name(text: str) -> None:
    """Reject what cannot be a name, saying what works instead.

    Raises:
        InvalidInput: empty, a Discord mention, over 200 characters, no letters or digits, one letter.
    """
    if not text:
        raise InvalidInput("Give a name to look up.", EXAMPLE)
    if _MENTION.search(text):
        raise InvalidInput(
            "That is a Discord mention, not a name.", "Type the company or person's name. " + EXAMPLE
        )
    if len(text) > MAX_NAME_CHARS:
        raise InvalidInput(
            f"That name is {len(text)} characters long; the limit is {MAX_NAME_CHARS}.",
            "Paste the main part of the name, without addresses or remarks.",
        )
    key = normalize_name(text)
    if not key:
        raise InvalidInput("That has no letters or digits to search for.", EXAMPLE)
    if len(key.replace(" ", "")) < 2:
        raise InvalidInput("Type at least two letters of the name.", EXAMPLE)
