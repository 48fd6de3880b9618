"""Parse OFAC's XML list form (`sdn.xml`, `consolidated.xml`, schema `sdnList`), streaming and safely.

defusedxml's iterparse refuses DTDs, entity declarations and external references, so a hostile file cannot
expand entities ("billion laughs") or reach the network; each `sdnEntry` is freed once read. Pure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from db.ingest.base import ImportFailed
from db.ingest.country_names import country_code
from db.ingest.ofac_csv import ALIAS_KINDS, OfacEntry
from db.ingest.ofac_remarks import RemarkFacts, apply_xml_id, ofac_date, parse_remarks


def _tag(elem: Element) -> str:
    return elem.tag.rsplit("}", 1)[-1]


def _child(elem: Element, name: str) -> str | None:
    for child in elem:
        if _tag(child) == name:
            text = (child.text or "").strip()
            return text or None
    return None


def _items(elem: Element, list_name: str) -> list[Element]:
    for child in elem:
        if _tag(child) == list_name:
            return list(child)
    return []


def _person_name(last: str | None, first: str | None) -> str:
    """OFAC's CSV writes people as `LAST, First`; the XML splits them. Rebuild the CSV form."""
    return ", ".join(p for p in (last, first) if p)


def _facts(elem: Element) -> RemarkFacts:
    facts = parse_remarks(_child(elem, "remarks"))
    for item in _items(elem, "idList"):
        apply_xml_id(
            facts,
            _child(item, "idType") or "",
            _child(item, "idNumber") or "",
            _child(item, "idCountry"),
            _child(item, "issueDate"),
            _child(item, "expirationDate"),
        )
    for item in _items(elem, "dateOfBirthList"):
        facts.add("birth_dates", ofac_date(_child(item, "dateOfBirth") or ""))
    for item in _items(elem, "placeOfBirthList"):
        facts.add("birth_places", _child(item, "placeOfBirth") or "")
    for list_name, key in (("nationalityList", "nationalities"), ("citizenshipList", "citizenships")):
        for item in _items(elem, list_name):
            name = _child(item, "country") or ""
            facts.add(key, country_code(name) or name)
    return facts


def _addresses(elem: Element) -> list[dict[str, Any]]:
    out = []
    for item in _items(elem, "addressList"):
        street = ", ".join(v for v in (_child(item, f"address{i}") for i in (1, 2, 3)) if v) or None
        city = (
            ", ".join(
                v
                for v in (_child(item, "city"), _child(item, "stateOrProvince"), _child(item, "postalCode"))
                if v
            )
            or None
        )
        address = {
            k: v
            for k, v in (("street", street), ("city", city), ("country_name", _child(item, "country")))
            if v
        }
        address["full"] = ", ".join(v for v in (street, city, address.get("country_name")) if v)
        out.append(address)
    return out


def entry_from_xml(elem: Element) -> OfacEntry:
    """One `sdnEntry` element as an OfacEntry."""
    key = _child(elem, "uid")
    last = _child(elem, "lastName")
    if not key or not key.isdigit() or not last:
        raise ImportFailed(f"an sdnEntry lacks its uid or lastName (uid={key!r})")
    aliases = []
    for aka in _items(elem, "akaList"):
        kind = ALIAS_KINDS.get((_child(aka, "type") or "a.k.a.").lower(), "aka")
        if (_child(aka, "category") or "").lower() == "weak":
            kind = "weak"
        aliases.append((_person_name(_child(aka, "lastName"), _child(aka, "firstName")), kind))
    vessel_elem = next((c for c in elem if _tag(c) == "vesselInfo"), None)
    vessel = {}
    if vessel_elem is not None:
        vessel = {
            k: v
            for k, v in (
                (t, _child(vessel_elem, t))
                for t in (
                    "callSign",
                    "vesselType",
                    "vesselFlag",
                    "vesselOwner",
                    "tonnage",
                    "grossRegisteredTonnage",
                )
            )
            if v
        }
    programs = [p.text.strip() for p in _items(elem, "programList") if p.text and p.text.strip()]
    facts = _facts(elem)
    entry = OfacEntry(
        key=str(int(key)),
        name=_person_name(last, _child(elem, "firstName")),
        sdn_type=_child(elem, "sdnType"),
        programs=programs,
        title=_child(elem, "title"),
        vessel=vessel,
        remarks=_child(elem, "remarks"),
        addresses=_addresses(elem),
        aliases=aliases,
        facts=facts,
    )
    entry.parts = {
        "main": [
            entry.name,
            entry.sdn_type,
            programs,
            entry.title,
            vessel,
            entry.remarks,
            entry.addresses,
            aliases,
            facts.identifiers,
            facts.values,
        ]
    }
    return entry


def iter_xml(path: Path, meta: dict[str, Any]) -> Iterator[OfacEntry]:
    """The entries of an OFAC XML file; `meta` receives publish_date and record_count."""
    try:
        root_seen = False
        for _event, elem in iterparse(str(path), events=("start", "end"), forbid_dtd=True):
            tag = _tag(elem)
            if not root_seen:
                root_seen = True
                if tag != "sdnList":
                    raise ImportFailed(f"{path.name}: root element is <{tag}>, not OFAC's <sdnList>")
                continue
            if _event != "end":
                continue
            if tag == "Publish_Date":
                meta["publish_date"] = (elem.text or "").strip()
            elif tag == "Record_Count":
                meta["record_count"] = (elem.text or "").strip()
            elif tag == "sdnEntry":
                yield entry_from_xml(elem)
                elem.clear()
    except DefusedXmlException as exc:
        raise ImportFailed(
            f"{path.name}: refused unsafe XML ({type(exc).__name__}: DTDs and entities are "
            "not allowed in OFAC files)"
        ) from None
    except ParseError as exc:
        raise ImportFailed(f"{path.name}: not well-formed XML ({exc}); the file may be truncated") from None


def publish_date_iso(text: str | None) -> str | None:
    """OFAC's `MM/DD/YYYY` Publish_Date as ISO, or None."""
    if not text:
        return None
    parts = text.split("/")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return f"{int(parts[2]):04d}-{int(parts[0]):02d}-{int(parts[1]):02d}"
    return None
