"""Autocomplete from memory: aliases, HS codes and descriptions, countries; at most 25 short choices."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.suggest import MAX_CHOICE_TEXT, MAX_CHOICES, CommoditySuggester, CountrySuggester
from db.lookups import Lookups


@pytest.fixture(scope="module")
def commodities(shared_data: Path, lookups: Lookups) -> CommoditySuggester:
    """Built from the shipped aliases and the real HS nomenclature file (as the bot builds it from the db)."""
    with (shared_data / "hs" / "harmonized-system.csv").open(encoding="utf-8") as fh:
        rows = [(r["hscode"], r["description"]) for r in csv.DictReader(fh)]
    return CommoditySuggester(lookups, rows)


@pytest.mark.parametrize(
    ("typed", "first_value", "also"),
    [
        ("chi", "chips", []),
        ("alu ox", "aluminium oxide", ["281820"]),
        ("8542", "8542", ["854231", "854239"]),
        ("Bearings", "bearings", ["8482"]),
        ("graph", "graphite", []),
    ],
)
def test_commodity_suggestions(
    commodities: CommoditySuggester, typed: str, first_value: str, also: list[str]
) -> None:
    values = [s.value for s in commodities.suggest(typed)]
    assert values[0] == first_value
    assert set(also) <= set(values)


@pytest.mark.parametrize("typed", ["", "a", "e", "1", "o"])
def test_broad_queries_are_capped(commodities: CommoditySuggester, typed: str) -> None:
    suggestions = commodities.suggest(typed)
    assert 0 < len(suggestions) <= MAX_CHOICES
    assert all(len(s.name) <= MAX_CHOICE_TEXT and 0 < len(s.value) <= MAX_CHOICE_TEXT for s in suggestions)
    assert len({s.value for s in suggestions}) == len(suggestions)


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("RU", "RU"),
        ("rus", "RU"),
        ("Russia", "RU"),
        ("türk", "TR"),
        ("hong", "HK"),
        ("taiwan", "TW"),
        ("USA", "US"),
    ],
)
def test_country_suggestions(lookups: Lookups, typed: str, value: str) -> None:
    suggestions = CountrySuggester(lookups).suggest(typed)
    assert suggestions[0].value == value
    assert len(suggestions) <= MAX_CHOICES
    # every value the bot offers is one the commands resolve
    assert all(lookups.country(s.value) is not None for s in suggestions)


def test_unknown_text_gives_no_choices(lookups: Lookups, commodities: CommoditySuggester) -> None:
    assert CountrySuggester(lookups).suggest("zzqx") == []
    assert commodities.suggest("zzqx") == []
