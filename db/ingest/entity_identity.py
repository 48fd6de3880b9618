"""What identifies a record beyond its names: its numbers (for exact lookups) and every country tied to it.

Both are derived at import from the normalised record (`db.ingest.entity_records`), the same way for every
source, and stored beside it: identifiers in `entity_identifiers`, countries in `entities.countries`
(which the /entity country filter reads).
"""

from __future__ import annotations

import re
from typing import Any

from rigour.names import remove_org_types

from db.ingest.country_names import country_code
from db.ingest.entity_records import EntityRecord
from db.names import identifier_key

_BRACKETED = re.compile(r"\(([^()]{2,40})\)")
# Properties whose values are ISO2 countries tied to the entity (besides the record's own countries).
_COUNTRY_LISTS = ("nationalities", "citizenships")


def identifier_rows(record: EntityRecord, entity_id: int) -> list[dict[str, Any]]:
    """`entity_identifiers` rows: each identifier of the record, and its natural key in the source (an
    OFAC entry number, an OpenSanctions id), each once per normalised number."""
    rows: dict[str, dict[str, Any]] = {}
    idents = record.properties.get("identifiers") or []
    pairs = [
        (str(i.get("type") or "identifier"), str(i.get("number") or ""))
        if isinstance(i, dict)
        else ("identifier", str(i))
        for i in (idents if isinstance(idents, list) else [idents])
    ]
    pairs.append(("record id in the source", record.key))
    for scheme, number in pairs:
        key = identifier_key(number)
        if key and key not in rows:
            rows[key] = {
                "entity_id": entity_id,
                "scheme": scheme[:200],
                "number": number[:500],
                "normalized": key[:200],
            }
    return list(rows.values())


def _place_in_name(name: str) -> str | None:
    """A country named in brackets in a name, `World Jetta (H.K.) Logistics` -> hk; never a legal form
    (`(S.A.)` is a company type, not Saudi Arabia)."""
    for match in _BRACKETED.finditer(name):
        text = match.group(1).strip()
        if not remove_org_types(text).strip():
            continue
        code = country_code(text.replace(".", "")) or country_code(text)
        if code:
            return code
    return None


def tied_countries(record: EntityRecord) -> list[str]:
    """Every country tied to the record: its own, its addresses', its identifiers' issuers, nationalities
    and citizenships, and a place named in brackets in one of its names. ISO2, lower case, sorted."""
    found = {c.lower() for c in record.countries if c}
    props = record.properties
    for key in ("addresses", "identifiers"):
        values = props.get(key) or []
        for value in values if isinstance(values, list) else [values]:
            if (
                isinstance(value, dict)
                and isinstance(value.get("country"), str)
                and len(value["country"]) == 2
            ):
                found.add(value["country"].lower())
    for key in _COUNTRY_LISTS:
        values = props.get(key) or []
        found.update(
            v.lower()
            for v in (values if isinstance(values, list) else [values])
            if isinstance(v, str) and len(v) == 2
        )
    for name, _kind in record.all_names():
        place = _place_in_name(name)
        if place:
            found.add(place)
    return sorted(found)
