"""Trade movers for /brief: the focus commodities to the focus partners, latest months against their bases.

The comparison reuses commands.basis (the one missing-months rule, the trailing 12 months); the thresholds are
commands.anomalies'. One source answers (db.queries.trade.choose_source, monthly preferred) and one level per
HS prefix is summed (the no-double-counting rule), as in /exports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from commands.anomalies import MIN_BASE_USD_PER_MONTH, SPAN_MONTHS, TOP_MOVERS
from commands.basis import TRAILING_MONTHS, Comparison, compare, fmt_times, make_basis, shift
from commands.context import Context
from commands.focus import Focus
from commands.measures import VALUE
from commands.replies import Citation
from commands.trade_common import trade_citations
from db.queries.movers import partner_code_values
from db.queries.trade import (
    Amount,
    TradeScope,
    choose_source,
    coarsest_levels,
    latest_period,
    levels_present,
    source_coverage,
)
from db.queries.trade_sources import snapshot_infos


@dataclass(frozen=True)
class FocusGroup:
    """A focus commodity: a CHPL tier or one of the team's aliases, and the HS prefixes it sums."""

    key: str
    label: str
    prefixes: tuple[str, ...]


def focus_groups(focus: Focus, lookups: Any) -> tuple[list[FocusGroup], list[str]]:
    """The focus commodities as groups of HS prefixes, and the names that are neither an alias nor a tier."""
    groups: list[FocusGroup] = []
    unknown: list[str] = []
    for name in focus.commodities:
        word = name.strip().lower()
        if word == "chpl" or word.startswith("chpl:"):
            wanted = word.partition(":")[2].upper()
            tiers = [t for t in lookups.chpl.tiers if not wanted or t.tier.upper() == wanted]
            if not tiers:
                unknown.append(name)
            groups += [
                FocusGroup(f"chpl:{t.tier}", f"CHPL tier {t.tier} ({t.title})", t.codes) for t in tiers
            ]
            continue
        commodity = lookups.commodity(name)
        if commodity is None:
            unknown.append(name)
        else:
            groups.append(FocusGroup(commodity.key, commodity.label, commodity.codes))
    return list({g.key: g for g in groups}.values()), unknown


@dataclass
class Mover:
    """One commodity to one partner: the latest months against the trailing average and the base year."""

    group: FocusGroup
    partner: int
    partner_name: str
    comparison: Comparison
    span_average: float | None
    trailing_average: float | None
    trailing_months: int

    @property
    def trailing_multiple(self) -> float | None:
        if self.span_average is None or self.trailing_average is None:
            return None
        if self.trailing_average < MIN_BASE_USD_PER_MONTH:
            return None
        return self.span_average / self.trailing_average

    @property
    def base_multiple(self) -> float | None:
        c = self.comparison
        if c.base_compared is None or not c.compared:
            return None
        if c.base_compared / len(c.compared) < MIN_BASE_USD_PER_MONTH:
            return None
        return c.multiple

    def words(self) -> str:
        basis = self.comparison.basis
        return (
            f"{self.group.label} to {self.partner_name}, {basis.span()}: {VALUE.fmt(self.span_average)} a month, "
            f"{fmt_times(self.trailing_multiple)} the 12-month average before "
            f"({VALUE.fmt(self.trailing_average)} a month), {fmt_times(self.base_multiple)} "
            f"{basis.span(basis.base_year)}"
        )

    def to_numbers(self) -> dict[str, Any]:
        return {
            "commodity": self.group.key,
            "label": self.group.label,
            "hs_prefixes": list(self.group.prefixes),
            "partner": self.partner_name,
            "partner_code": self.partner,
            "span": self.comparison.basis.span(),
            "average_month_usd": self.span_average,
            "trailing_average_usd": self.trailing_average,
            "trailing_months_with_data": self.trailing_months,
            "multiple_of_trailing_average": self.trailing_multiple,
            "multiple_of_base_year": self.base_multiple,
            "base_year": self.comparison.basis.base_year,
            "comparison": self.comparison.to_numbers(),
        }


@dataclass
class MoversResult:
    rises: list[Mover] = field(default_factory=list)
    falls: list[Mover] = field(default_factory=list)
    all: list[Mover] = field(default_factory=list)
    latest_period: int | None = None
    cite: str = ""  # `source, data date` appended to each mover's line
    citations: list[Citation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _sum_group(rows: list[Any], group: FocusGroup, levels: dict[str, int]) -> dict[tuple[int, int], float]:
    """Per (partner, period): the value of the group's codes at their chosen level."""
    out: dict[tuple[int, int], float] = {}
    for row in rows:
        if row.value_usd is None:
            continue
        for prefix in group.prefixes:
            if row.hs_code.startswith(prefix) and levels.get(prefix) == row.hs_level:
                key = (row.partner, row.period)
                out[key] = out.get(key, 0.0) + row.value_usd
                break
    return out


async def find_movers(ctx: Context, focus: Focus) -> MoversResult:
    """The movers of the focus commodities to the focus partners (see commands.anomalies for the rule)."""
    result = MoversResult()
    lookups = ctx.lookups
    groups, unknown = focus_groups(focus, lookups)
    if unknown:
        result.notes.append(
            f"Not a commodity alias or CHPL tier (config [focus] commodities): {', '.join(unknown)}."
        )
    reporter = lookups.country(focus.reporter)
    if reporter is None:
        result.notes.append(f"Unknown reporter {focus.reporter!r} in config [focus].")
        return result
    partners = {
        c.code: c.name for code in focus.countries if (c := lookups.country(code)) and c.code != reporter.code
    }
    prefixes = tuple(sorted({p for g in groups for p in g.prefixes}))
    if not groups or not partners:
        result.notes.append("No focus commodities or partners to look at.")
        return result
    scope = TradeScope(reporter.code, "X", prefixes)
    latest = await latest_period(ctx.session, scope)
    if latest is None or latest % 100 == 0:
        result.notes.append(
            f"No monthly trade data loaded for {reporter.name}'s exports of the focus commodities; "
            "load it with `tradewatch import comtrade --api` (UN Comtrade)."
        )
        return result
    year, month = divmod(latest, 100)
    chosen = choose_source(await source_coverage(ctx.session, scope, year), prefer_monthly=True)
    if chosen is None or chosen.freq != "M":
        result.notes.append(f"No monthly source covers {year} for the focus commodities.")
        return result
    base_year = focus.base_year if focus.base_year != year else year - 1
    basis = make_basis(year, base_year, (max(1, month - SPAN_MONTHS + 1), month))
    periods = basis.periods("M")
    levels = coarsest_levels(await levels_present(ctx.session, scope, chosen.source_id, "M", periods))
    rows = await partner_code_values(
        ctx.session, scope, list(partners), chosen.source_id, "M", levels, periods
    )
    result.latest_period = latest
    first = year * 100 + basis.first
    for group in groups:
        sums = _sum_group(rows, group, levels)
        for partner, name in partners.items():
            amounts = {per: Amount(v) for (p, per), v in sums.items() if p == partner}
            if not amounts:
                continue
            comparison = compare(amounts, basis, VALUE, "M")
            months = comparison.months_with_data
            span_avg = comparison.total / len(months) if comparison.total is not None and months else None
            before = [a for k in range(1, TRAILING_MONTHS + 1) if (a := amounts.get(shift(first, -k)))]
            mover = Mover(group, partner, name, comparison, span_avg, VALUE.average(before), len(before))
            result.all.append(mover)
    if not result.all:
        result.notes.append(
            f"{chosen.source_title} holds no exports of the focus commodities from {reporter.name} to the focus "
            f"countries in {basis.span()} or the 12 months before."
        )
    ranked = [m for m in result.all if m.trailing_multiple is not None]
    result.rises = sorted(
        (m for m in ranked if (m.trailing_multiple or 0) > 1), key=lambda m: -(m.trailing_multiple or 0)
    )[:TOP_MOVERS]
    result.falls = sorted(
        (m for m in ranked if (m.trailing_multiple or 0) < 1), key=lambda m: m.trailing_multiple or 0
    )[:TOP_MOVERS]
    infos = await snapshot_infos(ctx.session, {r.snapshot_id for r in rows})
    result.citations = trade_citations(infos, reporter)
    result.cite = "; ".join(f"{c.source}, data {c.data_date}" for c in result.citations)
    return result
