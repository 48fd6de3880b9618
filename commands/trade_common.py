"""Pieces shared by /exports and /top: number formats, citations, CHPL notes, source and level explanations,
the codes a source does not hold, on-demand fetching and the honest "no data" answer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from commands.context import Context
from commands.errors import NoData
from commands.measures import fmt_usd as fmt_usd  # re-exported: other commands format dollars from here
from commands.replies import Citation
from commands.resolve import ResolvedCommodity
from db.lookups import Country, Lookups
from db.queries import hs as hsq
from db.queries import trade as tq
from db.queries import trade_sources
from db.queries.trade import SourceCoverage, TradeScope
from db.queries.trade_sources import LoadedSource, SnapshotInfo
from db.sources import SOURCES

log = logging.getLogger(__name__)

FLOW_WORDS = {"X": ("exports", "to"), "M": ("imports", "from")}
NOTES_FIELD = "Notes"  # the field trade answers gather extra notes in (e.g. anomaly flags)
LEVEL_NAMES = {
    0: "all goods",
    2: "HS-2 chapters",
    4: "HS-4 headings",
    6: "HS-6 subheadings",
    8: "national 8-digit lines",
    10: "national 10-digit lines",
}
RUSSIA = 643
RUSSIA_STOPPED = 2022  # the year Russia stopped publishing detailed customs statistics


def fmt_pct(value: float | None) -> str:
    """`+34.5%` / `-2.0%`; `n/a` for None."""
    return "n/a" if value is None else f"{value:+,.1f}%"


def fmt_multiple(value: float | None) -> str:
    """`2.3x`, `412x`; `n/a` for None."""
    if value is None:
        return "n/a"
    return f"{value:,.0f}x" if value >= 100 else f"{value:,.1f}x"


def period_label(period: int) -> str:
    """202303 -> `2023-03`; 202300 (annual) -> `2023`."""
    year, month = divmod(period, 100)
    return f"{year}" if month == 0 else f"{year}-{month:02d}"


def possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def flow_phrase(reporter: Country, flow: str, partner: Country | None = None) -> str:
    """`China's exports to Russia` / `China's imports from Russia` / `China's exports`."""
    noun, prep = FLOW_WORDS[flow]
    text = f"{possessive(reporter.name)} {noun}"
    return f"{text} {prep} {partner.name}" if partner else text


def chpl_summary(lookups: Lookups, codes: Sequence[str]) -> tuple[str, dict[str, list[str]]]:
    """The CHPL tiers of the codes summed (or the CHPL codes within them), as a line and a dict."""
    chpl = lookups.chpl
    tiers: dict[str, list[str]] = {}
    for code in codes:
        for tier, hits in chpl.tiers_within(code).items():
            tiers.setdefault(tier, [])
            tiers[tier].extend(h for h in hits if h not in tiers[tier])
    if not tiers:
        return f"Not on the Common High Priority List (version {chpl.version}).", {}
    titles = {t.tier: t.title for t in chpl.tiers}
    parts = [f"tier {tier} ({titles.get(tier, '')}): {', '.join(hits)}" for tier, hits in tiers.items()]
    return f"CHPL {chpl.version}: " + "; ".join(parts), tiers


def chart_source_line(citations: Sequence[Citation], fallback: str) -> str:
    """A short source line for a chart: source titles, data dates and the mirror-data note."""
    if not citations:
        return f"Source: {fallback}"
    parts = [f"{c.source}, data {c.data_date}" if c.data_date else c.source for c in citations]
    note = citations[0].note
    return "Source: " + "; ".join(parts) + (f". {note[0].upper()}{note[1:]}." if note else ".")


def short_codes(codes: Sequence[str], limit: int = 40) -> str:
    """`250410 + 380110`, or `845610 + 845620 + … (12 codes)` when long."""
    text = " + ".join(codes)
    if len(text) <= limit:
        return text
    kept: list[str] = []
    for code in codes:
        if len(" + ".join([*kept, code])) > limit - 14:
            break
        kept.append(code)
    return " + ".join(kept) + f" + … ({len(codes)} codes)"


def source_is_trade(source: LoadedSource) -> bool:
    """A registry trade source, or a table loaded by the trade CSV importer under its own key."""
    registered = SOURCES.get(source.key)
    return (registered is not None and registered.kind == "trade") or source.trade_csv


def reported_by(reporter: Country, year: int | None = None) -> str:
    """Who reported the figures: the reporter named in the flow (never "mirror": that is the partner's report
    of the same flow, and answers name that reporter instead)."""
    note = f"reported by {reporter.name}"
    if reporter.code == RUSSIA and (year is None or year >= RUSSIA_STOPPED):
        note += (
            f" (Russia stopped publishing detailed customs statistics in {RUSSIA_STOPPED}; "
            "check the publisher's notes on how later years were compiled)"
        )
    return note


def trade_citations(
    infos: Sequence[SnapshotInfo],
    reporter: Country,
    partner: Country | None = None,
    *,
    year: int | None = None,
) -> list[Citation]:
    """One citation per source used: title, publisher, data date of its newest snapshot, who reported it."""
    note = reported_by(reporter, year)
    out: dict[str, Citation] = {}
    for info in infos:  # newest first
        if info.source_key in out:
            continue
        date = info.data_date or f"loaded {info.fetched_at}"
        out[info.source_key] = Citation(info.source_title, info.publisher, date, info.url, note)
    return list(out.values())


async def family_absent(
    session: AsyncSession,
    source_id: int,
    scope: TradeScope,
    commodity: ResolvedCommodity,
    levels: dict[str, int],
    answered: Sequence[str] = (),
) -> list[str]:
    """HS-6 codes of the commodity's family that the source holds no row of for the reporter and flow.

    `answered`: codes the answer itself summed (held, so not asked about again).

    A requested HS-6 code, or a heading answered from its subheadings (not its own row), is checked; a
    heading the source holds as a row of its own covers its whole family. E.g. graphite (2504 + 380110) in
    the China HS-6 table: `250490 Natural graphite; other than in powder or in flakes`.
    """
    if commodity.is_total:
        return []
    candidates: list[str] = []
    for prefix in commodity.codes:
        if len(prefix) >= 6:
            candidates.append(prefix[:6])
        elif levels.get(prefix, 99) > len(prefix):
            entries = await hsq.codes_with_prefix(session, prefix, limit=80)
            candidates += [e.code for e in entries if e.level == 6]
    candidates = [c for c in dict.fromkeys(candidates) if c not in set(answered)]
    if not candidates:
        return []
    held = await tq.codes_held(session, source_id, scope.reporter, scope.flow, candidates)
    absent = [c for c in dict.fromkeys(candidates) if c not in held]
    names = await hsq.get_codes(session, absent)
    return [f"{c} {names[c].description}" if c in names else c for c in absent]


def coverage_words(c: SourceCoverage, year: int) -> str:
    return f"annual total for {year}" if c.freq == "A" else f"{c.periods} of 12 months of {year}"


def source_choice_text(chosen: SourceCoverage, coverages: Sequence[SourceCoverage], year: int) -> str:
    """Which source answers and why, naming the others that hold the same flows (never added together)."""
    text = f"{chosen.source_title} ({coverage_words(chosen, year)})"
    others = [c for c in coverages if (c.source_id, c.freq) != (chosen.source_id, chosen.freq)]
    if not others:
        return text
    best_other = max(others, key=lambda c: c.periods)
    if chosen.freq != best_other.freq:
        why = "monthly detail" if chosen.freq == "M" else "a complete year"
    elif chosen.periods > best_other.periods:
        why = "the most complete coverage"
    else:
        why = "equal coverage; the publisher's own data is preferred to tables derived from it"
    listed = "; ".join(f"{c.source_title} ({coverage_words(c, year)})" for c in others)
    return f"{text}. Also loaded: {listed}. Sources are never added together; chosen for {why}."


LEVEL_RULE = "One HS level per requested code (the coarsest this source holds), so nothing is counted twice."


def level_text(present: dict[str, list[int]], chosen: dict[str, int], codes: Sequence[str]) -> str:
    """Per requested code: the codes summed under it, their level, and the finer rows left out.

    E.g. `2504 → 250410 (HS-6 subheadings); 380110 → 380110 (HS-6 subheadings)`.
    """
    parts = []
    for prefix, level in chosen.items():
        under = [c for c in codes if c.startswith(prefix)]
        shown = ", ".join(under[:8]) + (f" … ({len(under)} codes)" if len(under) > 8 else "")
        part = f"{prefix} → {shown or 'none'} ({LEVEL_NAMES.get(level, f'{level}-digit codes')}"
        finer = [lv for lv in present.get(prefix, []) if lv != level]
        if finer:
            names = ", ".join(LEVEL_NAMES.get(lv, f"{lv}-digit lines") for lv in finer)
            part += f"; its {names} are inside these and were not added again"
        parts.append(part + ")")
    return "; ".join(parts) + ". " + LEVEL_RULE


def uniform_level(chosen: dict[str, int]) -> int | None:
    levels = set(chosen.values())
    return levels.pop() if len(levels) == 1 else None


async def fetch_if_possible(ctx: Context, scope: TradeScope, years: Sequence[int]) -> tuple[int, str | None]:
    """Ask the on-demand fetcher (UN Comtrade) for the missing flows, if one is configured.

    Returns:
        (rows loaded, a note for the user when the fetch failed or found nothing).
    """
    if ctx.fetch_trade is None:
        return 0, None
    try:
        loaded = await ctx.fetch_trade(
            ctx.session, scope.reporter, scope.partner, scope.flow, list(scope.prefixes), list(years)
        )
    except Exception as exc:  # the fetch is a best effort: the answer says it failed and why
        log.warning("on-demand trade fetch failed: %s", exc)
        log.debug("on-demand trade fetch failure", exc_info=True)
        return 0, f"Fetching from UN Comtrade failed ({str(exc)[:200]})."
    if not loaded:
        return 0, "UN Comtrade was asked and returned no rows for this."
    return int(loaded), None


async def no_data_error(
    ctx: Context,
    scope: TradeScope,
    what: str,
    *,
    year: int | None = None,
    fetch_note: str | None = None,
    commodity: str | None = None,
) -> NoData:
    """The honest answer when nothing is loaded: what is loaded instead (the partner's own report of the flow
    among it), and how to get the data. `commodity`: the words typed, to write the command for the other side."""
    session, lookups = ctx.session, ctx.lookups
    years = await tq.years_with_data(session, scope)
    where = f" in {year}" if year else ""
    if years:
        message = f"No data for {what}{where}. Years with data: {_year_ranges(years)}."
        return NoData(message, fetch_note)
    lines = [f"No data for {what}{where} in any loaded source."]
    other_side = await _other_side(ctx, scope, commodity, year)
    if other_side:
        lines.append(other_side)
    if scope.partner is not None:
        codes, first, last = await tq.pair_holdings(session, scope.reporter, scope.partner, scope.flow)
        pair = f"{lookups.country_name(scope.reporter)} → {lookups.country_name(scope.partner)}"
        if codes:
            lines.append(
                f"For {pair} the database holds HS {', '.join(codes)} "
                f"({period_label(first or 0)} to {period_label(last or 0)})."
            )
        else:
            lines.append(f"The database holds no {FLOW_WORDS[scope.flow][0]} at all for {pair}.")
    loaded = [s for s in await trade_sources.loaded_sources(session) if source_is_trade(s)]
    if loaded:
        lines.append(
            "Trade sources loaded: " + "; ".join(f"{s.title} ({s.rows_loaded:,} rows)" for s in loaded) + "."
        )
    else:
        lines.append("No trade source is loaded yet.")
    if fetch_note:
        lines.append(fetch_note)
    years = [year - 1, year] if year else [ctx.now().year - 2, ctx.now().year - 1]
    return NoData(" ".join(lines), how_to_get(lookups, scope, years))


async def _other_side(ctx: Context, scope: TradeScope, commodity: str | None, year: int | None) -> str | None:
    """The same flow as the partner reports it (reporter and partner swapped, the opposite flow), if loaded."""
    if scope.partner is None or commodity is None:
        return None
    other = TradeScope(scope.partner, "M" if scope.flow == "X" else "X", scope.prefixes, scope.reporter)
    years = await tq.years_with_data(ctx.session, other)
    if not years:
        return None
    lookups = ctx.lookups
    partner, reporter = lookups.by_code.get(scope.partner), lookups.by_code.get(scope.reporter)
    if partner is None or reporter is None:
        return None
    noun, prep = FLOW_WORDS[other.flow]
    when = f" {year}" if year in years else ""
    command = (
        f"/exports {commodity} {reporter.iso2 or reporter.code}{when} "
        f"reporter={partner.iso2 or partner.code} flow={noun}"
    )
    return (
        f"The other side of this flow is loaded: {possessive(partner.name)} {noun} {prep} {reporter.name} as "
        f"{partner.name} reports them ({_year_ranges(years)}). Ask: `{command}`."
    )


def how_to_get(lookups: Lookups, scope: TradeScope, years: Sequence[int]) -> str:
    """The command that loads the missing flows from UN Comtrade (and the mirror flow when Russia reports)."""

    def name(code: int) -> str:
        country = lookups.by_code.get(code)
        return (country.iso2 if country and country.iso2 else str(code)) if country else str(code)

    options = [f"--reporter {name(scope.reporter)}"]
    if scope.partner is not None:
        options.append(f"--partner {name(scope.partner)}")
    if scope.prefixes:
        options.append(f"--cmd {','.join(scope.prefixes)}")
    options += [f"--period {','.join(str(y) for y in years)}", "--freq M", f"--flow {scope.flow}"]
    hint = (
        "Get it from UN Comtrade: `tradewatch import comtrade --api " + " ".join(options) + "` "
        "(uses COMTRADE_API_KEY if set, else the key-less preview API), or load a downloaded response with "
        "`tradewatch import comtrade FILE.json`."
    )
    if scope.reporter == RUSSIA and scope.partner is not None:
        opposite = "imports" if scope.flow == "X" else "exports"
        hint += (
            " Russia has not published customs statistics since 2022: ask for the mirror flow as the partner "
            f"reports it, e.g. `/exports <commodity> RU reporter={name(scope.partner)} flow={opposite}`."
        )
    return hint


def _year_ranges(years: Sequence[int]) -> str:
    """[2017, 2018, 2019, 2021] -> `2017–2019, 2021`."""
    out: list[str] = []
    start = prev = years[0]
    for y in [*years[1:], None]:
        if y is not None and y == prev + 1:
            prev = y
            continue
        out.append(f"{start}" if start == prev else f"{start}–{prev}")
        if y is not None:
            start = prev = y
    return ", ".join(out)
