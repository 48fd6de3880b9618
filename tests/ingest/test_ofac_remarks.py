"""OFAC Remarks -> structured facts: table-driven, on remark texts as they appear in the real lists."""

from __future__ import annotations

import pytest

from db.ingest.ofac_remarks import identifier_kind, ofac_date, parse_remarks, split_remarks


@pytest.mark.parametrize(
    ("remarks", "key", "expected"),
    [
        ("DOB 10 Dec 1948; alt. DOB circa 1951.", "birth_dates", ["1948-12-10", "circa 1951"]),
        ("POB Moscow, Russia; nationality Russia; Gender Male.", "nationalities", ["ru"]),
        ("citizen Korea, North; Gender Female.", "citizenships", ["kp"]),
        ("Organization Established Date 11 Dec 2009.", "established", ["2009-12-11"]),
        (
            "Website http://www.clarashipping.com; Email Address a@b.ru.",
            "websites",
            ["http://www.clarashipping.com"],
        ),
        ("Email Address info@x.ru.", "emails", ["info@x.ru"]),
        (
            "Additional Sanctions Information - Subject to Secondary Sanctions.",
            "secondary_sanctions",
            ["Additional Sanctions Information - Subject to Secondary Sanctions"],
        ),
        (
            "Secondary sanctions risk: section 1(b) of Executive Order 13224, as amended by Executive Order 13886.",
            "secondary_sanctions",
            ["section 1(b) of Executive Order 13224, as amended by Executive Order 13886"],
        ),
        (
            "Executive Order 13662 Directive Determination - Subject to Directive 1.",
            "other_facts",
            ["Executive Order 13662 Directive Determination - Subject to Directive 1"],
        ),
    ],
)
def test_simple_facts(remarks: str, key: str, expected: list[str]) -> None:
    assert parse_remarks(remarks).values[key] == expected


@pytest.mark.parametrize(
    ("remarks", "expected"),
    [
        (
            "Registration Number 1401029 (Hong Kong).",
            {
                "type": "Registration Number",
                "number": "1401029",
                "kind": "registration",
                "country": "hk",
                "country_name": "Hong Kong",
            },
        ),
        ("Tax ID No. AABA 670850 Y.", {"type": "Tax ID No.", "number": "AABA 670850 Y", "kind": "tax"}),
        (
            "Passport 1084010 (Egypt) issued 01 Jan 2010 expires 31 Dec 2020.",
            {
                "type": "Passport",
                "number": "1084010",
                "kind": "passport",
                "country": "eg",
                "country_name": "Egypt",
                "issued": "2010-01-01",
                "expires": "2020-12-31",
            },
        ),
        (
            "Unified Social Credit Code (USCC) 9113100033607322XK (China).",
            {
                "type": "Unified Social Credit Code (USCC)",
                "number": "9113100033607322XK",
                "kind": "registration",
                "country": "cn",
                "country_name": "China",
            },
        ),
        (
            "Vessel Registration Identification IMO 7406784.",
            {"type": "Vessel Registration Identification", "number": "IMO 7406784", "kind": "vessel"},
        ),
        (
            "Digital Currency Address - XBT 12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h.",
            {
                "type": "Digital Currency Address - XBT",
                "number": "12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h",
                "kind": "crypto",
            },
        ),
    ],
)
def test_identifiers(remarks: str, expected: dict[str, str]) -> None:
    assert parse_remarks(remarks).identifiers == [expected]


def test_linked_to_and_aliases() -> None:
    facts = parse_remarks(
        "a.k.a. 'BNC'; f.k.a. 'ANA I'; Linked To: RADIOAVTOMATIKA LLC; Linked To: HIZBALLAH."
    )
    assert facts.linked_to == ["RADIOAVTOMATIKA LLC", "HIZBALLAH"]
    assert facts.aliases == [("BNC", "aka"), ("ANA I", "fka")]


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("11 Dec 2009", "2009-12-11"),
        ("Dec 2009", "2009-12"),
        ("1969", "1969"),
        ("circa 1951", "circa 1951"),
        ("31 Feb 2001", "31 Feb 2001"),
    ],
)
def test_dates(text: str, iso: str) -> None:
    assert ofac_date(text) == iso


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("National ID No.", "national_id"),
        ("C.U.R.P.", "national_id"),
        ("Company Number", "registration"),
        ("MMSI", "vessel"),
        ("SWIFT/BIC", "other"),
        ("Aircraft Tail Number", "aircraft"),
    ],
)
def test_identifier_kinds(label: str, kind: str) -> None:
    assert identifier_kind(label) == kind


def test_unknown_facts_are_kept_and_empty_remarks_give_nothing() -> None:
    assert parse_remarks("Some New Label XYZ.").values["other_facts"] == ["Some New Label XYZ"]
    assert split_remarks(None) == [] and split_remarks("") == []


def test_an_organisations_id_number_country_ties_it_to_that_country(shared_data) -> None:  # type: ignore[no-untyped-def]
    """PIXEL DEVICES LIMITED (SDN 2024-05-01) is tied to Hong Kong only by its "Identification Number ...
    (Hong Kong)": a watch filtered to Hong Kong must see it."""
    import csv

    from db.ingest.ofac import entity_countries

    path = shared_data / "ofac/sdn_snapshots/2024-05-01/sdn.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        row = next(r for r in csv.reader(fh) if r and r[0] == "48624")
    assert row[1] == "PIXEL DEVICES LIMITED"
    facts = parse_remarks(row[11])
    assert "hk" in entity_countries("Organization", facts, [])
    # A person's ID country is not where they are tied to (nationality and citizenship say that).
    assert entity_countries("Person", parse_remarks("Passport 123 (Hong Kong)."), []) == []
