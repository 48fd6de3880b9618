"""The validated arguments of /exports, /top partners and /top goods, and the validation they share (one rule
per argument).

Each function takes what the user typed (a CLI word or a Discord option) and returns the resolved value,
or raises `InvalidInput` / `NotFound` with a message saying what was wrong and what would work. This module is
light (no charts): the Discord cogs build the params here, acknowledge, and only then import the commands.
"""

from __future__ import annotations

from dataclasses import dataclass

from commands.basis import parse_months
from commands.errors import InvalidInput
from commands.measures import VALUE, Measure, parse_measure
from commands.resolve import parse_flow, parse_year, resolve_country
from db.lookups import Country, Lookups

MAX_COMMODITY_CHARS = 100
DEFAULT_REPORTER = "CN"
# The options every trade answer takes for its measure and comparison basis (commands.basis).
BASIS_OPTIONS = ("measure", "vs", "months")
BASIS_USAGE = "[measure=value|weight|quantity|unit-value] [vs=YEAR] [months=FROM-TO]"


@dataclass(frozen=True)
class BasisOptions:
    """What to measure and what to compare with: `vs` None = the year before, `months` None = the whole year."""

    measure: Measure = VALUE
    vs: int | None = None
    months: tuple[int, int] | None = None

    @classmethod
    def build(
        cls, measure: str | None = None, vs: int | str | None = None, months: str | None = None
    ) -> BasisOptions:
        """Validate the typed options.

        Raises:
            InvalidInput: unknown measure, a base that is not a year, or a span of months that is not one.
        """
        return cls(parse_measure(measure), optional_year(vs), parse_months(months))


def commodity_text(value: str | None, usage: str) -> str:
    """The commodity as typed, whitespace folded (resolved later, against the database).

    Raises:
        InvalidInput: missing or longer than `MAX_COMMODITY_CHARS`.
    """
    text = " ".join((value or "").split())
    if not text:
        raise InvalidInput("The commodity is missing.", f"Usage: {usage}")
    if len(text) > MAX_COMMODITY_CHARS:
        raise InvalidInput("The commodity is too long.", "Use an alias, an HS code or a few words.")
    return text


def reporter_country(lookups: Lookups, value: str | None) -> Country:
    """The reporting country (default China).

    Raises:
        NotFound: unknown country (with the closest names).
    """
    return resolve_country(lookups, value or DEFAULT_REPORTER, "reporter")


def partner_and_reporter(
    lookups: Lookups, partner: str | None, reporter: str | None, *, usage: str, same_hint: str
) -> tuple[Country, Country]:
    """The partner (required) and the reporter (default China), which must differ.

    Raises:
        InvalidInput: missing partner, or partner equal to reporter (`same_hint` says what would work).
        NotFound: unknown partner or reporter.
    """
    if not partner or not str(partner).strip():
        raise InvalidInput("The partner country is missing.", f"Usage: {usage}")
    partner_country = resolve_country(lookups, str(partner), "partner")
    reporter_c = reporter_country(lookups, reporter)
    if partner_country.code == reporter_c.code:
        raise InvalidInput(f"The partner and the reporter are both {partner_country.name}.", same_hint)
    return partner_country, reporter_c


def optional_year(value: int | str | None) -> int | None:
    """A four-digit year, or None when not given (the command then picks the latest year with data).

    Raises:
        InvalidInput: not a year, or out of range.
    """
    return parse_year(value) if value not in (None, "") else None


USAGE = f"/exports <commodity> <partner> [year] [reporter=CN] [flow=exports|imports] {BASIS_USAGE}"
PARTNERS_USAGE = f"/top partners <commodity> [year] [reporter=CN] [flow=exports|imports] {BASIS_USAGE}"
GOODS_USAGE = f"/top goods <partner> [year] [reporter=CN] [flow=exports|imports] {BASIS_USAGE}"


@dataclass(frozen=True)
class ExportsParams:
    """Validated arguments of /exports (the Discord cog builds the same from its typed options)."""

    commodity: str
    partner: Country
    reporter: Country
    flow: str = "X"
    year: int | None = None
    options: BasisOptions = BasisOptions()

    @classmethod
    def build(
        cls,
        *,
        commodity: str | None,
        partner: str | None,
        lookups: Lookups,
        year: int | str | None = None,
        reporter: str | None = None,
        flow: str | None = None,
        measure: str | None = None,
        vs: int | str | None = None,
        months: str | None = None,
    ) -> ExportsParams:
        """Validate and resolve the arguments (the commodity is resolved later, against the database).

        Raises:
            InvalidInput: missing commodity or partner, bad year, flow, measure, base or months, partner equal
                to reporter.
            NotFound: unknown partner or reporter (with the closest country names).
        """
        text = commodity_text(commodity, USAGE)
        partner_country, reporter_country = partner_and_reporter(
            lookups,
            partner,
            reporter,
            usage=USAGE,
            same_hint="Name the other country of the flow, e.g. /exports chips RU reporter=CN.",
        )
        options = BasisOptions.build(measure, vs, months)
        return cls(text, partner_country, reporter_country, parse_flow(flow), optional_year(year), options)


@dataclass(frozen=True)
class TopPartnersParams:
    """Validated arguments of /top partners."""

    commodity: str
    reporter: Country
    flow: str = "X"
    year: int | None = None
    options: BasisOptions = BasisOptions()

    @classmethod
    def build(
        cls,
        *,
        commodity: str | None,
        lookups: Lookups,
        year: int | str | None = None,
        reporter: str | None = None,
        flow: str | None = None,
        measure: str | None = None,
        vs: int | str | None = None,
        months: str | None = None,
    ) -> TopPartnersParams:
        """Validate the arguments (the commodity is resolved later, against the database).

        Raises:
            InvalidInput / NotFound: missing commodity, bad year, flow, measure, base or months, unknown reporter.
        """
        return cls(
            commodity_text(commodity, PARTNERS_USAGE),
            reporter_country(lookups, reporter),
            parse_flow(flow),
            optional_year(year),
            BasisOptions.build(measure, vs, months),
        )


@dataclass(frozen=True)
class TopGoodsParams:
    """Validated arguments of /top goods."""

    partner: Country
    reporter: Country
    flow: str = "X"
    year: int | None = None
    options: BasisOptions = BasisOptions()

    @classmethod
    def build(
        cls,
        *,
        partner: str | None,
        lookups: Lookups,
        year: int | str | None = None,
        reporter: str | None = None,
        flow: str | None = None,
        measure: str | None = None,
        vs: int | str | None = None,
        months: str | None = None,
    ) -> TopGoodsParams:
        """Validate and resolve the arguments.

        Raises:
            InvalidInput / NotFound: missing or unknown partner or reporter, bad year or flow.
        """
        partner_country, reporter_c = partner_and_reporter(
            lookups, partner, reporter, usage=GOODS_USAGE, same_hint=f"Usage: {GOODS_USAGE}"
        )
        options = BasisOptions.build(measure, vs, months)
        return cls(partner_country, reporter_c, parse_flow(flow), optional_year(year), options)
