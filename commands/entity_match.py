"""Why an /entity result matched, and when several candidates are too close to pick one.

`why_matched` says in one line which name or identifier matched and how its words agreed with the query
(exactly, in another romanisation, spelled closely, sounding alike, written together, an initial), then which of the entity's
features agreed or disagreed with the filters given (country, type) and its date of birth or registration
for the reader to compare. `is_ambiguous` decides between one card and a short disambiguation list:
several candidates within `AMBIGUITY_MARGIN` points of the best or all holding the query's words, none
found by an exact identifier or named exactly as the query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rapidfuzz import fuzz

from commands.replies import Citation, Field, Reply
from db.lookups import Lookups
from db.names import identifier_key
from db.queries.entities import EntityRecord
from db.search.index import EntityHit
from db.search.phonetics import letters, sound_alike
from db.search.romanisation import romanised_alike

AMBIGUITY_MARGIN = 2.0  # points: candidates this close to the best are listed instead of one card
MAX_LISTED = 8  # candidates in a disambiguation list
_CLOSE = 70.0  # rapidfuzz ratio of a word spelled closely (db.search.scoring's cover threshold)


def is_ambiguous(key: str, hits: Sequence[EntityHit]) -> bool:
    """Whether no candidate clearly wins, so a short list is shown instead of one card.

    An exact identifier, or a name equal to the query that no other candidate shares, wins. Otherwise the
    list is shown when another candidate scores within AMBIGUITY_MARGIN points of the best, or when the
    query is part of several candidates' names (`ivanov`: a surname many listed people share).

    Args:
        key: the normalised query.
        hits: the best hit of each candidate group, best first.
    """
    if not hits or hits[0].identifier is not None:
        return False
    exact = [h for h in hits if h.matched_key == key]
    if exact:
        return len(exact) > 1
    if len(hits) > 1 and hits[1].score >= hits[0].score - AMBIGUITY_MARGIN:
        return True
    words = set(key.split())
    return sum(1 for h in hits if words <= set(h.matched_key.split())) > 1 and words <= set(
        hits[0].matched_key.split()
    )


def _word_agreement(query_word: str, name_words: list[str]) -> str:
    if query_word in name_words:
        return "exact"
    if len(query_word) == 1 and any(w.startswith(query_word) for w in name_words):
        return "initial"
    joined = {a + b for a, b in zip(name_words, name_words[1:], strict=False)}
    if query_word in joined:
        return "written together"
    if any(letters(query_word) == letters(w) or romanised_alike(query_word, w) for w in name_words):
        return "another romanisation"
    if any(sound_alike(query_word, w) for w in name_words):
        return "sounds alike"
    if any(fuzz.ratio(query_word, w) >= _CLOSE for w in name_words):
        return "spelled closely"
    return "not in the name"


def word_evidence(key: str, matched_key: str) -> str:
    """How the query's words agree with the matched name: `putin exact, poetin sounds alike`."""
    name_words = matched_key.split()
    parts = [f"{w} {_word_agreement(w, name_words)}" for w in key.split()]
    return ", ".join(parts[:8])


def identifier_label(records: Sequence[EntityRecord], key: str) -> str:
    """`Registration Number 1401029 (HK)`: the identifier of the records whose key is `key`."""
    for record in records:
        for ident in record.identifiers():
            if identifier_key(str(ident.get("number") or "")) == key:
                country = f" ({str(ident['country']).upper()})" if ident.get("country") else ""
                return f"{ident.get('type') or 'identifier'} {ident.get('number')}{country}"
        if identifier_key(record.source_key) == key:
            return f"{record.source.title} record {record.source_key}"
    return f"identifier {key}"


def feature_checks(
    records: Sequence[EntityRecord],
    *,
    country: str | None,
    schemata: frozenset[str] | None,
    matched_identifier: str | None = None,
) -> list[str]:
    """Which features agreed with the filters, and the facts to compare (birth date, registration); an
    identifier the query already matched is not repeated as a fact."""
    out = []
    countries = sorted({c for r in records for c in r.countries})
    if country:
        out.append(
            f"country {country.upper()} agrees"
            if country in countries
            else f"country {country.upper()} differs"
        )
    if schemata:
        schema = records[0].schema
        out.append(f"type {schema} agrees" if schema in schemata else f"type {schema} differs")
    births = sorted({d for r in records for d in r.birth_dates()})
    if births:
        out.append("born " + ", ".join(births[:2]))
    registrations = [
        i
        for r in records
        for i in r.identifiers()
        if i.get("kind") in ("registration", "tax")
        and identifier_key(str(i.get("number") or "")) != matched_identifier
    ]
    if registrations:
        first = registrations[0]
        out.append(f"{first.get('type') or 'registration'} {first.get('number')}")
    return out


def why_matched(
    key: str,
    hit: EntityHit,
    records: Sequence[EntityRecord],
    *,
    country: str | None = None,
    schemata: frozenset[str] | None = None,
) -> str:
    """One line: what matched (identifier or name, with its words' agreement), then the feature checks."""
    if hit.identifier is not None:
        what = f"identifier {identifier_label(records, hit.identifier)} equals the query"
    else:
        names = {n.name_id: n for r in records for n in r.names}
        matched = names.get(hit.name_id)
        shown = f"{matched.name!r} ({matched.kind})" if matched else repr(hit.matched_key)
        what = f"name {shown}: {word_evidence(key, hit.matched_key)}"
    checks = feature_checks(records, country=country, schemata=schemata, matched_identifier=hit.identifier)
    return "Why: " + "; ".join([what, *checks]) + "."


def candidate_json(hit: EntityHit, records: Sequence[EntityRecord], why: str) -> dict[str, Any]:
    """A disambiguation candidate for `--json`: ids, score, name, countries, what matched and why."""
    lead = records[0]
    return {
        "entity_ids": [r.entity_id for r in records],
        "score": hit.score,
        "name": lead.name,
        "schema": lead.schema,
        "countries": sorted({c for r in records for c in r.countries}),
        "birth_dates": sorted({d for r in records for d in r.birth_dates()}),
        "lists": sorted({lst.label for r in records for lst in r.listings}),
        "matched_key": hit.matched_key,
        "identifier": hit.identifier,
        "why": why,
    }


def _candidate_line(
    hit: EntityHit, records: Sequence[EntityRecord], why: str, lookups: Lookups | None
) -> str:
    lead = records[0]
    countries = []
    for code in sorted({c for r in records for c in r.countries}):
        country = lookups.country(code) if lookups and len(code) == 2 else None
        countries.append(country.name if country else code.upper())
    lists = "; ".join(dict.fromkeys(lst.label for r in records for lst in r.listings)) or lead.source.title
    facts = [lead.schema, ", ".join(countries) or "no country given", lists]
    return f"• {hit.score:.0f} — {lead.name} (" + ", ".join(facts) + f")\n  {why}"


def disambiguation_reply(
    query: str,
    key: str,
    groups: Sequence[tuple[EntityHit, Sequence[EntityRecord]]],
    *,
    lookups: Lookups | None,
    country: str | None = None,
    schemata: frozenset[str] | None = None,
) -> Reply:
    """The short list shown when no candidate clearly wins: name, type, country, list, date of birth or
    registration, and why each matched; the reader picks one (a longer name, country=, type=)."""
    words = set(key.split())
    close = [
        (h, g)
        for h, g in groups
        if h.score >= groups[0][0].score - AMBIGUITY_MARGIN or words <= set(h.matched_key.split())
    ][:MAX_LISTED]
    whys = [why_matched(key, h, g, country=country, schemata=schemata) for h, g in close]
    lines = [_candidate_line(h, g, w, lookups) for (h, g), w in zip(close, whys, strict=True)]
    sources: dict[tuple[str, str | None], Citation] = {}
    for _, records in close:
        for r in records:
            date = r.source.data_date or "data date unknown"
            sources.setdefault(
                (r.source.title, r.source.url),
                Citation(r.source.title, r.source.publisher, date, r.source.url),
            )
    return Reply(
        title=f"{len(close)} entities match {query!r} about as well",
        summary=[
            f"No candidate clearly wins: these score within {AMBIGUITY_MARGIN:.0f} points of the best "
            f"({close[0][0].score:.0f}/100) or carry every word of the query in their names.",
            "Add more of the name (given names, legal name), or narrow with country=, type= or list=.",
        ],
        fields=[Field("Candidates", "\n".join(lines)[:3900])],
        citations=list(sources.values()),
        numbers={
            "query": query,
            "key": key,
            "ambiguous": True,
            "candidates": [candidate_json(h, g, w) for (h, g), w in zip(close, whys, strict=True)],
        },
    )
