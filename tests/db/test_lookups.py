"""Reference lookups: countries (Comtrade codes), commodity aliases and the CHPL, checked against real files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from db.lookups import Lookups, load_commodities, load_lookups


@pytest.mark.parametrize(
    ("typed", "code", "iso2"),
    [
        ("Russia", 643, "RU"),
        ("RU", 643, "RU"),
        ("RUS", 643, "RU"),
        ("Russian Federation", 643, "RU"),
        ("China", 156, "CN"),
        ("CN", 156, "CN"),
        ("PRC", 156, "CN"),
        ("Hong Kong", 344, "HK"),
        ("HK", 344, "HK"),
        ("Türkiye", 792, "TR"),
        ("Turkey", 792, "TR"),
        ("turkiye", 792, "TR"),
        ("USA", 842, "US"),
        ("United States", 842, "US"),
        ("France", 251, "FR"),
        ("India", 699, "IN"),
        ("Switzerland", 757, "CH"),
        ("Norway", 579, "NO"),
        ("Taiwan", 490, "TW"),
        ("Other Asia, nes", 490, "TW"),
        ("643", 643, "RU"),
        ("842", 842, "US"),
        ("South Korea", 410, "KR"),
        ("UAE", 784, "AE"),
        ("Czech Republic", 203, "CZ"),
    ],
)
def test_country_resolution(lookups: Lookups, typed: str, code: int, iso2: str) -> None:
    country = lookups.country(typed)
    assert country is not None and (country.code, country.iso2) == (code, iso2)


@pytest.mark.parametrize("typed", ["Atlantis", "", "ZZ", "99999"])
def test_unknown_country_is_none(lookups: Lookups, typed: str) -> None:
    assert lookups.country(typed) is None


def test_comtrade_codes_agree_with_comtrades_own_partner_list(lookups: Lookups, shared_data: Path) -> None:
    """UN Comtrade's partner list names its codes: 842 USA, 251 France, 699 India, 490 Other Asia, nes ..."""
    with (shared_data / "country_codes/comtrade_legacy/partnerAreas.json").open(encoding="utf-8") as fh:
        comtrade = {r["text"]: int(r["id"]) for r in json.load(fh)["results"] if r["id"].isdigit()}
    pairs = {
        "USA": "USA",
        "France": "FRA",
        "India": "IND",
        "Switzerland": "CHE",
        "Norway": "NOR",
        "Other Asia, nes": "TWN",
        "Russian Federation": "RUS",
        "China": "CHN",
        "China, Hong Kong SAR": "HKG",
        "Germany": "DEU",
        "Turkey": "TUR",
        "Kazakhstan": "KAZ",
        "United Arab Emirates": "ARE",
    }
    for comtrade_name, iso3 in pairs.items():
        assert lookups.country(iso3).code == comtrade[comtrade_name], iso3  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("typed", "codes"),
    [
        ("chips", ("8542",)),
        ("Semiconductors", ("8542",)),
        ("aluminium oxide", ("281820",)),
        ("aluminum oxide", ("281820",)),
        ("Alumina", ("281820",)),
        ("graphite", ("2504", "380110")),
        ("bearings", ("8482",)),
        ("oscilloscopes", ("903020",)),
        ("gallium", ("811292",)),
        ("germanium", ("811292",)),
        ("antennas", ("852910",)),
    ],
)
def test_commodity_aliases(lookups: Lookups, typed: str, codes: tuple[str, ...]) -> None:
    commodity = lookups.commodity(typed)
    assert commodity is not None and commodity.codes == codes


def test_every_alias_code_is_in_the_hs_nomenclature(lookups: Lookups, shared_data: Path) -> None:
    with (shared_data / "hs/harmonized-system.csv").open(encoding="utf-8") as fh:
        known = {row["hscode"] for row in csv.DictReader(fh)}
    missing = {c for commodity in lookups.commodities for c in commodity.codes if c not in known}
    assert missing == set()


def test_chpl_has_fifty_codes_in_six_tiers(lookups: Lookups, shared_data: Path) -> None:
    chpl = lookups.chpl
    assert chpl.version == "2024-02-23"
    assert [t.tier for t in chpl.tiers] == ["1", "2", "3A", "3B", "4A", "4B"]
    codes = [c for t in chpl.tiers for c in t.codes]
    assert len(codes) == len(set(codes)) == 50
    assert chpl.tiers[0].codes == ("854231", "854232", "854233", "854239")
    assert chpl.tier_of("854231") == "1" and chpl.tier_of("848210") == "3B" and chpl.tier_of("281820") is None
    with (shared_data / "hs/harmonized-system.csv").open(encoding="utf-8") as fh:
        known = {row["hscode"] for row in csv.DictReader(fh)}
    assert set(codes) <= known


def test_a_group_listing_a_heading_and_its_subheading_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "commodities.yml"
    path.write_text(yaml.safe_dump({"commodities": {"chips": {"codes": ["8542", "854231"]}}}))
    with pytest.raises(ValueError, match="8542 and its own subheading 854231"):
        load_commodities(path)


def test_lookups_load_from_a_copied_folder(tmp_path: Path) -> None:
    """The team edits these files; a copy elsewhere (config [data] lookups_dir) loads the same."""
    src = Path(__file__).resolve().parents[2] / "db/ingest/lookups"
    for name in ("countries.yml", "commodities.yml", "chpl.yml"):
        (tmp_path / name).write_text((src / name).read_text(encoding="utf-8"), encoding="utf-8")
    assert load_lookups(tmp_path).country("Norway").code == 579  # type: ignore[union-attr]
