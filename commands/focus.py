"""The newsroom's focus: which countries, programs and commodities /changes and /brief put first.

Set in config.toml's `[focus]` table (bot/config.py reads it into this dataclass); the defaults below are the
one place they are written. Countries are ISO2 codes; programs are list program codes as the publisher writes
them (OFAC: `RUSSIA-EO14024`, `CMIC-EO13959` ...); commodities are the team's aliases (db/ingest/lookups/
commodities.yml) or `chpl` for every tier of the Common High Priority List (`chpl:1`, `chpl:3A` for one tier).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# China, Hong Kong and Russia, and the transit countries reporting and trade investigations name most often:
# Kazakhstan, Kyrgyzstan, Armenia, Georgia, the UAE, Turkey and Uzbekistan.
DEFAULT_COUNTRIES = ("CN", "HK", "RU", "KZ", "KG", "AM", "GE", "AE", "TR", "UZ")
# Programs whose every entry is of interest whatever its country. Not RUSSIA-EO14024: nearly every Russia-related
# designation since 2022 is under it, so it would make every entry a focus entry.
DEFAULT_PROGRAMS = ("CMIC-EO13959",)
DEFAULT_COMMODITIES = ("chpl", "chips", "aluminium oxide", "graphite", "gallium", "germanium")
DEFAULT_REPORTER = "CN"
DEFAULT_BASE_YEAR = 2021  # the last full year before the 2022 invasion: the base reporters quote multiples of


class FocusError(ValueError):
    """A [focus] value is invalid; the message names the key."""


def _codes(key: str, value: Any, *, upper: bool) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise FocusError(f'[focus] {key} must be a list of strings, e.g. {key} = ["..."]')
    out = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise FocusError(f"[focus] {key}: every entry must be a non-empty string, got {item!r}")
        out.append(item.strip().upper() if upper else item.strip())
    if len(out) > 100:
        raise FocusError(f"[focus] {key}: at most 100 entries")
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class Focus:
    """What the team follows (see the module docstring); `describe()` is what replies say they used."""

    countries: tuple[str, ...] = DEFAULT_COUNTRIES
    programs: tuple[str, ...] = DEFAULT_PROGRAMS
    commodities: tuple[str, ...] = DEFAULT_COMMODITIES
    reporter: str = DEFAULT_REPORTER
    base_year: int = DEFAULT_BASE_YEAR

    def __post_init__(self) -> None:
        countries = _codes("countries", self.countries, upper=True)
        for code in countries:
            if len(code) != 2 or not code.isalpha():
                raise FocusError(f'[focus] countries: {code!r} is not an ISO2 code (e.g. "CN", "KZ")')
        object.__setattr__(self, "countries", countries)
        object.__setattr__(self, "programs", _codes("programs", self.programs, upper=True))
        object.__setattr__(self, "commodities", _codes("commodities", self.commodities, upper=False))
        if not isinstance(self.reporter, str) or not self.reporter.strip():
            raise FocusError('[focus] reporter must be a country code, e.g. "CN"')
        object.__setattr__(self, "reporter", self.reporter.strip().upper())
        if isinstance(self.base_year, bool) or not isinstance(self.base_year, int):
            raise FocusError(f"[focus] base_year must be a year, got {self.base_year!r}")
        if not 1990 <= self.base_year <= 2100:
            raise FocusError(f"[focus] base_year must be a year from 1990, got {self.base_year}")

    def rank(self, countries: list[str], programs: list[str]) -> int | None:
        """Where an entry sorts among focus entries (its first focus country in the configured order, then the
        focus programs), or None when it is not a focus entry."""
        tied = {c.upper() for c in countries}
        for i, code in enumerate(self.countries):
            if code in tied:
                return i
        if {p.upper() for p in programs} & set(self.programs):
            return len(self.countries)
        return None

    def countries_hit(self, countries: list[str]) -> list[str]:
        """The focus countries an entry is tied to, in the configured order."""
        tied = {c.upper() for c in countries}
        return [code for code in self.countries if code in tied]

    def describe(self) -> str:
        """`Focus: countries CN, HK, ...; programs ...; commodities ...` (config.toml [focus])."""
        return (
            f"Focus (config [focus]): countries {', '.join(self.countries) or 'none'}; "
            f"programs {', '.join(self.programs) or 'none'}; commodities {', '.join(self.commodities) or 'none'}."
        )

    def to_numbers(self) -> dict[str, Any]:
        return {
            "countries": list(self.countries),
            "programs": list(self.programs),
            "commodities": list(self.commodities),
            "reporter": self.reporter,
            "base_year": self.base_year,
        }
