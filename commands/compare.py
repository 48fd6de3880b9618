"""`/compare <commodity> <country>, <country>, ... [FROM-TO]`: several partners (or reporters) of one flow on one
chart and one table, each year's value and its multiple of the base year; where the other side of a flow is
loaded too (China's exports to Russia as China reports them, and as Russia reports its imports from China),
both lines, each labelled by who reported it, and the gap between them in %.

Each line is answered by one source for the whole span and one HS level per code, as /exports is
(`db.queries.trade_compare`); the numbers are computed in `commands.compare_basis`, the reply is drawn in
`commands.compare_view`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from commands.anomalies import FLAGS_RULE, flags_by_partner
from commands.basis import parse_months
from commands.cited import CitedFigure, no_data_reply, reported_figures_for, with_figures
from commands.compare_basis import Line, line_from_series
from commands.compare_view import View, build_reply
from commands.context import Context
from commands.errors import InvalidInput, NoData
from commands.measures import Measure, parse_measure
from commands.parse import CommandLine
from commands.replies import Field, Reply
from commands.resolve import (
    YEAR_MAX,
    YEAR_MIN,
    check_options,
    parse_flow,
    parse_year,
    resolve_commodity,
    resolve_country,
    split_trailing_country,
)
from commands.trade_common import NOTES_FIELD, fetch_if_possible, how_to_get, possessive
from db.lookups import Country, Lookups
from db.queries import trade_compare as cq
from db.queries.trade import TradeScope

USAGE = (
    "/compare <commodity> <country>, <country>, ... [YEAR or FROM-TO] [reporter=CN | partner=COUNTRY] "
    "[flow=exports|imports] [vs=YEAR] [months=FROM-TO] [measure=value|weight|quantity|unit-value]"
)
EXAMPLE = "/compare graphite Russia, Kazakhstan, Kyrgyzstan, Turkey 2021-2023"
OPTIONS = ("commodity", "countries", "years", "reporter", "partner", "flow", "vs", "months", "measure")
MAX_COUNTRIES = 8  # lines on one chart a reader can still tell apart (each may bring its mirror line)
MAX_YEARS = 10
DEFAULT_YEARS = 3  # without years: the latest year with data and the two before it
YEARS = re.compile(r"^(\d{4})(?:\s*[-–]\s*(\d{4}))?$")


@dataclass(frozen=True)
class CompareParams:
    """Validated arguments of /compare (the Discord cog builds the same from its typed options).

    `countries` are the partners of `anchor` (the reporter), or with `countries_are == "reporters"` the
    reporters of flows to `anchor` (the partner).
    """

    commodity: str
    countries: tuple[Country, ...]
    anchor: Country
    countries_are: str
    flow: str
    first_year: int | None = None
    last_year: int | None = None
    base_year: int | None = None
    months: tuple[int, int] | None = None
    measure: str = "value"  # a `commands.measures` key

    @classmethod
    def build(
        cls,
        *,
        commodity: str | None,
        countries: str | Sequence[str] | None,
        lookups: Lookups,
        years: str | None = None,
        reporter: str | None = None,
        partner: str | None = None,
        flow: str | None = None,
        vs: int | str | None = None,
        months: str | None = None,
        measure: str | None = None,
    ) -> CompareParams:
        """Validate and resolve the arguments (the commodity is resolved later, against the database).

        Raises:
            InvalidInput: a missing commodity or country list, too many countries, bad years, months, flow or
                measure, both reporter= and partner=, a country equal to the other side of the flow.
            NotFound: an unknown country (with the closest names).
        """
        text = " ".join((commodity or "").split())
        if not text:
            raise InvalidInput("The commodity is missing.", f"Usage: {USAGE}, e.g. {EXAMPLE}")
        if len(text) > 100:
            raise InvalidInput("The commodity is too long.", "Use an alias, an HS code or a few words.")
        names = _country_names(countries)
        if reporter and partner:
            raise InvalidInput(
                "Give reporter= or partner=, not both.",
                "reporter=CN compares China's flows with the listed partners; partner=CN compares the listed "
                "reporters' flows with China.",
            )
        countries_are = "reporters" if partner else "partners"
        anchor = resolve_country(lookups, partner or reporter or "CN", "partner" if partner else "reporter")
        resolved: list[Country] = []
        for name in names:
            country = resolve_country(lookups, name, countries_are[:-1])
            if country.code == anchor.code:
                raise InvalidInput(
                    f"{country.name} is on both sides of the flow.",
                    f"Leave it out of the list, or compare with another {'partner' if partner else 'reporter'}.",
                )
            if country not in resolved:
                resolved.append(country)
        first, last = _years(years)
        base = parse_year(vs) if vs not in (None, "") else None
        chosen_measure = parse_measure(measure).key
        return cls(
            text,
            tuple(resolved),
            anchor,
            countries_are,
            parse_flow(flow),
            first,
            last,
            base,
            parse_months(months),
            chosen_measure,
        )


def _country_names(countries: str | Sequence[str] | None) -> list[str]:
    if countries is None:
        raise InvalidInput("The countries to compare are missing.", f"Usage: {USAGE}, e.g. {EXAMPLE}")
    parts = countries.split(",") if isinstance(countries, str) else list(countries)
    names = [" ".join(p.split()) for p in parts if p.strip()]
    if not names:
        raise InvalidInput("The countries to compare are missing.", f"e.g. {EXAMPLE}")
    if len(names) > MAX_COUNTRIES:
        raise InvalidInput(
            f"{len(names)} countries is too many for one chart.", f"Compare at most {MAX_COUNTRIES}."
        )
    return names


def _years(text: str | None) -> tuple[int | None, int | None]:
    """`2021-2023` or `2023` -> (first, last); None -> (None, None) (the latest years with data)."""
    if text in (None, ""):
        return None, None
    match = YEARS.match(str(text).strip())
    if not match:
        raise InvalidInput(f"{text!r} is not a year or a span of years.", "e.g. 2023 or 2021-2023.")
    first = parse_year(match.group(1))
    last = parse_year(match.group(2)) if match.group(2) else first
    if last < first:
        raise InvalidInput(f"{first}-{last} runs backwards.", f"Write it {last}-{first}.")
    if last - first + 1 > MAX_YEARS:
        raise InvalidInput(f"{first}-{last} is more than {MAX_YEARS} years.", "Compare a shorter span.")
    return first, last


def parse_compare(line: CommandLine, lookups: Lookups) -> CompareParams:
    """Parse `/compare graphite Russia, Kazakhstan, Turkey 2021-2023` (words, quotes or key=value)."""
    check_options(line, OPTIONS, USAGE)
    opts = line.options
    words = list(line.words)
    years = opts.get("years")
    if years is None and len(words) >= 2 and YEARS.match(words[-1]):
        years, words = words[-1], words[:-1]
    commodity, countries = opts.get("commodity"), opts.get("countries")
    if commodity is None and countries is None:
        chunks = " ".join(words).split(",")
        first_words = chunks[0].split()
        if len(first_words) < 2:
            raise InvalidInput("/compare needs a commodity and countries.", f"Usage: {USAGE}, e.g. {EXAMPLE}")
        commodity_words, country_words = split_trailing_country(lookups, first_words)
        commodity, countries = " ".join(commodity_words), ",".join([" ".join(country_words), *chunks[1:]])
    elif commodity is None:
        commodity = " ".join(words)
    elif countries is None:
        countries = " ".join(words)
    elif words:
        raise InvalidInput(f"Unexpected words: {' '.join(words)}.", f"Usage: {USAGE}")
    return CompareParams.build(
        commodity=commodity,
        countries=countries,
        lookups=lookups,
        years=years,
        reporter=opts.get("reporter"),
        partner=opts.get("partner"),
        flow=opts.get("flow"),
        vs=opts.get("vs"),
        months=opts.get("months"),
        measure=opts.get("measure"),
    )


def flows(params: CompareParams) -> list[tuple[Country, Country, Country]]:
    """(listed country, reporter, partner) of each line asked for."""
    if params.countries_are == "partners":
        return [(c, params.anchor, c) for c in params.countries]
    return [(c, c, params.anchor) for c in params.countries]


async def run_compare(ctx: Context, params: CompareParams) -> Reply:
    """Answer /compare from the database.

    Raises:
        NotFound / Ambiguous / InvalidInput: commodity or year problems, with suggestions.
        NoData: none of the flows is loaded (the answer shows cited figures instead when there are some).
    """
    commodity = await resolve_commodity(ctx.session, ctx.lookups, params.commodity)
    codes, flow = commodity.codes, params.flow
    opposite = "M" if flow == "X" else "X"
    asked = flows(params)
    scopes = [TradeScope(r.code, flow, codes, p.code) for _, r, p in asked]
    cited = _cited(ctx, params, codes)
    what = f"{commodity.alias or commodity.label} (HS {', '.join(codes)})"
    last = params.last_year or await cq.latest_year(ctx.session, scopes)
    if last is None and ctx.fetch_trade is not None:  # nothing loaded: ask UN Comtrade for the last years
        last = ctx.now().year - 1
    if last is None:
        error = _no_data(ctx, params, what, codes, None)
        return no_data_reply(
            error, _title(params, what, None, None), await cited(YEAR_MIN, YEAR_MAX), ctx.lookups
        )
    if last > ctx.now().year:
        raise InvalidInput(f"{last} is in the future.", f"Ask for {ctx.now().year} or earlier.")
    first = params.first_year or max(last - DEFAULT_YEARS + 1, YEAR_MIN)
    base = params.base_year or (first if first < last else first - 1)  # one year: against the year before
    lo, hi = min(first, base), max(last, base)
    mirrors = [TradeScope(p.code, opposite, codes, r.code) for _, r, p in asked]
    measure = parse_measure(params.measure)
    lines = await _read_lines(ctx, asked, scopes, mirrors, (lo, hi), flow, measure)
    notes = []
    missing = [
        s for s, line in zip(scopes, (x for x in lines if not x.mirror), strict=True) if line.series is None
    ]
    if missing and ctx.fetch_trade is not None:  # on demand, as /exports does: one request per missing flow
        fetched = 0
        for scope in missing:
            loaded, note = await fetch_if_possible(ctx, scope, list(range(lo, hi + 1)))
            fetched += loaded
            notes += [note] if note else []
        if fetched:
            lines = await _read_lines(ctx, asked, scopes, mirrors, (lo, hi), flow, measure)
    if all(line.series is None for line in lines):
        error = _no_data(ctx, params, what, codes, (first, last), note=" ".join(dict.fromkeys(notes)))
        return no_data_reply(error, _title(params, what, first, last), await cited(first, last), ctx.lookups)
    title, chart_title = (
        _title(params, what, first, last, base),
        _chart_title(params, commodity.alias or what, first, last),
    )
    measure = measure.with_unit(a for line in lines for a in line.amounts.values())
    view = View(sorted({*range(first, last + 1), base}), base, params.months, measure)
    reply = await build_reply(ctx, commodity, lines, view, title=title, chart_title=chart_title)
    reply = await _with_flags(ctx, reply, lines, last, params.months)
    return with_figures(reply, await cited(first, last), ctx.lookups)


async def _with_flags(
    ctx: Context, reply: Reply, lines: list[Line], year: int, months: tuple[int, int] | None
) -> Reply:
    """Anomaly flags (commands/anomalies.py) of each monthly line's last year shown, in a Notes field."""
    first_month, last_month = months or (1, 12)
    span = [year * 100 + m for m in range(first_month, last_month + 1)]
    flags: list[str] = []
    for line in lines:
        if line.mirror or line.series is None or line.freq != "M":
            continue
        series = line.series
        found = await flags_by_partner(
            ctx.session, series.scope, series.chosen.source_id, series.levels, span
        )
        label = f"{line.reporter.name} → {line.partner.name}"
        flags += [f"{label}: {flag}" for flag in found.get(line.partner.code, [])]
    if not flags:
        return replace(reply, numbers={**reply.numbers, "flags": []})
    note = Field(NOTES_FIELD, "\n".join(f"• {n}" for n in [*flags, FLAGS_RULE])[:1024])
    return replace(reply, fields=[*reply.fields, note], numbers={**reply.numbers, "flags": flags})


async def _read_lines(
    ctx: Context,
    asked: list[tuple[Country, Country, Country]],
    scopes: list[TradeScope],
    mirrors: list[TradeScope],
    span: tuple[int, int],
    flow: str,
    measure: Measure,
) -> list[Line]:
    """Every asked line, each followed by the other side's report of it when that is loaded."""
    opposite = "M" if flow == "X" else "X"
    found = await cq.lines_series(ctx.session, [*scopes, *mirrors], *span, volumes=measure.needs_volumes)
    lines: list[Line] = []
    for (country, reporter, partner), scope, other in zip(asked, scopes, mirrors, strict=True):
        series = found.get((scope.reporter, scope.partner or 0))
        lines.append(line_from_series(country, reporter, partner, flow, series, mirror=False))
        mirror = found.get((other.reporter, other.partner or 0))
        if mirror is not None:
            lines.append(line_from_series(country, partner, reporter, opposite, mirror, mirror=True))
    return lines


def _cited(
    ctx: Context, params: CompareParams, codes: Sequence[str]
) -> Callable[[int, int], Awaitable[list[CitedFigure]]]:
    async def find(first: int, last: int) -> list[CitedFigure]:
        if params.countries_are == "partners":
            return await reported_figures_for(
                ctx, codes=codes, reporter=params.anchor, partners=params.countries, flow=params.flow,
                first_year=first, last_year=last,
            )  # fmt: skip
        found: list[CitedFigure] = []
        for country in params.countries:
            found += await reported_figures_for(
                ctx, codes=codes, reporter=country, partners=[params.anchor], flow=params.flow,
                first_year=first, last_year=last,
            )  # fmt: skip
        return found

    return find


def _title(
    params: CompareParams, what: str, first: int | None, last: int | None, base: int | None = None
) -> str:
    noun, prep = ("exports", "to") if params.flow == "X" else ("imports", "from")
    names = ", ".join(c.name for c in params.countries)
    if params.countries_are == "partners":
        text = f"{possessive(params.anchor.name)} {noun} of {what} {prep} {names}"
    else:
        text = f"{noun.capitalize()} of {what} reported by {names}, {prep} {params.anchor.name}"
    if first is not None and last is not None:
        text += f", {first}" if first == last else f", {first}–{last}"
        if base is not None and not first <= base <= last:
            text += f", against {base}"
    return text


def _chart_title(params: CompareParams, name: str, first: int, last: int) -> str:
    """Short enough for the chart's width: the countries are in its legend."""
    noun = "exports" if params.flow == "X" else "imports"
    years = f"{first}" if first == last else f"{first}–{last}"
    if params.countries_are == "partners":
        return f"{possessive(params.anchor.name)} {noun} of {name} by partner, {years}"
    return f"{noun.capitalize()} of {name} by reporter, with {params.anchor.name}, {years}"


def _no_data(
    ctx: Context,
    params: CompareParams,
    what: str,
    codes: tuple[str, ...],
    span: tuple[int, int] | None,
    *,
    note: str = "",
) -> NoData:
    """No flow loaded: what was asked, and the fetch command (every partner of the reporter at once)."""
    one = params.countries[0]
    if params.countries_are == "partners":  # every partner of the reporter in one request
        scope = TradeScope(params.anchor.code, params.flow, codes, None)
    else:
        scope = TradeScope(one.code, params.flow, codes, params.anchor.code)
    where = f" in {span[0]}–{span[1]}" if span else ""
    years = list(range(span[0], span[1] + 1)) if span else [ctx.now().year - 2, ctx.now().year - 1]
    message = f"No data for {_title(params, what, None, None)}{where} in any loaded source, from either side."
    message += f" {note}" if note else ""
    return NoData(message, how_to_get(ctx.lookups, scope, years))


parse = parse_compare
run = run_compare
