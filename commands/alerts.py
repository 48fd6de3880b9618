"""Watch alerts as Replies: one change in detail, or a burst of changes as one digest with a CSV.

Pure builders (`build_alert`, `build_digest`) take what db.queries.alerts loaded; `delivery_reply` loads
and builds. An alert says what changed (added, removed, or amended and how), the listing (program, date,
reference, source link) and what the database knows around the entity: other listings, owners and
subsidiaries, curated shipments, and trade in the shipments' HS codes. A digest hides no entry: the embed
summarises and previews, and the attached CSV lists every change.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from commands.replies import Attachment, Citation, Field, Reply
from db.lookups import Lookups
from db.queries.alerts import ChangeView, Enrichment, load_changes, load_enrichment
from db.queries.entities import EntityRecord
from db.queries.entity_links import ShipmentSummary, relation_words

VERBS = {"added": "Newly listed", "removed": "Delisted", "amended": "Listing amended"}
TEST_BANNER = "TEST ALERT: a sample built from the last real change; nothing new has happened."
DIGEST_PREVIEW = 15
PREVIEW_CHARS = 950  # one embed field holds 1024; markdown escaping may add a few characters
CSV_COLUMNS = [
    "change",
    "source",
    "entry",
    "name",
    "type",
    "countries",
    "programs",
    "listed_on",
    "reference",
    "what_changed",
    "aliases",
    "source_url",
    "file_date",
    "previous_file_date",
    "detected_at",
]


def _country_names(codes: Sequence[str], lookups: Lookups | None) -> str:
    if not codes:
        return "country not stated"
    names = []
    for code in codes:
        country = lookups.country(code) if lookups else None
        names.append(f"{country.name} ({code})" if country else code)
    return ", ".join(names)


def _short(value: Any, limit: int = 160) -> str:
    text = (
        value
        if isinstance(value, str)
        else ", ".join(map(str, value))
        if isinstance(value, list)
        else str(value)
    )
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_change(view: ChangeView) -> list[str]:
    """Lines saying what changed: the new entry, the delisting, or each amended field (old -> new)."""
    when = f"in the {view.data_date} file" if view.data_date else "in the latest file"
    before = f" (compared with {view.previous_data_date})" if view.previous_data_date else ""
    if view.change == "added":
        again = " again (it had been delisted before)" if view.details.get("relisted") else ""
        return [f"New entry {view.entity_key} on {view.source_title}{again}, {when}{before}."]
    if view.change == "removed":
        return [f"Entry {view.entity_key} is no longer on {view.source_title} {when}{before}."]
    lines = [f"Entry {view.entity_key} changed {when}{before}:"]
    changed = view.details.get("changed") or {}
    for name, diff in list(changed.items())[:12]:
        if isinstance(diff, dict) and ("added" in diff or "removed" in diff):
            parts = [f"+ {_short(v)}" for v in diff.get("added") or []][:4]
            parts += [f"- {_short(v)}" for v in diff.get("removed") or []][:4]
            lines.append(f"{name}: " + "; ".join(parts))
        elif isinstance(diff, dict):
            lines.append(
                f"{name}: {_short(diff.get('old') or '(none)')} -> {_short(diff.get('new') or '(none)')}"
            )
    if len(changed) > 12:
        lines.append(f"and {len(changed) - 12} more fields")
    return lines


def _listing_lines(view: ChangeView) -> list[str]:
    lines = []
    for listing in view.listings[:4]:
        parts = [f"{listing.authority} {listing.list_name}".strip() or view.source_title]
        if listing.program:
            parts.append(f"program {listing.program}")
        parts.append(f"listed {listing.listed_on}" if listing.listed_on else "listing date not stated")
        if listing.reference:
            parts.append(f"reference {listing.reference}")
        if listing.source_url:
            parts.append(listing.source_url)
        lines.append(" · ".join(parts))
    if not lines:
        programs = ", ".join(view.programs) or "not stated"
        lines.append(f"{view.source_title} · program {programs} · listing date not stated")
    if view.source_url and not any(view.source_url in line for line in lines):
        lines.append(f"Source: {view.source_url}")
    return lines


def _identity_lines(view: ChangeView) -> list[str]:
    props = view.properties or {}
    lines = []
    if view.aliases:
        more = f" (+{len(view.aliases) - 6} more)" if len(view.aliases) > 6 else ""
        lines.append("Also known as: " + "; ".join(view.aliases[:6]) + more)
    for address in (props.get("addresses") or [])[:3]:
        if isinstance(address, dict):
            text = address.get("full") or ", ".join(
                str(address[k]) for k in ("street", "city", "country_name") if address.get(k)
            )
            if text:
                lines.append(f"Address: {_short(text)}")
    for ident in (props.get("identifiers") or [])[:4]:
        if isinstance(ident, dict) and ident.get("number"):
            where = f" ({str(ident['country']).upper()})" if ident.get("country") else ""
            lines.append(f"{ident.get('type') or 'Identifier'}: {ident['number']}{where}")
    if props.get("remarks"):
        lines.append(f"Remarks: {_short(props['remarks'], 300)}")
    return lines


def _other_listing_line(record: EntityRecord) -> str:
    labels = list(dict.fromkeys(listing.label for listing in record.listings))
    line = f"{record.source.title}: {record.name} (entry {record.source_key})"
    if labels:
        line += ", " + "; ".join(labels[:3])
    return line + ("" if record.active else ", delisted")


def _shipment_lines(s: ShipmentSummary) -> list[str]:
    total = f", ${s.total_value_usd:,.0f} in total ({s.valued} with a value)" if s.total_value_usd else ""
    span = f", {s.first} to {s.last}" if s.first else ""
    lines = [f"{s.count:,} shipments{total}{span}"]
    if s.top_hs:
        lines.append("HS codes: " + ", ".join(f"{hs} ({n})" for hs, n, _ in s.top_hs))
    if s.counterparties:
        lines.append("With: " + ", ".join(f"{name} ({n})" for name, n in s.counterparties))
    lines.extend(s.items)
    lines.append("Source: " + "; ".join(c.source_title for c in s.cited))
    return lines


def _enrichment_fields(enrichment: Enrichment, lookups: Lookups | None) -> list[Field]:
    fields = []
    if enrichment.other_listings:
        lines = [_other_listing_line(r) for r in enrichment.other_listings]
        fields.append(Field("Other listings of the same entity", "\n".join(lines)))
    if enrichment.links:
        lines = [
            f"{relation_words(lk.kind, lk.outgoing, lk.details)} {lk.other_name} ({lk.cited.source_title})"
            for lk in enrichment.links
        ]
        fields.append(Field("Owners, subsidiaries and links", "\n".join(lines)))
    if enrichment.shipments:
        fields.append(Field("Curated shipments", "\n".join(_shipment_lines(enrichment.shipments))))
    if enrichment.trade:
        lines = []
        for t in enrichment.trade:
            reporter = lookups.country_name(t.reporter) if lookups else str(t.reporter)
            partner = lookups.country_name(t.partner) if lookups else str(t.partner)
            lines.append(
                f"HS {t.hs_code}: {reporter} exports to {partner}, {t.year} ({t.months} months): "
                f"${t.value_usd:,.0f} ({t.source_title}, data {t.data_date or 'date not stated'})"
            )
        fields.append(Field("Trade in its HS codes", "\n".join(lines)))
    return fields


def _citations(view: ChangeView, enrichment: Enrichment | None = None) -> list[Citation]:
    note = f"change detected {view.detected_at:%Y-%m-%d %H:%M} UTC"
    out = [Citation(view.source_title, view.publisher, view.data_date, view.source_url, note)]
    extra: list[Citation] = []
    if enrichment:
        extra += [
            Citation(r.source.title, r.source.publisher, r.source.data_date, r.source.url)
            for r in enrichment.other_listings
        ]
        extra += [
            Citation(c.source_title, c.publisher, c.data_date, c.source_url)
            for c in (enrichment.shipments.cited if enrichment.shipments else [])
        ]
        extra += [Citation(t.source_title, t.publisher, t.data_date) for t in enrichment.trade]
    seen = {(c.source, c.publisher, c.data_date) for c in out}
    for cite in extra:
        if (cite.source, cite.publisher, cite.data_date) not in seen:
            seen.add((cite.source, cite.publisher, cite.data_date))
            out.append(cite)
    return out


def build_alert(
    view: ChangeView, enrichment: Enrichment, *, lookups: Lookups | None = None, test: bool = False
) -> Reply:
    """The alert for one change.

    Args:
        view: the change with its listing facts.
        enrichment: what the database knows around the entity.
        lookups: country names (optional).
        test: label it as a test alert (`/watch test`).
    """
    kind = (view.schema or "entity").lower()
    summary = [TEST_BANNER] if test else []
    summary.append(f"{kind} · {_country_names(view.countries, lookups)}")
    if view.programs:
        summary.append("Program: " + ", ".join(view.programs))
    fields = [
        Field("What changed", "\n".join(describe_change(view))),
        Field("Listing", "\n".join(_listing_lines(view))),
    ]
    identity = _identity_lines(view)
    if identity:
        fields.append(Field("Identity", "\n".join(identity)))
    fields.extend(_enrichment_fields(enrichment, lookups))
    title = f"{'[TEST] ' if test else ''}{VERBS.get(view.change, view.change)}: {view.name}"
    numbers = {
        "kind": "alert",
        "test": test,
        "change": view.change,
        "change_id": view.change_id,
        "source": view.source_key,
        "entry": view.entity_key,
        "name": view.name,
        "countries": view.countries,
    }
    return Reply(
        title=title, summary=summary, fields=fields, citations=_citations(view, enrichment), numbers=numbers
    )


def _csv_row(view: ChangeView) -> list[str]:
    listing = view.listings[0] if view.listings else None
    what = "" if view.change != "amended" else "; ".join(describe_change(view)[1:])
    return [
        view.change,
        view.source_key,
        view.entity_key,
        view.name,
        view.schema or "",
        " ".join(view.countries),
        "; ".join(view.programs),
        listing.listed_on or "" if listing else "",
        listing.reference or "" if listing else "",
        what,
        "; ".join(view.aliases),
        (listing.source_url if listing else None) or view.source_url or "",
        view.data_date or "",
        view.previous_data_date or "",
        view.detected_at.isoformat(),
    ]


def digest_csv(views: Sequence[ChangeView]) -> bytes:
    """Every change of a digest, one row each (UTF-8 with BOM so spreadsheets read the names)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for view in views:
        writer.writerow([_csv_cell(cell) for cell in _csv_row(view)])
    return buffer.getvalue().encode("utf-8-sig")


def _csv_cell(text: str) -> str:
    # Names come from public lists: a cell starting with = + - @ would open as a spreadsheet formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _counted(counter: Counter[str], limit: int = 8) -> str:
    parts = [f"{key} {n:,}" for key, n in counter.most_common(limit)]
    if len(counter) > limit:
        parts.append(f"{len(counter) - limit} more")
    return ", ".join(parts)


def _preview(views: Sequence[ChangeView], budget: int = PREVIEW_CHARS) -> list[str]:
    """The first entries, one line each, as many as fit one embed field (+ added, - removed, ~ amended)."""
    lines: list[str] = []
    for v in views[:DIGEST_PREVIEW]:
        mark = {"added": "+", "removed": "-"}.get(v.change, "~")
        line = _short(
            f"{mark} {v.name} ({v.entity_key}{', ' + ' '.join(v.countries) if v.countries else ''})", 120
        )
        if sum(len(x) + 1 for x in lines) + len(line) > budget:
            break
        lines.append(line)
    return lines


def build_digest(views: Sequence[ChangeView], *, test: bool = False) -> Reply:
    """One message for a burst of changes: counts, a preview, and a CSV with every entry.

    Args:
        views: the changes (one source and snapshot, normally).
        test: label it as a test.
    """
    first = views[0]
    counts = Counter(v.change for v in views)
    filename = f"changes-{first.source_key}-{first.data_date or f'{first.detected_at:%Y-%m-%d}'}.csv"
    what = ", ".join(f"{counts[k]:,} {k}" for k in ("added", "removed", "amended") if counts[k])
    summary = [TEST_BANNER] if test else []
    summary.append(
        f"{len(views):,} changes on {first.source_title} in the {first.data_date or 'latest'} file"
        + (f" (compared with {first.previous_data_date})" if first.previous_data_date else "")
        + f". Every entry is in the attached {filename}."
    )
    programs = Counter(p for v in views for p in v.programs or ["(no program)"])
    countries = Counter(c for v in views for c in v.countries or ["(not stated)"])
    types = Counter((v.schema or "(not stated)") for v in views)
    summary += [
        f"By program: {_counted(programs)}",
        f"By country: {_counted(countries)}",
        f"By type: {_counted(types)}",
    ]
    preview = _preview(views)
    more = len(views) - len(preview)
    name = f"First {len(preview)} of {len(views):,}" + (f" ({more:,} more in the CSV)" if more > 0 else "")
    sources = {(v.source_title, v.publisher, v.data_date, v.source_url) for v in views}
    citations = [
        Citation(t, p, d, u, "changes between two snapshots of the list")
        for t, p, d, u in sorted(sources, key=str)
    ]
    return Reply(
        title=f"{'[TEST] ' if test else ''}{first.source_title}: {what}",
        summary=summary,
        fields=[Field(name, "\n".join(preview))],
        citations=citations,
        attachments=[Attachment(filename, digest_csv(views), f"All {len(views):,} changes, one per row")],
        numbers={
            "kind": "digest",
            "test": test,
            "count": len(views),
            "by_change": dict(counts),
            "entries": [[v.source_key, v.entity_key, v.change] for v in views],
        },
    )


async def delivery_reply(
    session: AsyncSession,
    change_ids: Sequence[int],
    *,
    digest: bool,
    lookups: Lookups | None = None,
    test: bool = False,
) -> Reply | None:
    """Load the changes and build the alert (one change) or the digest (several).

    Returns:
        The Reply, or None when none of the changes exists any more.
    """
    views = await load_changes(session, change_ids)
    if not views:
        return None
    if digest or len(views) > 1:
        return build_digest(views, test=test)
    view = views[0]
    codes = [c.code for c in (lookups.country(iso) if lookups else None for iso in view.countries) if c]
    enrichment = await load_enrichment(session, view, reporter_codes=codes)
    return build_alert(view, enrichment, lookups=lookups, test=test)
