"""Structured facts from OFAC's free-text Remarks (and the XML `idList`): pure functions, no database.

A Remarks cell is a `;`-separated list such as
`Organization Established Date 11 Dec 2009; Registration Number 1401029 (Hong Kong); Linked To: RADIOAVTOMATIKA LLC.`
Each fact is matched by its label (OFAC's own wording); what is not recognised is kept in `other_facts`, and
the raw text is always kept, so nothing is lost when OFAC adds a new label.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from db.ingest.country_names import country_code

# Identifier labels as OFAC writes them (longest first when matching), with the kind the card groups them by.
_KIND_WORDS: list[tuple[str, tuple[str, ...]]] = [
    (
        "tax",
        (
            "tax id",
            "v.a.t.",
            "vat number",
            "r.f.c",
            "rfc",
            "nit #",
            "ruc #",
            "rif #",
            "fein",
            "fiscal code",
            "c.u.i.t",
            "rtn",
            "tax registration",
        ),
    ),
    ("passport", ("passport", "travel document", "visanumberid")),
    (
        "national_id",
        (
            "national id",
            "cedula",
            "c.u.r.p",
            "d.n.i.",
            "identification number",
            "ssn",
            "personal id",
            "id no.",
            "birth certificate",
            "residency number",
            "driver's license",
            "electoral",
            "credencial",
            "i.f.e.",
            "identity",
            "citizen's card",
            "numero de identidad",
            "tazkira",
            "refugee id",
            "c.u.i.p",
            "cartilla",
            "national foreign id",
        ),
    ),
    ("vessel", ("vessel", "mmsi", "imo")),
    ("aircraft", ("aircraft",)),
    ("crypto", ("digital currency address",)),
    (
        "registration",
        (
            "registration",
            "registry",
            "register",
            "company number",
            "chamber of comm",
            "social credit",
            "legal entity number",
            "gazette",
            "trade license",
            "c.r. no",
            "folio mercantil",
            "matricula mercantil",
            "d-u-n-s",
            "charity",
            "business number",
            "enterprise number",
            "incorporation",
            "le number",
            "organization code",
            "commercial code",
            "c.u.i.",
            "bik",
            "branch unit",
            "permit",
            "file number",
            "license",
        ),
    ),
]

ID_LABELS: tuple[str, ...] = tuple(
    sorted(
        {
            "Tax ID No.",
            "Registration Number",
            "Passport",
            "Diplomatic Passport",
            "National ID No.",
            "Vessel Registration Identification",
            "Government Gazette Number",
            "C.U.R.P.",
            "C.U.R.P. #",
            "Cedula No.",
            "Registration ID",
            "Aircraft Model",
            "Aircraft Manufacturer's Serial Number (MSN)",
            "Aircraft Manufacture Date",
            "Business Registration Number",
            "NIT #",
            "Identification Number",
            "ISIN",
            "MMSI",
            "Aircraft Tail Number",
            "Folio Mercantil No.",
            "Unified Social Credit Code (USCC)",
            "Commercial Registry Number",
            "Company Number",
            "RUC #",
            "Legal Entity Number",
            "License",
            "Aircraft Construction Number (also called L/N or S/N or F/N)",
            "V.A.T. Number",
            "C.R. No.",
            "Economic Register Number (CBLS)",
            "SWIFT/BIC",
            "Equity Ticker",
            "Trade License No.",
            "Matricula Mercantil No",
            "D.N.I.",
            "Chamber of Commerce Number",
            "D-U-N-S Number",
            "Central Registration System Number",
            "BIK (RU)",
            "Istanbul Chamber of Comm. No.",
            "Birth Certificate Number",
            "Driver's License No.",
            "RIF #",
            "Electoral Registry No.",
            "Business Number",
            "Business Registration Document #",
            "RFC",
            "R.F.C.",
            "R.F.C. #",
            "Public Registration Number",
            "Enterprise Number",
            "Vessel Year of Build",
            "National Foreign ID Number",
            "Personal ID Card",
            "Italian Fiscal Code",
            "UK Company Number",
            "Credencial electoral",
            "C.U.I.",
            "C.U.I.T.",
            "C.U.I.P.",
            "Cartilla de Servicio Militar Nacional",
            "US FEIN",
            "Residency Number",
            "Chinese Commercial Code",
            "I.F.E.",
            "Permit Number",
            "SSN",
            "Registered Charity No.",
            "Dubai Chamber of Commerce Membership No.",
            "Branch Unit Number",
            "Certificate of Incorporation Number",
            "Turkish Identification Number",
            "Numero de Identidad",
            "Aircraft Mode S Transponder Code",
            "LE Number",
            "Citizen's Card Number",
            "United Social Credit Code Certificate (USCCC)",
            "Kenyan ID No.",
            "Travel Document Number",
            "RTN",
            "VisaNumberID",
            "SRE Permit No.",
            "File Number",
            "Refugee ID Card",
            "Romanian C.R.",
            "Tazkira National ID Card",
            "Aircraft Serial Identification",
            "Organization Code",
            "Former Vessel Flag",
            "Nationality of Registration",
            "Aircraft Operator",
        },
        key=len,
        reverse=True,
    )
)

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1
    )
}
_TRAILER = re.compile(r"\s+(issued|expires)\s+(.+?)(?=\s+(?:issued|expires)\s+|$)")
_COUNTRY_TAIL = re.compile(r"\s*\(([^()]+)\)\s*$")
_ALIAS = re.compile(r"^(a\.k\.a\.|f\.k\.a\.|n\.k\.a\.)\s+'(.+)'$")


@dataclass
class RemarkFacts:
    """What the remarks say, in the shared properties vocabulary (see db.ingest.entity_records)."""

    identifiers: list[dict[str, Any]] = field(default_factory=list)
    linked_to: list[str] = field(default_factory=list)
    aliases: list[tuple[str, str]] = field(default_factory=list)
    values: dict[str, list[str]] = field(default_factory=dict)  # birth_dates, nationalities, websites ...

    def add(self, key: str, value: str) -> None:
        bucket = self.values.setdefault(key, [])
        if value and value not in bucket:
            bucket.append(value)


def ofac_date(text: str) -> str:
    """`11 Dec 2009` -> `2009-12-11`, `Dec 2009` -> `2009-12`; anything else unchanged (e.g. `circa 1951`)."""
    parts = text.strip().split()
    try:
        if len(parts) == 3 and parts[1] in _MONTHS:
            return dt.date(int(parts[2]), _MONTHS[parts[1]], int(parts[0])).isoformat()
        if len(parts) == 2 and parts[0] in _MONTHS and parts[1].isdigit():
            return f"{int(parts[1]):04d}-{_MONTHS[parts[0]]:02d}"
    except ValueError:
        return text.strip()
    return text.strip()


@lru_cache(maxsize=4096)  # a few hundred distinct labels, each met thousands of times
def identifier_kind(label: str) -> str:
    """registration, tax, passport, national_id, vessel, aircraft, crypto or other, from an OFAC label."""
    low = label.casefold()
    for kind, words in _KIND_WORDS:
        if any(w in low for w in words):
            return kind
    return "other"


def identifier(
    label: str, rest: str, country: str | None = None, issued: str | None = None, expires: str | None = None
) -> dict[str, Any]:
    """An identifier dict from a label and the text after it (country in brackets, issued/expires dates)."""
    for match in _TRAILER.finditer(rest):
        if match.group(1) == "issued":
            issued = issued or ofac_date(match.group(2))
        else:
            expires = expires or ofac_date(match.group(2))
    number = _TRAILER.sub("", rest).strip()
    tail = _COUNTRY_TAIL.search(number)
    if tail and country is None:
        country = tail.group(1)
        number = number[: tail.start()].strip()
    out: dict[str, Any] = {"type": label, "number": number, "kind": identifier_kind(label)}
    if country:
        out["country"] = country_code(country) or country
        out["country_name"] = country
    if issued:
        out["issued"] = issued
    if expires:
        out["expires"] = expires
    return out


def split_remarks(text: str | None) -> list[str]:
    """The `;`-separated facts of a Remarks cell, without the final period."""
    if not text:
        return []
    body = text.strip()
    if body.endswith("."):
        body = body[:-1]
    return [part.strip() for part in body.split(";") if part.strip()]


def apply_fact(facts: RemarkFacts, fact: str) -> None:
    """Classify one fact into `facts` (identifiers, links, aliases, dates, countries ...)."""
    target, key, value = _classify(fact)
    if target == "alias":
        facts.aliases.append(value)
    elif target == "linked_to":
        facts.linked_to.append(value)
    elif target == "identifier":  # a copy: the cached dict is shared by every entry with the same fact
        facts.identifiers.append(dict(value))
    else:
        facts.add(key, value)


# Half the facts of a list repeat across its entries ("Gender Male", "nationality Russia", the secondary
# sanctions wording ...): each distinct text is classified once per import (about 35k in a 15k-entry list,
# some 15 MiB, so the importer empties the cache when it is done: forget_facts).
@lru_cache(maxsize=65_536)
def _classify(fact: str) -> tuple[str, str, Any]:
    """(target, property key, value) of one fact: target is alias, linked_to, identifier or value."""
    text = fact[5:].strip() if fact.lower().startswith("alt. ") else fact
    alias = _ALIAS.match(text)
    if alias:
        return "alias", "", (alias.group(2), alias.group(1)[0] + "ka")
    if text.startswith("Linked To:"):
        return "linked_to", "", text[len("Linked To:") :].strip()
    simple = _simple_fact(text)
    if simple is not None:
        return "value", *simple
    found = _identifier_fact(text)
    if found is not None:
        return "identifier", "", found
    return "value", "other_facts", text


_SIMPLE: list[tuple[str, str, bool]] = [  # (prefix, property, value is a country)
    ("DOB ", "birth_dates", False),
    ("POB ", "birth_places", False),
    ("nationality ", "nationalities", True),
    ("citizen ", "citizenships", True),
    ("Gender ", "gender", False),
    ("Organization Established Date ", "established", False),
    ("Website ", "websites", False),
    ("Email Address ", "emails", False),
    ("Phone Number ", "phones", False),
    ("Telephone: ", "phones", False),
    ("Telephone ", "phones", False),
    ("Fax: ", "fax", False),
    ("Fax ", "fax", False),
    ("Additional Sanctions Information - ", "secondary_sanctions", False),
    ("Secondary sanctions risk: ", "secondary_sanctions", False),
    ("Organization Type: ", "organization_type", False),
    ("Target Type ", "target_type", False),
]


def forget_facts() -> None:
    """Drop the classified facts kept by `_classify` (memory of a bot that imports now and then)."""
    _classify.cache_clear()


# One match finds the first prefix of _SIMPLE (in its order: "Telephone: " before "Telephone ") a text starts with.
_SIMPLE_PREFIX = re.compile("|".join(re.escape(prefix) for prefix, _, _ in _SIMPLE))
_SIMPLE_BY_PREFIX = {prefix: (key, is_country) for prefix, key, is_country in _SIMPLE}


def _simple_fact(text: str) -> tuple[str, str] | None:
    """(property key, value) of a fact with one of the _SIMPLE prefixes, else None."""
    match = _SIMPLE_PREFIX.match(text)
    if match is None:
        return None
    prefix = match.group(0)
    key, is_country = _SIMPLE_BY_PREFIX[prefix]
    value = text[len(prefix) :].strip()
    if key in ("birth_dates", "established"):
        value = ofac_date(value)
    if is_country:
        value = country_code(value) or value
    if key == "secondary_sanctions" and prefix.startswith("Additional"):
        value = text  # keep OFAC's whole wording ("... - Subject to Secondary Sanctions")
    return key, value


_ID_LABEL = re.compile("^(" + "|".join(re.escape(label) for label in ID_LABELS) + r")[ :]")


def _identifier_fact(text: str) -> dict[str, Any] | None:
    match = _ID_LABEL.match(text)
    if match:
        rest = text[match.end(1) :].lstrip(": ").strip()
        if rest:
            return identifier(match.group(1), rest)
    if text.startswith("Digital Currency Address - "):
        label, _, rest = text.rpartition(" ")
        return {"type": label, "number": rest, "kind": "crypto"}
    return None


def parse_remarks(text: str | None) -> RemarkFacts:
    """All facts of a Remarks text (sdn.csv Remarks joined with its sdn_comments.csv overflow)."""
    facts = RemarkFacts()
    for fact in split_remarks(text):
        apply_fact(facts, fact)
    return facts


def apply_xml_id(
    facts: RemarkFacts,
    id_type: str,
    number: str,
    country: str | None,
    issued: str | None,
    expires: str | None,
) -> None:
    """One `<id>` of the XML `idList` (same labels as the CSV remarks) into `facts`."""
    id_type = id_type.strip()
    if id_type.startswith("Additional Sanctions Information"):
        facts.add("secondary_sanctions", f"{id_type} {number}".strip())
    elif id_type.startswith("Secondary sanctions risk"):
        facts.add("secondary_sanctions", number)
    elif id_type in ("Website", "Email Address", "Phone Number"):
        facts.add(
            {"Website": "websites", "Email Address": "emails", "Phone Number": "phones"}[id_type], number
        )
    elif id_type == "Nationality of Registration":
        facts.add("nationalities", country_code(number) or number)
    elif id_type.startswith("For more information"):
        facts.add("other_facts", f"{id_type} {number}")
    else:
        facts.identifiers.append(
            identifier(
                id_type.rstrip(" -:"),
                number,
                country,
                issued and ofac_date(issued),
                expires and ofac_date(expires),
            )
        )
