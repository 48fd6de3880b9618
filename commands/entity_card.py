"""The /entity card: a group of records turned into a Reply (text kept as published; the bot escapes it).

Everything shown carries its source: each record's list and data date, each relation's source, each
curated shipment's and reported figure's own citation. `numbers` holds the same facts machine-readably.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from commands.entity_params import EntityParams
from commands.replies import Citation, Field, Reply
from commands.trade_common import fmt_usd
from db.lookups import Lookups
from db.queries.entities import EntityRecord, NameRef
from db.queries.entity_links import Cited, GroupLinks, Link, citation_items, relation_words
from db.queries.list_dates import CURATED_KEY, ListDate
from db.search.index import EntityHit

MAX_NAMES, MAX_ADDRESSES, MAX_LINKS = 12, 5, 15
REMARKS_CHARS = 400
STRONG_SCORE = 92.0  # below this the card warns that the match needs checking (see commands.entity)


@dataclass(frozen=True)
class Candidate:
    """Another entity (group of records) that matched, with its best hit."""

    records: list[EntityRecord]
    hit: EntityHit


@dataclass
class CardInput:
    """What the card is built from."""

    params: EntityParams
    key: str
    records: list[EntityRecord]
    hit: EntityHit
    links: GroupLinks
    candidates: list[Candidate] = field(default_factory=list)
    names_indexed: int = 0
    stale: bool = False
    lookups: Lookups | None = None
    why: list[str] = field(default_factory=list)  # commands.entity_match.why_matched
    lists: list[ListDate] = field(default_factory=list)  # every loaded list and its data date (as of)

    @property
    def lead(self) -> EntityRecord:
        return self.records[0]


def country_names(codes: Iterable[str], lookups: Lookups | None) -> str:
    """`China, Hong Kong` for ISO2 codes (upper-case codes where the lookups do not know them)."""
    names = []
    for code in codes:
        country = lookups.country(code) if lookups and len(code) == 2 else None
        names.append(country.name if country else code.upper())
    return ", ".join(dict.fromkeys(names))


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _source_label(record: EntityRecord) -> str:
    return f"{record.source.title} #{record.source_key}"


def _data_date(data_date: str | None, loaded_at: dt.datetime | None) -> str:
    if data_date:
        return data_date
    return f"unknown; loaded {loaded_at.date().isoformat()}" if loaded_at else "unknown"


def matched_name(card: CardInput) -> NameRef | None:
    for record in card.records:
        for name in record.names:
            if name.name_id == card.hit.name_id:
                return name
    return None


def curated(record: EntityRecord) -> bool:
    """A record of the team's curated files: its designations are cited reporting, not a list file."""
    return record.source.key == CURATED_KEY


def _status(records: list[EntityRecord], lists: list[ListDate]) -> str:
    listed = [
        lst.label + (" [curated, cited]" if curated(r) else "")
        for r in records
        if r.active
        for lst in r.listings
    ]
    if listed:
        return "listed: " + "; ".join(dict.fromkeys(listed))
    if any(not r.active for r in records):
        return "no longer on its list"
    searched = [d.text() for d in lists if not d.curated]
    return "on no loaded sanctions list" + (f" ({'; '.join(searched)})" if searched else " (none is loaded)")


def _as_of_field(records: list[EntityRecord], lists: list[ListDate]) -> Field:
    """The data date of each list the card draws on, then the other loaded lists it was searched in."""
    lines, used = [], set()
    for r in records:
        if r.source.key in used:
            continue
        used.add(r.source.key)
        if curated(r):
            dated = [
                f"{lst.label} listed {lst.listed_on}" if lst.listed_on else lst.label for lst in r.listings
            ]
            extra = f"; its designations: {', '.join(dated)} (cited reporting)" if dated else ""
            lines.append(f"• {r.source.title}: each fact dated by its citation{extra}")
        else:
            lines.append(f"• {r.source.title}: data {_data_date(r.source.data_date, r.source.loaded_at)}")
    others = [d.text() for d in lists if d.key not in used and not d.curated]
    if others:
        lines.append("Also searched: " + "; ".join(others))
    return Field("As of", "\n".join(lines))


def _names_field(records: list[EntityRecord]) -> Field:
    seen: dict[str, NameRef] = {}
    for record in records:
        for name in record.names:
            seen.setdefault(name.name, name)
    lines = [f"• {n.name} ({n.kind}, {n.script or 'no script'})" for n in list(seen.values())[:MAX_NAMES]]
    if len(seen) > MAX_NAMES:
        lines.append(f"… and {len(seen) - MAX_NAMES} more")
    return Field(f"Names and aliases ({len(seen)})", "\n".join(lines))


def _identifier_line(ident: dict[str, Any]) -> str:
    where = ident.get("country_name") or (str(ident.get("country") or "").upper() or None)
    label = ident.get("type") or ident.get("kind") or "Identifier"
    return f"{label} {ident.get('number')}" + (f" ({where})" if where else "")


def _facts_fields(records: list[EntityRecord]) -> list[Field]:
    idents = list(dict.fromkeys(_identifier_line(i) for r in records for i in r.identifiers()))
    addresses = list(dict.fromkeys(a for r in records for a in r.addresses()))
    dates = [f"Born {d}" for r in records for d in r.birth_dates()]
    dates += [f"Established {d}" for r in records for d in r.values("established")]
    websites = [str(w) for r in records for w in r.values("websites")]
    fields = []
    if idents:
        fields.append(Field("Identifiers", "\n".join(idents[:10])))
    if addresses:
        more = f"\n… and {len(addresses) - MAX_ADDRESSES} more" if len(addresses) > MAX_ADDRESSES else ""
        fields.append(Field("Addresses", "\n".join(addresses[:MAX_ADDRESSES]) + more))
    if dates or websites:
        fields.append(Field("Dates and web", "\n".join(list(dict.fromkeys(dates + websites))[:8])))
    return fields


def _listing_lines(records: list[EntityRecord]) -> list[str]:
    lines = []
    for record in records:
        for lst in record.listings:
            parts = [
                lst.authority,
                lst.list_name,
                lst.program,
                f"listed {lst.listed_on}" if lst.listed_on else None,
                f"ref. {lst.reference}" if lst.reference else None,
                lst.source_url,
            ]
            status = "" if record.active else " (no longer listed)"
            if curated(record):  # not in a loaded list file: say so, and whose reporting it rests on
                cites = citation_items({"citations": (lst.details or {}).get("citation") or []})
                by = "; ".join(_cite_item(c) for c in cites) or record.source.title
                status += f" — curated, cited: {by}"
            lines.append("• " + " — ".join(p for p in parts if p) + status)
    return list(dict.fromkeys(lines))


def _link_line(link: Link, with_source: bool) -> str:
    other = link.other.name if link.other else link.other_name
    tags = (
        "; ".join(link.other.listings)
        if link.other and link.other.listings
        else ("not listed" if link.other else "not matched to a loaded record")
    )
    source = f" — {link.cited.source_title}" if with_source else ""
    return f"• {relation_words(link.kind, link.outgoing, link.details)}: {other} [{tags}]{source}"


def _links_field(links: list[Link]) -> Field | None:
    """One line per relation, both directions (see `relation_words`), the source said once if there is one."""
    if not links:
        return None
    sources = list(dict.fromkeys(lk.cited.source_title for lk in links))
    lines = [_link_line(lk, len(sources) > 1) for lk in links[:MAX_LINKS]]
    if len(links) > MAX_LINKS:
        lines.append(f"… and {len(links) - MAX_LINKS} more (in the JSON)")
    if len(sources) == 1:
        lines.append(f"Source: {sources[0]}")
    return Field(f"Relations ({len(links)})", "\n".join(lines))


def _shipments_field(links: GroupLinks) -> Field | None:
    s = links.shipments
    if s is None:
        return None
    period = f"{s.first} to {s.last}" if s.first else "dates not given"
    value = (
        f"total {fmt_usd(s.total_value_usd)} (value known for {s.valued} of {s.count})"
        if s.valued
        else "no values given"
    )
    lines = [f"{s.count} shipment{'s' if s.count != 1 else ''}, {period}; {value}"]
    if any(code != "unknown" for code, _, _ in s.top_hs):
        lines.append("Top HS codes: " + ", ".join(f"{code} ({n})" for code, n, _ in s.top_hs))
    lines.append("Counterparties: " + ", ".join(f"{name} ({n})" for name, n in s.counterparties))
    lines += [f"• {item}" for item in s.items]
    return Field("Shipments (curated)", "\n".join(lines))


def _figures_field(links: GroupLinks) -> Field | None:
    if not links.figures:
        return None
    lines = [f"• {f.statement} — {_cite_text(f.cited)}" for f in links.figures[:6]]
    return Field("Reported figures", "\n".join(lines))


def _cite_item(item: dict[str, Any]) -> str:
    """`C4ADS, 2024-06-12` (publisher and date of one citation)."""
    return ", ".join(str(p) for p in (item.get("publisher"), item.get("date")) if p)


def _cite_text(cited: Cited) -> str:
    """`C4ADS, 2024-06-12` for a cited fact (the first citation), else the source it came from."""
    items = citation_items(cited.citation)
    if not items:
        return cited.source_title
    return _cite_item(items[0]) or cited.source_title


def _notes_field(records: list[EntityRecord]) -> Field | None:
    """Curated notes, each with who reported it."""
    lines = []
    for r in records:
        for note in r.values("notes"):
            text = note.get("text") if isinstance(note, dict) else str(note)
            cited = Cited(
                r.source.title,
                "",
                None,
                None,
                {"citations": note.get("citation") or []} if isinstance(note, dict) else None,
            )
            if text:
                lines.append(f"• {text} — {_cite_text(cited)}")
    return Field("Notes", "\n".join(dict.fromkeys(lines))[:1000]) if lines else None


def _candidate_line(c: Candidate, lookups: Lookups | None) -> str:
    r = c.records[0]
    extras = [
        r.schema,
        country_names(r.countries, lookups) or None,
        "born " + ", ".join(r.birth_dates()[:2]) if r.birth_dates() else None,
        "; ".join(dict.fromkeys(lst.label for x in c.records for lst in x.listings)) or r.source.title,
    ]
    return f"• {c.hit.score:.0f} — {r.name} (" + ", ".join(e for e in extras if e) + ")"


def _record_citation(r: EntityRecord) -> Citation:
    """The list (or curated file) a record comes from, with the data date of its snapshot."""
    if r.source.key == "curated":  # curated facts are dated by their own citations, listed after this one
        note = f"record {r.source_key}; each fact is dated by its own citation"
        return Citation(r.source.title, r.source.publisher, None, r.source.url, note)
    date = _data_date(r.source.data_date, r.source.loaded_at)
    return Citation(r.source.title, r.source.publisher, date, r.source.url, f"record {r.source_key}")


def _fact_citations(records: list[EntityRecord]) -> list[dict[str, Any]]:
    """Bibliographic citations stored on records: the record's own, its aliases', notes', identifiers'."""
    items: list[dict[str, Any]] = []
    for r in records:
        items += citation_items({"citations": r.values("citation")})
        for key, inner in (
            ("alias_citations", "citation"),
            ("notes", "citation"),
            ("identifiers", "citation"),
        ):
            for value in r.values(key):
                if isinstance(value, dict):
                    items += citation_items({"citations": value.get(inner) or []})
        for lst in r.listings:
            items += citation_items({"citations": (lst.details or {}).get("citation") or []})
    return items


def citations(card: CardInput) -> list[Citation]:
    """Each record's source (with data date), then every citation of a curated fact, link, shipment, figure."""
    out = [_record_citation(r) for r in card.records]
    cited = [lk.cited for lk in card.links.links] + [f.cited for f in card.links.figures]
    cited += card.links.shipments.cited if card.links.shipments else []
    items = _fact_citations(card.records)
    for c in cited:
        found = citation_items(c.citation)
        items += found
        if not found:  # a list's own statement (an OFAC remark): cite the list
            out.append(Citation(c.source_title, c.publisher, c.data_date or "unknown", c.source_url))
    for i in items:
        out.append(
            Citation(
                str(i.get("title") or "untitled"),
                str(i.get("publisher") or "unknown publisher"),
                str(i["date"]) if i.get("date") else "undated",
                i.get("url"),
                i.get("note"),
            )
        )
    unique: dict[tuple[str, str, str | None], Citation] = {}
    for citation in out:  # a list cited by a record and again by its relations is named once
        unique.setdefault((citation.source, citation.publisher, citation.url), citation)
    return list(unique.values())


def _summary(card: CardInput) -> list[str]:
    lead, name = card.lead, matched_name(card)
    countries = country_names(sorted({c for r in card.records for c in r.countries}), card.lookups)
    lines = [
        " · ".join(
            p for p in (lead.schema, countries or "no country given", _status(card.records, card.lists)) if p
        )
    ]
    alias = f"{name.name!r} ({name.kind}, {name.script or 'no script'})" if name else card.hit.matched_key
    lines.append(f"Matched {alias} — score {card.hit.score:.0f}/100 for {card.params.name!r}.")
    lines += card.why
    if card.hit.score < STRONG_SCORE:
        if set(card.key.split()) <= set(card.hit.matched_key.split()):
            lines.append(
                "Every word of the query is in this name, which has more: other names may contain them too."
            )
        else:
            lines.append("Possible match only: compare the names, countries and dates before relying on it.")
    if card.candidates and card.candidates[0].hit.score >= card.hit.score - 2:
        lines.append("Other entities match about as well (below): narrow with country=, type= or list=.")
    if len(card.records) > 1:
        sources = ", ".join(dict.fromkeys(_source_label(r) for r in card.records))
        lines.append(f"One entity, {len(card.records)} records: {sources}.")
    if card.stale:
        lines.append(
            "The name index is being refreshed after an import; newest names may be missing for a minute."
        )
    return lines


def build_reply(card: CardInput) -> Reply:
    """The card as a Reply: summary, fields (names, facts, listings, relations, shipments, figures, candidates)."""
    fields = [_names_field(card.records), *_facts_fields(card.records)]
    listings = _listing_lines(card.records)
    fields.append(
        Field(f"Designations ({len(listings)})", "\n".join(listings) or "None in the loaded lists.")
    )
    remarks = [str(r.properties["remarks"]) for r in card.records if r.properties.get("remarks")]
    if remarks:
        fields.append(Field("Remarks (as published)", remarks[0][:REMARKS_CHARS]))
    fields.append(_as_of_field(card.records, card.lists))
    for f in (
        _notes_field(card.records),
        _links_field(card.links.links),
        _shipments_field(card.links),
        _figures_field(card.links),
    ):
        if f is not None:
            fields.append(f)
    if card.candidates:
        fields.append(
            Field("Other candidates", "\n".join(_candidate_line(c, card.lookups) for c in card.candidates))
        )
    return Reply(
        title=card.lead.name,
        summary=_summary(card),
        fields=fields,
        citations=citations(card),
        numbers=numbers(card),
    )


def _record_json(r: EntityRecord) -> dict[str, Any]:
    return {
        "entity_id": r.entity_id,
        "source": r.source.key,
        "key": r.source_key,
        "schema": r.schema,
        "name": r.name,
        "countries": r.countries,
        "active": r.active,
        "data_date": r.source.data_date,
        "loaded_at": r.source.loaded_at,
    }


def _link_json(lk: Link) -> dict[str, Any]:
    return {
        "kind": lk.kind,
        "direction": "out" if lk.outgoing else "in",
        "name": lk.other_name,
        "entity_id": lk.other.entity_id if lk.other else None,
        "listings": list(lk.other.listings) if lk.other else [],
        "details": lk.details,
        "source": lk.cited.source_title,
        "citation": lk.cited.citation,
    }


def numbers(card: CardInput) -> dict[str, Any]:
    """The machine-readable answer: match, records, names, listings, links, shipments, candidates."""
    name = matched_name(card)
    s = card.links.shipments
    return {
        "query": card.params.name,
        "normalized_query": card.key,
        "filters": card.params.filter_text() or None,
        "match": {
            "score": card.hit.score,
            "entity_id": card.hit.entity_id,
            "name_id": card.hit.name_id,
            "matched_name": name.name if name else None,
            "matched_kind": name.kind if name else None,
            "matched_key": card.hit.matched_key,
        },
        "records": [_record_json(r) for r in card.records],
        "names": [
            {"name": n.name, "script": n.script, "kind": n.kind} for r in card.records for n in r.names
        ],
        "designations": [
            {
                "entity_id": r.entity_id,
                "authority": lst.authority,
                "list": lst.list_name,
                "program": lst.program,
                "listed_on": _date(lst.listed_on),
                "reference": lst.reference,
                "source_url": lst.source_url,
                "active": r.active,
                "curated": curated(r),
            }
            for r in card.records
            for lst in r.listings
        ],
        "relations": [_link_json(lk) for lk in card.links.links],
        "shipments": None
        if s is None
        else {
            "count": s.count,
            "first": _date(s.first),
            "last": _date(s.last),
            "total_value_usd": s.total_value_usd,
            "valued": s.valued,
            "top_hs": [{"hs_code": h, "count": n, "value_usd": v} for h, n, v in s.top_hs],
        },
        "figures": [
            {
                "subject": f.subject,
                "statement": f.statement,
                "value": f.value,
                "unit": f.unit,
                "period": f.period,
                "hs_code": f.hs_code,
                "citation": f.cited.citation,
            }
            for f in card.links.figures
        ],
        "candidates": [
            {
                "score": c.hit.score,
                "entity_ids": [r.entity_id for r in c.records],
                "name": c.records[0].name,
                "schema": c.records[0].schema,
                "countries": c.records[0].countries,
                "birth_dates": c.records[0].birth_dates(),
                "sources": [r.source.key for r in c.records],
            }
            for c in card.candidates
        ],
        "index": {"names": card.names_indexed, "stale": card.stale},
        "as_of": [{"source": d.key, "title": d.title, "data_date": d.data_date} for d in card.lists],
    }
