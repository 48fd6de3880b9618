"""Alert and digest Replies: what changed, the listing, enrichment with its sources, and a CSV hiding nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy.ext.asyncio import AsyncSession

from commands.alerts import TEST_BANNER, build_digest, delivery_reply, describe_change
from db.lookups import Lookups
from db.models import Designation, Relation, Shipment, TradeFlow
from db.queries.alerts import ChangeView, load_changes
from tests.db.watch_seed import NOW, add_change, add_entity, seed_source


def _view(**kw) -> ChangeView:  # type: ignore[no-untyped-def]
    base = dict(
        change_id=1,
        change="added",
        entity_key="38641",
        name="TEST ELECTRONICS CO., LIMITED",
        detected_at=NOW,
        source_key="ofac_sdn",
        source_title="OFAC SDN List",
        publisher="U.S. Treasury, OFAC",
        source_url="https://sanctionslist.ofac.treas.gov/",
        data_date="2022-09-30",
        previous_data_date="2022-09-29",
        countries=["HK"],
        programs=["RUSSIA-EO14024"],
    )
    base.update(kw)
    return ChangeView(**base)


def test_describe_each_kind_of_change() -> None:
    assert describe_change(_view()) == [
        "New entry 38641 on OFAC SDN List, in the 2022-09-30 file (compared with 2022-09-29)."
    ]
    assert describe_change(_view(change="removed")) == [
        "Entry 38641 is no longer on OFAC SDN List in the 2022-09-30 file (compared with 2022-09-29)."
    ]
    amended = _view(
        change="amended",
        details={
            "changed": {
                "name": {"old": "OLD NAME", "new": "TEST ELECTRONICS CO., LIMITED"},
                "aliases": {"added": [["NEW ALIAS", "aka"]], "removed": []},
                "programs": {"added": ["BELARUS-EO14038"], "removed": ["RUSSIA-EO14024"]},
            }
        },
    )
    assert describe_change(amended)[1:] == [
        "name: OLD NAME -> TEST ELECTRONICS CO., LIMITED",
        "aliases: + NEW ALIAS, aka",
        "programs: + BELARUS-EO14038; - RUSSIA-EO14024",
    ]


async def test_single_alert_with_listing_and_enrichment(session: AsyncSession, lookups: Lookups) -> None:
    seed = await seed_source(session)
    entity = await add_entity(
        session, seed, "38641", "TEST ELECTRONICS CO., LIMITED", countries=["hk"], aliases=["TEST ELEC"]
    )
    session.add(
        Designation(
            entity_id=entity.id,
            authority="U.S. Treasury OFAC",
            list_name="SDN List",
            program="RUSSIA-EO14024",
            listed_on=dt.date(2022, 9, 30),
            reference="87 FR 59893",
            source_url="https://sanctionssearch.ofac.treas.gov/Details.aspx?id=38641",
        )
    )
    other_seed = await seed_source(session, "curated")
    twin = await add_entity(session, other_seed, "c-1", "TEST ELECTRONICS CO., LIMITED", countries=["hk"])
    parent = await add_entity(session, other_seed, "c-2", "TEST HOLDING LTD", countries=["hk"])
    session.add(
        Relation(
            source_id=other_seed.source.id,
            snapshot_id=other_seed.snapshot.id,
            kind="ownership",
            from_entity_id=parent.id,
            from_name=parent.name,
            to_entity_id=entity.id,
            to_name=entity.name,
        )
    )
    for i in range(3):
        session.add(
            Shipment(
                source_id=other_seed.source.id,
                snapshot_id=other_seed.snapshot.id,
                source_key=f"s{i}",
                date=dt.date(2023, 1 + i, 5),
                exporter_name=entity.name,
                exporter_entity_id=entity.id,
                importer_name="TEST IMPORTER OOO",
                hs_code="854231",
                value_usd=1000.0 * (i + 1),
            )
        )
    hong_kong = lookups.country("HK")
    russia = lookups.country("RU")
    assert hong_kong is not None and russia is not None
    for month in (1, 2):
        session.add(
            TradeFlow(
                source_id=other_seed.source.id,
                snapshot_id=other_seed.snapshot.id,
                reporter=hong_kong.code,
                partner=russia.code,
                flow="X",
                hs_code="854231",
                hs_level=6,
                freq="M",
                period=202300 + month,
                value_usd=5e6,
            )
        )
    change = await add_change(session, seed, entity)
    await session.flush()
    reply = await delivery_reply(session, [change.id], digest=False, lookups=lookups)
    assert reply is not None
    text = reply.to_text()
    assert reply.title == "Newly listed: TEST ELECTRONICS CO., LIMITED"
    assert "Hong Kong (HK)" in text
    assert (
        "U.S. Treasury OFAC SDN List · program RUSSIA-EO14024 · listed 2022-09-30 · reference 87 FR 59893"
        in text
    )
    assert "Also known as: TEST ELEC" in text
    assert (
        "Other listings of the same entity:\n  curated (test): TEST ELECTRONICS CO., LIMITED (entry c-1)"
        in text
    )
    assert "owned by TEST HOLDING LTD (curated (test))" in text
    assert "3 shipments, $6,000 in total (3 with a value), 2023-01-05 to 2023-03-05" in text
    assert "HS codes: 854231 (3)" in text and "With: TEST IMPORTER OOO (3)" in text
    assert f"HS 854231: {hong_kong.name} exports to {russia.name}, 2023 (2 months): $10,000,000" in text
    assert [(c.source, c.data_date) for c in reply.citations] == [
        ("ofac_sdn (test)", "2022-09-30"),
        ("curated (test)", "2022-09-30"),
    ]
    assert reply.numbers["entry"] == "38641" and reply.numbers["test"] is False
    assert twin.id != entity.id


async def test_test_alert_is_labelled(session: AsyncSession, lookups: Lookups) -> None:
    seed = await seed_source(session)
    change = await add_change(session, seed, await add_entity(session, seed, "1", "ANY CO"))
    reply = await delivery_reply(session, [change.id], digest=False, lookups=lookups, test=True)
    assert reply is not None
    assert reply.title.startswith("[TEST] ") and reply.summary[0] == TEST_BANNER and reply.numbers["test"]


async def test_digest_lists_every_entry_in_its_csv(session: AsyncSession) -> None:
    seed = await seed_source(session)
    ids = []
    for i in range(296):
        entity = await add_entity(session, seed, str(40000 + i), f"=TEST {i} LLC", countries=["ru"])
        ids.append((await add_change(session, seed, entity)).id)
    removed = await add_change(session, seed, None, change="removed", name="GONE, Someone", key="26182")
    reply = await delivery_reply(session, [*ids, removed.id], digest=True)
    assert reply is not None
    assert reply.title == "ofac_sdn (test): 296 added, 1 removed"
    [attachment] = reply.attachments
    rows = list(csv.DictReader(io.StringIO(attachment.data.decode("utf-8-sig"))))
    assert len(rows) == 297
    assert {r["entry"] for r in rows} == {str(40000 + i) for i in range(296)} | {"26182"}
    assert rows[0]["name"] == "'=TEST 0 LLC"  # a formula-looking name is neutralised for spreadsheets
    assert "First 15 of 297 (282 more in the CSV)" == reply.fields[0].name
    assert reply.numbers["count"] == 297 and len(reply.numbers["entries"]) == 297


async def test_digest_from_views_is_pure() -> None:
    views = [_view(change_id=i, entity_key=str(i), name=f"N{i}") for i in range(7)]
    reply = build_digest(views, test=True)
    assert reply.title.startswith("[TEST] ") and reply.numbers["by_change"] == {"added": 7}


async def test_unknown_changes_give_no_reply(session: AsyncSession) -> None:
    assert await load_changes(session, [12345]) == []
    assert await delivery_reply(session, [12345], digest=False) is None
