"""The outbox hook: one row per (change, matching active watch), in the change's own transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AlertOutbox, ListChange, Watch
from db.outbox import ChangeFacts, canonical_type, keyword_patterns, watch_matches, write_alerts
from db.text import fold
from tests.db.watch_seed import add_change, add_entity, add_watch, seed_source


def facts(**kw) -> ChangeFacts:  # type: ignore[no-untyped-def]
    names = kw.pop("names", [])
    f = ChangeFacts(change_id=1, snapshot_id=1, source_key=kw.pop("source_key", "ofac_sdn"), **kw)
    f.add_names(names)
    return f


SINNO = dict(schema="Organization", countries={"HK"}, names=["SINNO ELECTRONICS CO., LIMITED"])
EVREN = dict(source_key="ofac_cons", schema="Person", countries={"TR"}, names=["KAYAKIRAN, Evren"])
ROSTEC = dict(schema="Company", countries={"RU"}, names=["Государственная корпорация «Ростех»"])
HAN = dict(schema="Company", countries={"CN"}, names=["华为技术有限公司"])


@pytest.mark.parametrize(
    ("filters", "change", "expected"),
    [
        ({}, SINNO, True),
        ({"sources": ["ofac_sdn"]}, SINNO, True),
        ({"sources": ["ofac_cons"]}, SINNO, False),
        ({"sources": ["ofac"]}, EVREN, True),  # a family name stands for its sources
        ({"sources": ["opensanctions"]}, dict(SINNO, source_key="opensanctions:us_ofac_sdn"), True),
        (
            {"sources": ["opensanctions:ua_war_sanctions"]},
            dict(SINNO, source_key="opensanctions:us_ofac_sdn"),
            False,
        ),
        ({"countries": ["HK", "CN"]}, SINNO, True),
        ({"countries": ["CN"]}, SINNO, False),
        ({"countries": ["hk"]}, SINNO, True),
        ({"keywords": ["sinno"]}, SINNO, True),
        ({"keywords": ["electronic"]}, SINNO, True),  # start of a word
        ({"keywords": ["lectronics"]}, SINNO, False),  # not inside a word
        ({"keywords": ["kayakıran"]}, EVREN, True),  # dotless i folds to its transliteration
        ({"keywords": ["ÉVREN"]}, EVREN, True),  # case and accents ignored
        ({"keywords": ["rosteh", "nothing"]}, ROSTEC, True),  # any keyword; Cyrillic name via transliteration
        ({"keywords": ["Ростех"]}, ROSTEC, True),
        ({"keywords": ["华为"]}, HAN, True),  # no word boundaries in Chinese
        ({"types": ["organization"]}, SINNO, True),
        ({"types": ["organization"]}, ROSTEC, True),  # Company is an organization
        ({"types": ["person"]}, SINNO, False),
        ({"types": ["person"]}, EVREN, True),
        ({"types": ["Company"]}, ROSTEC, True),
        ({"countries": ["HK"], "keywords": ["evren"]}, SINNO, False),  # AND across kinds
        ({"countries": ["TR"], "types": ["person"], "sources": ["ofac_cons"]}, EVREN, True),
    ],
)
def test_watch_matching(filters: dict[str, list[str]], change: dict[str, object], expected: bool) -> None:
    watch = Watch(**filters)
    assert watch_matches(watch, facts(**change)) is expected


@pytest.mark.parametrize(
    ("word", "canonical"),
    [
        ("companies", "organization"),
        ("Person", "person"),
        ("individual", "person"),
        ("vessel", "vessel"),
        ("publicbody", "PublicBody"),
        ("spaceship", None),
    ],
)
def test_canonical_type(word: str, canonical: str | None) -> None:
    assert canonical_type(word) == canonical


def test_fold_and_patterns() -> None:
    assert fold("  Évren,   KAYAKIRAN ", keep_punctuation=False) == "evren kayakiran"
    assert [p.pattern for p in keyword_patterns("  ")] == []


async def _count(session: AsyncSession, model: type) -> int:
    return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_rows_for_matching_active_watches_only(session: AsyncSession) -> None:
    seed = await seed_source(session)
    hk = await add_entity(session, seed, "38641", "SINNO ELECTRONICS CO., LIMITED", countries=["hk"])
    ru = await add_entity(session, seed, "38700", "OOO TEST RADIO", countries=["ru"])
    china = await add_watch(session, 501, countries=["HK", "CN"])
    everything = await add_watch(session, 502)
    paused = await add_watch(session, 503)
    paused.paused = True
    changes = [await add_change(session, seed, hk), await add_change(session, seed, ru)]
    assert await write_alerts(session, changes) == 3
    rows = (
        (
            await session.execute(
                select(AlertOutbox.change_id, AlertOutbox.watch_id, AlertOutbox.group_key, AlertOutbox.status)
            )
        )
        .tuples()
        .all()
    )
    assert sorted(rows) == sorted(
        [
            (changes[0].id, china.id, f"s{seed.snapshot.id}w{china.id}", "pending"),
            (changes[0].id, everything.id, f"s{seed.snapshot.id}w{everything.id}", "pending"),
            (changes[1].id, everything.id, f"s{seed.snapshot.id}w{everything.id}", "pending"),
        ]
    )
    # Running the hook again for the same changes adds nothing (unique on change + watch).
    assert await write_alerts(session, changes) == 3
    assert await _count(session, AlertOutbox) == 3


async def test_removed_entity_matches_on_change_details(session: AsyncSession) -> None:
    """A delisting whose entity row is gone still matches, on the facts the change itself carries."""
    seed = await seed_source(session, "ofac_cons")
    watch = await add_watch(session, countries=["TR"], types=["person"])
    change = await add_change(
        session,
        seed,
        None,
        change="removed",
        name="KAYAKIRAN, Evren",
        key="26182",
        details={"schema": "Person", "countries": ["tr"]},
    )
    assert await write_alerts(session, [change]) == 1
    assert (await session.execute(select(AlertOutbox.watch_id))).scalar_one() == watch.id


async def test_no_watches_no_rows(session: AsyncSession) -> None:
    seed = await seed_source(session)
    entity = await add_entity(session, seed, "1", "ANY CO")
    assert await write_alerts(session, [await add_change(session, seed, entity)]) == 0
    assert await write_alerts(session, []) == 0


async def test_a_failed_transaction_leaves_neither_changes_nor_alerts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Changes and their alerts commit together: a failure after the hook rolls both back."""
    async with sessions() as session, session.begin():
        seed = await seed_source(session)
        await add_watch(session)
        entity = await add_entity(session, seed, "1", "ANY CO")
    with pytest.raises(RuntimeError):
        async with sessions() as session, session.begin():
            change = await add_change(session, seed, entity)
            assert await write_alerts(session, [change]) == 1
            raise RuntimeError("the import fails after change detection")
    async with sessions() as session:
        assert await _count(session, ListChange) == 0
        assert await _count(session, AlertOutbox) == 0
    async with sessions() as session, session.begin():
        change = await add_change(session, seed, entity)
        assert await write_alerts(session, [change]) == 1
    async with sessions() as session:
        assert (await _count(session, ListChange), await _count(session, AlertOutbox)) == (1, 1)
