"""Detected list changes, watch channels, the durable alert outbox and per-source sync state."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class ListChange(Base):
    """One entry added to, removed from or amended in a source between two snapshots."""

    __tablename__ = "list_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"))
    previous_snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id", ondelete="SET NULL"))
    entity_key: Mapped[str] = mapped_column(String(200))
    entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id", ondelete="SET NULL"))
    change: Mapped[str] = mapped_column(String(10))  # added, removed, amended
    name: Mapped[str] = mapped_column(String(1000))
    details: Mapped[dict[str, object] | None] = mapped_column(JSON)  # what changed, listing facts
    detected_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("snapshot_id", "entity_key", name="uq_list_changes_snapshot_key"),
        Index("ix_list_changes_source_detected", "source_id", "detected_at"),
    )


def filters_key(
    sources: Iterable[str] | None,
    countries: Iterable[str] | None,
    keywords: Iterable[str] | None,
    types: Iterable[str] | None,
) -> str:
    """The filters of a watch as one comparable value (sha256 hex), for the one-watch-per-filters constraint.

    Order within a filter does not change what a watch matches, nor does a keyword's case (matching is
    case-insensitive), so `HK, CN` and `cn, hk` give the same key.
    """
    canonical = [
        sorted(sources or ()),
        sorted(countries or ()),
        sorted({k.casefold() for k in keywords or ()}),
        sorted(types or ()),
    ]
    return hashlib.sha256(json.dumps(canonical, ensure_ascii=False).encode()).hexdigest()


def _filters_key_default(context: Any) -> str:
    row = context.get_current_parameters()
    return filters_key(row.get("sources"), row.get("countries"), row.get("keywords"), row.get("types"))


class Watch(Base):
    """A watch channel: which list changes to post where.

    Filters combine with AND across kinds and OR within a kind; an empty (NULL) filter matches anything.
    `sources` holds source keys (`ofac_sdn`), `countries` ISO2 codes in upper case, `keywords` words matched
    case- and accent-insensitively in names and aliases, `types` entity kinds (person, organization, vessel,
    aircraft or a FollowTheMoney schema name). A paused watch gets no new alerts and none are delivered.
    One watch per channel and filters: `filters_key` (see `filters_key`) is unique with the channel, so
    identical `/watch add`s sent at once make one watch.
    """

    __tablename__ = "watches"

    id: Mapped[int] = mapped_column(primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    sources: Mapped[list[str] | None] = mapped_column(JSON)
    countries: Mapped[list[str] | None] = mapped_column(JSON)
    keywords: Mapped[list[str] | None] = mapped_column(JSON)
    types: Mapped[list[str] | None] = mapped_column(JSON)
    filters_key: Mapped[str] = mapped_column(String(64), default=_filters_key_default)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_reason: Mapped[str | None] = mapped_column(String(500))
    paused_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_watches_channel", "channel_id"),
        UniqueConstraint("channel_id", "filters_key", name="uq_watches_channel_filters"),
    )


class OutboxState:
    """The delivery columns every outbox shares (alerts here, scheduled briefs in db.models.brief).

    `status` is pending -> sending (claimed until `lease_until` by `claimed_by`) -> sent, or failed when
    retrying cannot help. `nonce` is the Discord message nonce, deterministic so a retry never posts twice;
    db.queries.outbox_state claims and marks rows of any table with these columns.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending, sending, sent, failed
    nonce: Mapped[str | None] = mapped_column(String(25))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The first claim: any message of this delivery in Discord is newer (the nonce look-back starts here).
    first_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(String(1000))


class AlertOutbox(OutboxState, Base):
    """One alert to post: a change for a watch. Written in the same transaction as the change.

    Rows of one watch from one snapshot share a `group_key`; a large group is posted as one digest
    message (its lowest id leads the group, and every member carries the same outcome). The delivery
    columns (status, lease, nonce, attempts) are `OutboxState`'s.
    """

    __tablename__ = "alert_outbox"

    change_id: Mapped[int] = mapped_column(ForeignKey("list_changes.id", ondelete="CASCADE"))
    watch_id: Mapped[int] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"))
    group_key: Mapped[str] = mapped_column(String(60))  # "s<snapshot id>w<watch id>"

    __table_args__ = (
        UniqueConstraint("change_id", "watch_id", name="uq_alert_outbox_change_watch"),
        Index("ix_alert_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_alert_outbox_group", "group_key"),
        Index("ix_alert_outbox_watch", "watch_id"),
    )


class SyncState(Base):
    """Per-source sync bookkeeping: the validators of the last good files, the outcome, the schedule.

    `files` maps each file name of the source to what was last fetched and imported successfully:
    `{"url", "etag", "last_modified", "sha256", "bytes"}`; conditional requests are built from it. `cursor` is
    a source-specific position (the OpenSanctions delta version applied last, the OFAC change file's URL).
    """

    __tablename__ = "sync_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(String(80), unique=True)
    files: Mapped[dict[str, object] | None] = mapped_column(JSON)
    last_sha256: Mapped[str | None] = mapped_column(String(64))
    cursor: Mapped[str | None] = mapped_column(String(300))
    last_outcome: Mapped[str | None] = mapped_column(String(20))  # imported, unchanged, recorded, failed
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_change_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    next_sync_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    failures: Mapped[int] = mapped_column(default=0)  # consecutive failed attempts
    last_error: Mapped[str | None] = mapped_column(String(1000))
