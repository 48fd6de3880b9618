"""Reference lookups shipped as editable files: countries (pycountry + exceptions), commodity aliases, CHPL.

Loaded once per process (small), then used in memory by the command layer to resolve what users type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pycountry
import yaml

from db.text import fold

DEFAULT_LOOKUPS_DIR = Path(__file__).parent / "ingest" / "lookups"


@dataclass(frozen=True)
class Country:
    """A country or area as trade data codes it."""

    code: int  # UN Comtrade reporter/partner code
    name: str
    iso2: str | None = None
    iso3: str | None = None


@dataclass(frozen=True)
class Commodity:
    """A named commodity group: the HS codes it sums, and what to tell the user about them."""

    key: str
    label: str
    codes: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class ChplTier:
    tier: str
    title: str
    codes: tuple[str, ...]


@dataclass(frozen=True)
class Chpl:
    """The Common High Priority List, with its version."""

    name: str
    publisher: str
    version: str
    url: str
    tiers: tuple[ChplTier, ...]

    def tier_of(self, hs_code: str) -> str | None:
        """The CHPL tier of an HS-6 code, or None."""
        for tier in self.tiers:
            if hs_code[:6] in tier.codes:
                return tier.tier
        return None

    def tiers_within(self, prefix: str) -> dict[str, list[str]]:
        """CHPL codes that fall under an HS prefix (or contain it), by tier."""
        out: dict[str, list[str]] = {}
        for tier in self.tiers:
            hits = [c for c in tier.codes if c.startswith(prefix) or prefix.startswith(c)]
            if hits:
                out[tier.tier] = hits
        return out


@dataclass
class Lookups:
    """All reference lookups, loaded from a folder of YAML files."""

    countries: list[Country]
    country_index: dict[str, Country]
    commodities: list[Commodity]
    chpl: Chpl
    commodity_version: str = ""
    _alias_index: dict[str, Commodity] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for commodity in self.commodities:
            for alias in (commodity.key, *commodity.aliases):
                self._alias_index.setdefault(fold(alias), commodity)

    def country(self, text: str) -> Country | None:
        """Resolve ISO2, ISO3, a Comtrade code, a name or an alias to a country; None if unknown."""
        key = fold(text)
        if key.isdigit():
            return self.by_code.get(int(key))
        return self.country_index.get(key)

    @cached_property
    def by_code(self) -> dict[int, Country]:
        return {c.code: c for c in self.countries}

    def country_name(self, code: int) -> str:
        country = self.by_code.get(code)
        return country.name if country else f"area {code}"

    def commodity(self, text: str) -> Commodity | None:
        """Resolve a commodity alias (case- and accent-insensitive); None if it is not an alias."""
        return self._alias_index.get(fold(text))

    @property
    def commodity_aliases(self) -> list[str]:
        return sorted(self._alias_index)


def _load_yaml(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


def load_countries(path: Path) -> tuple[list[Country], dict[str, Country]]:
    """Countries from pycountry, with Comtrade's own codes and the aliases in `countries.yml`."""
    data = _load_yaml(path)
    overrides = {k.upper(): int(v) for k, v in (data.get("comtrade_codes") or {}).items()}
    display = {k.upper(): str(v) for k, v in (data.get("display_names") or {}).items()}
    countries: list[Country] = []
    index: dict[str, Country] = {}
    by_iso2: dict[str, Country] = {}
    for record in pycountry.countries:
        code = overrides.get(record.alpha_2, int(record.numeric))
        name = getattr(record, "common_name", None) or record.name
        if record.alpha_2 == "TW":
            name = "Taiwan"
        name = display.get(record.alpha_2, name)
        country = Country(code=code, name=name, iso2=record.alpha_2, iso3=record.alpha_3)
        countries.append(country)
        by_iso2[record.alpha_2] = country
        for label in {
            record.alpha_2,
            record.alpha_3,
            record.name,
            name,
            getattr(record, "official_name", None),
        }:
            if label:
                index.setdefault(fold(label), country)
    for code, name in (data.get("areas") or {}).items():
        area = Country(code=int(code), name=str(name))
        if int(code) not in {c.code for c in countries}:
            countries.append(area)
        index.setdefault(fold(str(name)), by_iso2.get("TW", area) if int(code) == 490 else area)
    for alias, iso2 in (data.get("aliases") or {}).items():
        target = by_iso2.get(str(iso2).upper())
        if target is None:
            raise ValueError(f"{path}: alias {alias!r} points to unknown ISO code {iso2!r}")
        index[fold(str(alias))] = target
    return countries, index


def load_commodities(path: Path) -> tuple[list[Commodity], str]:
    """Commodity aliases from `commodities.yml`; rejects a group that lists a code and its own subcode."""
    data = _load_yaml(path)
    out = []
    for key, entry in (data.get("commodities") or {}).items():
        codes = tuple(str(c) for c in entry["codes"])
        for a in codes:
            for b in codes:
                if a != b and b.startswith(a):
                    raise ValueError(
                        f"{path}: {key!r} lists {a} and its own subheading {b}; list one of them"
                    )
        out.append(
            Commodity(
                key=str(key),
                label=str(entry.get("label", key)),
                codes=codes,
                aliases=tuple(str(a) for a in entry.get("aliases", [])),
                note=entry.get("note"),
            )
        )
    return out, str(data.get("version", ""))


def load_chpl(path: Path) -> Chpl:
    """The Common High Priority List from `chpl.yml`."""
    data = _load_yaml(path)
    tiers = tuple(
        ChplTier(tier=str(t), title=str(v["title"]), codes=tuple(str(c) for c in v["codes"]))
        for t, v in data["tiers"].items()
    )
    return Chpl(
        name=str(data["name"]),
        publisher=str(data["publisher"]),
        version=str(data["version"]),
        url=str(data["url"]),
        tiers=tiers,
    )


def load_lookups(folder: Path | None = None) -> Lookups:
    """Load every lookup file from `folder` (default: the files shipped in `db/ingest/lookups`)."""
    folder = folder or DEFAULT_LOOKUPS_DIR
    countries, index = load_countries(folder / "countries.yml")
    commodities, version = load_commodities(folder / "commodities.yml")
    return Lookups(
        countries=countries,
        country_index=index,
        commodities=commodities,
        chpl=load_chpl(folder / "chpl.yml"),
        commodity_version=version,
    )
