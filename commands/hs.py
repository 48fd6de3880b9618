"""`/hs <words or code>`: HS codes with descriptions, level, parent heading, the aliases that point there and
the CHPL tier; a code also lists its subheadings (capped). Needs the HS nomenclature loaded
(`tradewatch import hs FILE`); without it, only aliases and the CHPL can be shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from commands.context import Context
from commands.errors import InvalidInput, NoData, NotFound
from commands.hs_aliases import alias_list_reply, wants_alias_list
from commands.parse import CommandLine
from commands.replies import Attachment, Citation, Field, Reply
from commands.resolve import (
    DescriptionMatch,
    alias_suggestions,
    code_digits,
    describe,
    description_index,
    typo_alias,
)
from commands.tables import csv_bytes
from db.lookups import Commodity, Lookups
from db.queries import hs as hsq
from db.queries.hs import HsEntry
from db.queries.sources import latest_snapshot
from db.sources import SOURCES

USAGE = (
    "/hs <words or code>, e.g. /hs aluminium oxide or /hs 8542; /hs aliases lists every alias with its codes"
)
MAX_MATCHES = 10
MAX_SUBHEADINGS = 25
LOAD_HINT = "Load the HS nomenclature with `tradewatch import hs FILE` (the harmonized-system.csv format)."


@dataclass(frozen=True)
class HsParams:
    """Validated arguments of /hs."""

    query: str

    @classmethod
    def build(cls, *, query: str | None, lookups: Lookups | None = None) -> HsParams:
        """Validate the query.

        Raises:
            InvalidInput: empty or too long.
        """
        text = " ".join((query or "").split())
        if not text:
            raise InvalidInput("Nothing to look up.", f"Usage: {USAGE}")
        if len(text) > 100:
            raise InvalidInput("The query is too long.", "Use a few words or an HS code.")
        return cls(text)


def parse_hs(line: CommandLine, lookups: Lookups) -> HsParams:
    """Parse `/hs aluminium oxide`, `/hs 8542` or `/hs query="ball bearings"`."""
    unknown = sorted(set(line.options) - {"query"})
    if unknown:
        raise InvalidInput(f"Unknown option {unknown[0]}=.", f"Usage: {USAGE}")
    return HsParams.build(query=line.options.get("query") or " ".join(line.words), lookups=lookups)


def aliases_for(lookups: Lookups, code: str) -> list[str]:
    """Commodity aliases whose codes are this code, contain it, or fall under it."""
    out = []
    for commodity in lookups.commodities:
        if any(c.startswith(code) or code.startswith(c) for c in commodity.codes):
            out.append(commodity.key)
    return out


def _chpl_text(lookups: Lookups, code: str) -> str | None:
    tiers = lookups.chpl.tiers_within(code)
    if not tiers:
        return None
    return "; ".join(
        f"tier {t}: {', '.join(codes)}" if codes != [code] else f"tier {t}" for t, codes in tiers.items()
    )


def _entry_numbers(lookups: Lookups, entry: HsEntry, parents: dict[str, HsEntry]) -> dict[str, object]:
    parent = parents.get(entry.parent or "")
    return {
        "code": entry.code,
        "description": entry.description,
        "level": entry.level,
        "parent": entry.parent,
        "parent_description": parent.description if parent else None,
        "section": entry.section,
        "aliases": aliases_for(lookups, entry.code),
        "chpl": lookups.chpl.tiers_within(entry.code),
    }


def _entry_line(lookups: Lookups, entry: HsEntry, parents: dict[str, HsEntry]) -> str:
    parts = [f"{entry.code} — {entry.description} (HS-{entry.level}"]
    parent = parents.get(entry.parent or "")
    parts[0] += f", under {describe(parent, 45)})" if parent else ")"
    aliases = aliases_for(lookups, entry.code)
    if aliases:
        parts.append("aliases: " + ", ".join(aliases[:4]))
    chpl = _chpl_text(lookups, entry.code)
    if chpl:
        parts.append(f"CHPL {chpl}")
    return " · ".join(parts)


async def _citations(ctx: Context, *, hs_used: bool) -> list[Citation]:
    chpl = ctx.lookups.chpl
    out = []
    if hs_used:
        snapshot = await latest_snapshot(ctx.session, "hs")
        info = SOURCES["hs"]
        date = (
            (snapshot.data_date or f"loaded {snapshot.fetched_at.date().isoformat()}") if snapshot else None
        )
        out.append(Citation(info.title, info.publisher, date, info.url))
    out.append(Citation(chpl.name, chpl.publisher, chpl.version, chpl.url))
    out.append(
        Citation(
            "Tradewatch commodity aliases",
            "the team's commodities.yml",
            ctx.lookups.commodity_version or None,
        )
    )
    return out


async def run_hs(ctx: Context, params: HsParams) -> Reply:
    """Look up HS codes by code or words.

    Raises:
        InvalidInput: a code of the wrong length. NotFound: nothing matches (with suggestions).
        NoData: the HS nomenclature is not loaded and the query is not an alias.
    """
    if wants_alias_list(params.query):
        return alias_list_reply(ctx.lookups)
    loaded = await hsq.nomenclature_loaded(ctx.session)
    digits = code_digits(params.query)
    if digits is not None:
        return await _code_reply(ctx, digits, loaded)
    return await _words_reply(ctx, params.query, loaded)


def _national_note(digits: str) -> tuple[str, str | None]:
    """An 8/10-digit national line is shown as its HS-6 subheading, with a note; other lengths are checked."""
    if len(digits) in (8, 10):
        return digits[
            :6
        ], f"{digits} is a national tariff line; the HS covers 6 digits, so this shows HS {digits[:6]}."
    if len(digits) not in (2, 4, 6):
        raise InvalidInput(
            f"{digits!r} is not an HS code.", "HS codes have 2, 4 or 6 digits, e.g. 85, 8542, 854231."
        )
    return digits, None


async def _subheadings(ctx: Context, code: str) -> tuple[list[HsEntry], int, Field | None]:
    """The first subheadings of a code, their total, and the field listing them (with CHPL tiers)."""
    kids = await hsq.children(ctx.session, code, limit=MAX_SUBHEADINGS)
    total = await hsq.count_children(ctx.session, code) if len(kids) == MAX_SUBHEADINGS else len(kids)
    if not kids:
        return kids, total, None
    shown = f" (first {len(kids)} of {total})" if total > len(kids) else ""
    lines = [
        f"{k.code} {k.description[:90]}" + (f" · CHPL {t}" if (t := _chpl_text(ctx.lookups, k.code)) else "")
        for k in kids
    ]
    return kids, total, Field(f"Subheadings{shown}", "\n".join(lines))


async def _code_reply(ctx: Context, typed: str, loaded: bool) -> Reply:
    digits, note = _national_note(typed)
    if not loaded:
        chpl = _chpl_text(ctx.lookups, digits)
        known = f" Known without it: CHPL {chpl}." if chpl else ""
        raise NoData(
            f"The HS nomenclature is not loaded, so HS {digits} cannot be described.{known}", LOAD_HINT
        )
    entry = await hsq.get_code(ctx.session, digits)
    if entry is None:
        near = await hsq.nearest_codes(ctx.session, digits)
        raise NotFound(f"HS {digits} is not in the HS nomenclature.", [describe(e, 50) for e in near])
    parents = await hsq.get_codes(ctx.session, [p for p in (entry.parent,) if p])
    kids, total, field = await _subheadings(ctx, digits)
    numbers = {
        "query": digits,
        "matches": [_entry_numbers(ctx.lookups, entry, parents)],
        "subheadings": [{"code": k.code, "description": k.description} for k in kids],
        "subheadings_total": total,
    }
    return Reply(
        title=f"HS {entry.code}: {entry.description[:200]}",
        summary=[line for line in (note, _entry_line(ctx.lookups, entry, parents)) if line],
        fields=[field] if field else [],
        citations=await _citations(ctx, hs_used=True),
        numbers=numbers,
    )


def _best_matches(matches: list[DescriptionMatch], limit: int) -> list[DescriptionMatch]:
    """Codes matching every word (typos allowed), in code order so headings precede their subheadings;
    partial matches only when nothing matches every word."""
    full = [m for m in matches if m.recall >= 99]
    chosen = full if full else [m for m in matches if m.recall >= 50]
    return sorted(chosen[:limit], key=lambda m: m.entry.code)


def _alias_of(lookups: Lookups, query: str, full_match: bool) -> tuple[Commodity | None, bool]:
    """The alias typed (or misspelt, unless the words match an HS description exactly) and whether corrected."""
    commodity = lookups.commodity(query)
    if commodity is not None or full_match:
        return commodity, False
    typo = typo_alias(lookups, query)
    return (lookups.commodity(typo), True) if typo else (None, False)


async def _words_reply(ctx: Context, query: str, loaded: bool) -> Reply:
    index = await description_index(ctx.session) if loaded else None
    found = index.search(query, limit=60) if index else []
    commodity, corrected = _alias_of(ctx.lookups, query, bool(found) and found[0].recall >= 99)
    matches = _best_matches(found, MAX_MATCHES if commodity is None else 5)
    if commodity is None and not matches:
        if not loaded:
            raise NoData(
                f"{query!r} is not a commodity alias, and the HS nomenclature is not loaded to search "
                "its descriptions.",
                LOAD_HINT,
            )
        raise NotFound(
            f"No alias or HS description matches {query!r}.", alias_suggestions(ctx.lookups, query)
        )
    alias_codes = list(commodity.codes) if commodity else []
    shown = await hsq.get_codes(ctx.session, alias_codes) if loaded else {}
    entries = [shown[c] for c in alias_codes if c in shown] + [
        m.entry for m in matches if m.entry.code not in shown
    ]
    parents = await hsq.get_codes(ctx.session, {e.parent for e in entries if e.parent}) if loaded else {}
    summary, fields = _alias_part(ctx.lookups, query, commodity, corrected, shown, parents)
    others = [e for e in entries if e.code not in alias_codes]
    if others:
        title = "Other HS descriptions with these words" if commodity else "Matching HS descriptions"
        fields.append(Field(title, "\n".join(_entry_line(ctx.lookups, e, parents) for e in others)))
    if not loaded:
        summary.append("HS descriptions are not loaded: " + LOAD_HINT)
    alias = (
        {"key": commodity.key, "codes": alias_codes, "note": commodity.note, "corrected": corrected}
        if commodity
        else None
    )
    return Reply(
        title=f"HS lookup: {query}",
        summary=summary or [f"{len(entries)} HS codes match {query!r}."],
        fields=fields,
        citations=await _citations(ctx, hs_used=loaded),
        numbers={
            "query": query,
            "alias": alias,
            "matches": [_entry_numbers(ctx.lookups, e, parents) for e in entries],
        },
        attachments=[_matches_csv(ctx.lookups, entries)] if len(entries) > 3 else [],
    )


def _alias_part(
    lookups: Lookups,
    query: str,
    commodity: Commodity | None,
    corrected: bool,
    shown: dict[str, HsEntry],
    parents: dict[str, HsEntry],
) -> tuple[list[str], list[Field]]:
    """Summary lines and the field for the alias the query names (empty when it names none)."""
    if commodity is None:
        return [], []
    read = f"Read {query!r} as {commodity.key!r}. " if corrected else ""
    summary = [f"{read}Alias {commodity.key!r} → HS {', '.join(commodity.codes)}: {commodity.label}."]
    if commodity.note:
        summary.append(commodity.note)
    lines = [
        _entry_line(lookups, shown[c], parents) if c in shown else f"{c} (description not loaded)"
        for c in commodity.codes
    ]
    return summary, [Field("Codes of the alias", "\n".join(lines))]


def _matches_csv(lookups: Lookups, entries: list[HsEntry]) -> Attachment:
    rows = [
        [e.code, e.level, e.description, e.parent, ";".join(aliases_for(lookups, e.code))] for e in entries
    ]
    return Attachment(
        "hs-matches.csv",
        csv_bytes(["code", "level", "description", "parent", "aliases"], rows),
        "Matches as CSV",
    )
