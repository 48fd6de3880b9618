"""Identifiers and tied countries derived from a normalised record at import."""

from __future__ import annotations

from db.ingest.entity_identity import identifier_rows, tied_countries
from db.ingest.entity_records import EntityRecord


def test_identifier_rows_normalise_and_include_the_natural_key() -> None:
    record = EntityRecord(
        "38641",
        "Company",
        "SINNO ELECTRONICS CO., LIMITED",
        properties={
            "identifiers": [
                {"type": "Registration Number", "number": "1401029", "country": "hk"},
                {"type": "Tax ID No.", "number": "77-2582-4287"},
                {"type": "Registration Number", "number": "01401029"},  # the same number again
                {"type": "Vessel", "number": "12"},  # too short to identify anything
            ]
        },
    )
    rows = identifier_rows(record, 7)
    assert [(r["scheme"], r["normalized"]) for r in rows] == [
        ("Registration Number", "1401029"),
        ("Tax ID No.", "7725824287"),
        ("record id in the source", "38641"),
    ]
    assert all(r["entity_id"] == 7 for r in rows)


def test_tied_countries_take_addresses_identifiers_nationality_and_a_place_in_a_name() -> None:
    record = EntityRecord(
        "world-jetta",
        "Company",
        "World Jetta Logistics Ltd.",
        countries=["cn"],
        aliases=[("World Jetta (H.K.) Logistics", "aka"), ("Acme (S.A.)", "aka")],
        properties={
            "addresses": [{"city": "Dubai", "country": "ae"}],
            "identifiers": [{"number": "123456", "country": "cy"}],
            "nationalities": ["ru"],
        },
    )
    assert tied_countries(record) == ["ae", "cn", "cy", "hk", "ru"]  # not "sa" for the legal form (S.A.)
