"""Watch CRUD and the outbox claim cycle: leases, digests, retries, pauses, concurrent claimers."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AlertOutbox, Watch
from db.outbox import write_alerts
from db.queries.outbox_state import mark_retry, mark_sent, release_claims
from db.queries.watch import (
    WatchFilters,
    claim_deliveries,
    create_watch,
    delete_watch,
    find_same_watch,
    hold_for_paused_channel,
    list_watches,
    resume_watch,
)
from tests.db.watch_seed import NOW, add_change, add_entity, add_watch, seed_source

LEASE = dt.timedelta(seconds=60)


async def _seed_alerts(
    sessions: async_sessionmaker[AsyncSession], *, small: int, burst: int
) -> tuple[int, int]:
    """Two watches: one gets `small` alerts, the other `burst` (both from the same snapshot)."""
    async with sessions() as session, session.begin():
        seed = await seed_source(session)
        few = await add_watch(session, 501, keywords=["few"])
        many = await add_watch(session, 502, keywords=["many"])
        changes = []
        for i in range(small):
            changes.append(
                await add_change(session, seed, await add_entity(session, seed, f"f{i}", f"FEW {i} LLC"))
            )
        for i in range(burst):
            changes.append(
                await add_change(session, seed, await add_entity(session, seed, f"m{i}", f"MANY {i} LLC"))
            )
        await write_alerts(session, changes)
        return few.id, many.id


async def _claim(sessions, worker="w1", now=NOW, limit=50):  # type: ignore[no-untyped-def]
    return await claim_deliveries(
        sessions, worker=worker, now=now, lease=LEASE, digest_threshold=5, limit=limit
    )


async def test_small_groups_are_single_alerts_and_bursts_one_digest(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    few, many = await _seed_alerts(sessions, small=3, burst=12)
    deliveries = await _claim(sessions)
    singles = [d for d in deliveries if not d.is_digest]
    digests = [d for d in deliveries if d.is_digest]
    assert [d.watch_id for d in singles] == [few] * 3
    assert all(len(d.outbox_ids) == 1 and d.nonce == f"tw{d.leader_id}" for d in singles)
    assert len(digests) == 1 and digests[0].watch_id == many
    assert len(digests[0].outbox_ids) == len(digests[0].change_ids) == 12
    assert digests[0].nonce == f"twd{min(digests[0].outbox_ids)}" and len(digests[0].nonce) <= 25
    # Everything is claimed now: nothing more until the lease runs out.
    assert await _claim(sessions) == []


async def test_expired_lease_is_taken_over_with_the_same_nonce(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _seed_alerts(sessions, small=1, burst=6)
    first = sorted((d.nonce, d.outbox_ids) for d in await _claim(sessions, "dead"))
    assert await _claim(sessions, "w2", NOW + LEASE / 2) == []
    later = NOW + LEASE + dt.timedelta(seconds=1)
    takeover = await _claim(sessions, "w2", later)
    assert sorted((d.nonce, d.outbox_ids) for d in takeover) == first
    assert all(d.attempts == 2 and d.previous_attempt_at == NOW for d in takeover)


async def test_sent_rows_are_never_claimed_again(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _seed_alerts(sessions, small=2, burst=0)
    deliveries = await _claim(sessions)
    for i, d in enumerate(deliveries):
        assert await mark_sent(sessions, d, 9000 + i, NOW) == 1
        assert await mark_sent(sessions, d, 9000 + i, NOW) == 0  # idempotent
    assert await _claim(sessions, now=NOW + dt.timedelta(days=1)) == []
    async with sessions() as session:
        rows = (await session.execute(select(AlertOutbox.status, AlertOutbox.message_id))).tuples().all()
    assert sorted(rows) == [("sent", 9000), ("sent", 9001)]


async def test_retry_waits_for_its_time(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _seed_alerts(sessions, small=1, burst=0)
    [delivery] = await _claim(sessions)
    await mark_retry(sessions, delivery, "503 from Discord", NOW + dt.timedelta(seconds=30))
    assert await _claim(sessions, now=NOW + dt.timedelta(seconds=29)) == []
    [again] = await _claim(sessions, now=NOW + dt.timedelta(seconds=30))
    assert (again.nonce, again.attempts) == (delivery.nonce, 2)


async def test_paused_channel_holds_alerts_until_resumed(sessions: async_sessionmaker[AsyncSession]) -> None:
    few, _ = await _seed_alerts(sessions, small=2, burst=0)
    first, second = await _claim(sessions)
    assert await hold_for_paused_channel(sessions, first, "channel deleted (404 10003)", NOW) == [few]
    await mark_retry(sessions, second, "held", NOW)
    assert await _claim(sessions, now=NOW + dt.timedelta(hours=1)) == []
    async with sessions() as session, session.begin():
        watch = await session.get(Watch, few)
        assert watch is not None and watch.paused and watch.paused_reason == "channel deleted (404 10003)"
        await resume_watch(session, watch)
    assert len(await _claim(sessions, now=NOW + dt.timedelta(hours=1))) == 2


async def test_release_claims_frees_a_dead_predecessors_rows(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _seed_alerts(sessions, small=2, burst=0)
    assert len(await _claim(sessions, "dead")) == 2
    assert await release_claims(sessions, NOW) == 2
    assert len(await _claim(sessions, "w2", NOW + dt.timedelta(seconds=1))) == 2


async def test_concurrent_claimers_never_share_a_row(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Eight claimers race over 40 single alerts and a digest: every row is claimed exactly once."""
    await _seed_alerts(sessions, small=0, burst=0)
    async with sessions() as session, session.begin():
        seed = await seed_source(session, "ofac_cons")
        changes = [
            await add_change(session, seed, await add_entity(session, seed, f"k{i}", f"K{i:02d}Z"))
            for i in range(40)
        ]
        for channel in range(601, 641):  # 40 watches, one alert each, so 40 single deliveries
            await add_watch(session, channel, keywords=[f"k{channel - 601:02d}z"])
        await add_watch(session, 700, sources=["ofac_cons"])  # and one 40-entry digest
        await write_alerts(session, changes)

    async def claimer(n: int) -> list[int]:
        got: list[int] = []
        while batch := await _claim(sessions, f"w{n}", limit=3):
            got.extend(i for d in batch for i in d.outbox_ids)
        return got

    results = await asyncio.gather(*(claimer(n) for n in range(8)))
    counts = Counter(i for ids in results for i in ids)
    assert len(counts) == 80 and set(counts.values()) == {1}


async def test_watch_crud(session: AsyncSession) -> None:
    filters = WatchFilters(sources=("ofac_sdn",), countries=("CN", "HK"))
    watch, created = await create_watch(
        session, guild_id=1, channel_id=77, filters=filters, created_by=5, now=NOW
    )
    other, _ = await create_watch(
        session, guild_id=2, channel_id=78, filters=WatchFilters(), created_by=5, now=NOW
    )
    assert created and await find_same_watch(session, 77, filters) is watch
    # The same filters in another order (and keywords in another case) are the same watch.
    again, created = await create_watch(
        session,
        guild_id=1,
        channel_id=77,
        filters=WatchFilters(sources=("ofac_sdn",), countries=("HK", "CN")),
        created_by=6,
        now=NOW,
    )
    assert again is watch and not created
    assert await find_same_watch(session, 77, WatchFilters(countries=("CN",))) is None
    [summary] = await list_watches(session, 1)
    assert (
        summary.watch.id == watch.id
        and summary.watch.countries == ["CN", "HK"]
        and summary.watch.keywords is None
    )
    assert await delete_watch(session, other.id, 1) is False  # another guild's watch
    assert await delete_watch(session, watch.id, 1) is True
    assert await list_watches(session, 1) == []


async def test_identical_adds_at_once_make_one_watch(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Six identical adds in six concurrent transactions: one watch, and five are told which one it is."""
    filters = WatchFilters(sources=("ofac_sdn",), keywords=("sinno electronics",))

    async def add(user: int) -> tuple[int, bool]:
        async with sessions() as session, session.begin():
            watch, created = await create_watch(
                session, guild_id=1, channel_id=91, filters=filters, created_by=user, now=NOW
            )
            return watch.id, created

    results = await asyncio.gather(*(add(user) for user in range(6)))
    assert len({watch_id for watch_id, _ in results}) == 1
    assert sorted(created for _, created in results) == [False] * 5 + [True]
    async with sessions() as session:
        assert len((await session.execute(select(Watch).where(Watch.channel_id == 91))).all()) == 1
