"""Scheduled briefs: one schedule per watch channel, and the outbox of the briefs it made due."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base
from db.models.watch import OutboxState


class BriefSchedule(Base):
    """When a watch channel receives the /brief: `every` daily or weekly, on `weekday` (0 = Monday, weekly
    only), at local `at_time` (HH:MM) in the IANA `time_zone` (commands.schedule has the slot maths).

    One per channel; it posts only while the channel has an active (not paused) watch.
    """

    __tablename__ = "brief_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    channel_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    every: Mapped[str] = mapped_column(String(10))  # daily, weekly
    weekday: Mapped[int | None] = mapped_column()
    at_time: Mapped[str] = mapped_column(String(5))  # HH:MM, local
    time_zone: Mapped[str] = mapped_column(String(60))
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    # Set or last changed: slots before this are not posted (a new schedule starts with its next slot).
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class BriefOutbox(OutboxState, Base):
    """One scheduled brief to post: a schedule's due `slot` (UTC), covering list changes since `since`.

    Unique on (schedule, slot): bot processes that find the same slot due at once insert one row.
    """

    __tablename__ = "brief_outbox"

    schedule_id: Mapped[int] = mapped_column(ForeignKey("brief_schedules.id", ondelete="CASCADE"))
    slot: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    since: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("schedule_id", "slot", name="uq_brief_outbox_schedule_slot"),
        Index("ix_brief_outbox_status_next", "status", "next_attempt_at"),
    )
