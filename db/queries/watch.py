"""Watches (create, list, remove, pause) and how alerts are claimed (marking: db.queries.outbox_state).

Claims. A delivery is one Discord message: a single alert (one outbox row), or a digest (every row of a
large group: one watch, one snapshot). Only the group's lowest id, its leader, is ever locked, so two
claimers can never split a digest. On PostgreSQL the leaders are selected `FOR UPDATE SKIP LOCKED`, and the
claim is committed as status `sending` with a lease (`lease_until`): other processes skip the rows until the
lease runs out, then take them over (the owner died). On SQLite the same statements run without row locks;
one process delivers per database file (bot.alerts holds a file lock for that), and at start it may take
back its own dead predecessor's claims at once (`release_claims`). Scheduled briefs are claimed the same way
(db.queries.brief_schedule), through the same claim and mark statements.

Every delivery carries a deterministic Discord nonce, so a repeated post (after a crash between posting and
marking, or a lease takeover) returns the existing message instead of creating a second one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AlertOutbox, BriefSchedule, ListChange, Watch
from db.models.watch import filters_key
from db.queries.outbox_state import Delivery, attempt_times, claim_values, claimable, settle

CLAIMABLE_STATUSES = ("pending", "sending")
# The longest value one watch filter may be given as typed (comma-separated items); Discord is told too.
MAX_FILTER_TEXT = 1000


@dataclass(frozen=True)
class WatchFilters:
    """The filters of a watch, already validated and canonical (see db.outbox for the matching rules)."""

    sources: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    types: tuple[str, ...] = ()

    def as_columns(self) -> dict[str, list[str] | None]:
        return {
            "sources": list(self.sources) or None,
            "countries": list(self.countries) or None,
            "keywords": list(self.keywords) or None,
            "types": list(self.types) or None,
        }

    @classmethod
    def of(cls, watch: Watch) -> WatchFilters:
        return cls(
            tuple(watch.sources or ()),
            tuple(watch.countries or ()),
            tuple(watch.keywords or ()),
            tuple(watch.types or ()),
        )


@dataclass(frozen=True)
class WatchSummary:
    """A watch with its alert counts, for `/watch list`."""

    watch: Watch
    pending: int = 0
    sent: int = 0
    failed: int = 0
    last_delivered_at: dt.datetime | None = None


async def create_watch(
    session: AsyncSession,
    *,
    guild_id: int,
    channel_id: int,
    filters: WatchFilters,
    created_by: int | None,
    now: dt.datetime,
) -> tuple[Watch, bool]:
    """Add a watch unless the channel has one with the same filters (the caller commits).

    One INSERT ... ON CONFLICT DO NOTHING on the (channel, filters) constraint: identical adds sent at once
    make one watch, whichever commits first (PostgreSQL makes the others wait for it; SQLite has one writer).

    Returns:
        The watch (new and flushed, or the existing one) and whether it was created now.
    """
    columns = filters.as_columns()
    key = filters_key(**columns)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(Watch)
        .values(
            guild_id=guild_id,
            channel_id=channel_id,
            created_by=created_by,
            created_at=now,
            paused=False,
            filters_key=key,
            **columns,
        )
        .on_conflict_do_nothing(index_elements=["channel_id", "filters_key"])
        .returning(Watch.id)
    )
    new_id = (await session.execute(stmt)).scalar_one_or_none()
    if new_id is not None:
        watch = await session.get(Watch, new_id)
        assert watch is not None
        return watch, True
    same = await find_same_watch(session, channel_id, filters)
    assert same is not None  # the conflict was on this very key
    return same, False


async def find_same_watch(session: AsyncSession, channel_id: int, filters: WatchFilters) -> Watch | None:
    """An existing watch on the channel with the same filters (in any order), if any."""
    stmt = select(Watch).where(
        Watch.channel_id == channel_id, Watch.filters_key == filters_key(**filters.as_columns())
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_watch(session: AsyncSession, watch_id: int, guild_id: int) -> Watch | None:
    """The watch with this id in this guild (None if it does not exist or belongs to another guild)."""
    stmt = select(Watch).where(Watch.id == watch_id, Watch.guild_id == guild_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_watches(
    session: AsyncSession, guild_id: int | None, channel_id: int | None = None
) -> list[WatchSummary]:
    """The guild's watches (every guild's: None), optionally one channel's, oldest first, with alert counts."""
    stmt = select(Watch).order_by(Watch.id).limit(200)
    if guild_id is not None:
        stmt = stmt.where(Watch.guild_id == guild_id)
    if channel_id is not None:
        stmt = stmt.where(Watch.channel_id == channel_id)
    watches = list((await session.execute(stmt)).scalars())
    if not watches:
        return []
    counts_stmt = (
        select(AlertOutbox.watch_id, AlertOutbox.status, func.count(), func.max(AlertOutbox.delivered_at))
        .where(AlertOutbox.watch_id.in_([w.id for w in watches]))
        .group_by(AlertOutbox.watch_id, AlertOutbox.status)
    )
    counts: dict[int, dict[str, int]] = {}
    last: dict[int, dt.datetime] = {}
    for watch_id, status, n, delivered in (await session.execute(counts_stmt)).tuples():
        counts.setdefault(watch_id, {})[status] = n
        if delivered is not None:
            last[watch_id] = delivered
    out = []
    for w in watches:
        c = counts.get(w.id, {})
        out.append(
            WatchSummary(
                w,
                c.get("pending", 0) + c.get("sending", 0),
                c.get("sent", 0),
                c.get("failed", 0),
                last.get(w.id),
            )
        )
    return out


async def delete_watch(session: AsyncSession, watch_id: int, guild_id: int) -> bool:
    """Remove a watch and its undelivered alerts (the caller commits). False if there was no such watch.

    The channel's brief schedule goes with its last watch (a schedule belongs to a watch channel).
    """
    channel_id = (
        await session.execute(
            select(Watch.channel_id).where(Watch.id == watch_id, Watch.guild_id == guild_id)
        )
    ).scalar_one_or_none()
    if channel_id is None:
        return False
    await session.execute(delete(Watch).where(Watch.id == watch_id))
    await session.execute(delete(AlertOutbox).where(AlertOutbox.watch_id == watch_id))
    if (
        await session.execute(select(Watch.id).where(Watch.channel_id == channel_id).limit(1))
    ).first() is None:
        await session.execute(delete(BriefSchedule).where(BriefSchedule.channel_id == channel_id))
    return True


async def pause_channel(session: AsyncSession, channel_id: int, reason: str, now: dt.datetime) -> list[int]:
    """Pause every active watch posting to a channel (deleted, or the bot may not post there).

    Returns:
        The ids of the watches paused now.
    """
    stmt = select(Watch.id).where(Watch.channel_id == channel_id, Watch.paused.is_(False))
    ids = list((await session.execute(stmt)).scalars())
    if ids:
        await session.execute(
            update(Watch)
            .where(Watch.id.in_(ids))
            .values(paused=True, paused_reason=reason[:500], paused_at=now)
        )
    return ids


async def resume_watch(session: AsyncSession, watch: Watch) -> None:
    """Un-pause a watch: its held alerts are delivered again, from now on (the caller commits)."""
    watch.paused = False
    watch.paused_reason = None
    watch.paused_at = None
    await session.execute(
        update(AlertOutbox)
        .where(AlertOutbox.watch_id == watch.id, AlertOutbox.status == "pending")
        .values(next_attempt_at=None)
    )


async def last_changes(
    session: AsyncSession, source_ids: Sequence[int] | None, limit: int = 200
) -> list[ListChange]:
    """The most recent detected changes, newest first, optionally of some sources only."""
    stmt = select(ListChange).order_by(ListChange.detected_at.desc(), ListChange.id.desc()).limit(limit)
    if source_ids is not None:
        stmt = stmt.where(ListChange.source_id.in_(source_ids))
    return list((await session.execute(stmt)).scalars())


# --- claims ---------------------------------------------------------------------------------------------


def nonce_for(leader_id: int, is_digest: bool) -> str:
    """The Discord nonce of a delivery: stable across retries and processes (at most 25 characters)."""
    return f"{'twd' if is_digest else 'tw'}{leader_id}"


def _leaders_stmt(
    now: dt.datetime, digest_threshold: int, limit: int, postgres: bool
) -> Select[tuple[AlertOutbox, int, int, int]]:
    open_groups = select(AlertOutbox.group_key).where(AlertOutbox.status.in_(CLAIMABLE_STATUSES))
    groups = (
        select(
            AlertOutbox.group_key.label("group_key"),
            func.count(AlertOutbox.id).label("size"),
            func.min(AlertOutbox.id).label("leader"),
        )
        .where(AlertOutbox.group_key.in_(open_groups))
        .group_by(AlertOutbox.group_key)
        .subquery()
    )
    stmt = (
        select(AlertOutbox, groups.c.size, Watch.guild_id, Watch.channel_id)
        .join(groups, groups.c.group_key == AlertOutbox.group_key)
        .join(Watch, Watch.id == AlertOutbox.watch_id)
        .where(
            Watch.paused.is_(False),
            claimable(AlertOutbox, now),
            or_(groups.c.size <= digest_threshold, AlertOutbox.id == groups.c.leader),
        )
        .order_by(AlertOutbox.id)
        .limit(limit)
    )
    if postgres:
        stmt = stmt.with_for_update(of=AlertOutbox, skip_locked=True)
    return stmt


async def claim_deliveries(
    sessions: async_sessionmaker[AsyncSession],
    *,
    worker: str,
    now: dt.datetime,
    lease: dt.timedelta,
    digest_threshold: int,
    limit: int = 10,
) -> list[Delivery]:
    """Claim up to `limit` deliveries for this worker, in one committed transaction.

    Args:
        sessions: the session factory (the claim commits on its own).
        worker: this process's claimer id (host:pid:random).
        now: the clock.
        lease: how long the claim holds before another process may take it over.
        digest_threshold: groups larger than this are one digest message.
        limit: most deliveries claimed at once.
    Returns:
        The claimed deliveries, oldest first.
    """
    async with sessions() as session, session.begin():
        postgres = session.get_bind().dialect.name == "postgresql"
        rows = (await session.execute(_leaders_stmt(now, digest_threshold, limit, postgres))).all()
        out = []
        for row, size, guild_id, channel_id in rows:
            delivery = await _take(
                session, row, size > digest_threshold, guild_id, channel_id, worker, now, lease
            )
            if delivery is not None:
                out.append(delivery)
        return out


async def _take(
    session: AsyncSession,
    leader: AlertOutbox,
    is_digest: bool,
    guild_id: int,
    channel_id: int,
    worker: str,
    now: dt.datetime,
    lease: dt.timedelta,
) -> Delivery | None:
    members = AlertOutbox.group_key == leader.group_key if is_digest else AlertOutbox.id == leader.id
    previous, first = attempt_times(leader)
    nonce = nonce_for(leader.id, is_digest)
    result = await session.execute(
        update(AlertOutbox)
        .where(members, claimable(AlertOutbox, now))
        .values(**claim_values(AlertOutbox, worker, now, lease, nonce))
        .returning(AlertOutbox.id, AlertOutbox.change_id)
        .execution_options(synchronize_session=False)
    )
    taken = sorted(result.tuples().all())
    if not taken:
        return None  # another claimer got there first (SQLite without row locks)
    return Delivery(
        leader_id=leader.id,
        guild_id=guild_id,
        channel_id=channel_id,
        nonce=nonce,
        table=AlertOutbox,
        outbox_ids=[i for i, _ in taken],
        attempts=leader.attempts + 1,
        previous_attempt_at=previous,
        first_attempt_at=first,
        watch_id=leader.watch_id,
        is_digest=is_digest,
        change_ids=[c for _, c in taken],
    )


async def hold_for_paused_channel(
    sessions: async_sessionmaker[AsyncSession], delivery: Delivery, reason: str, now: dt.datetime
) -> list[int]:
    """Pause the channel's watches and settle the delivery: an alert stays pending (it goes out if the watch
    is resumed); a scheduled brief fails (it is about its slot's week; the next slot after a resume posts).

    Returns:
        The ids of the watches paused now.
    """
    async with sessions() as session, session.begin():
        paused = await pause_channel(session, delivery.channel_id, reason, now)
        await session.execute(settle(delivery, "failed" if delivery.brief else "pending", reason))
        return paused
