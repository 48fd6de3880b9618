"""Sources (publishers and their files) and snapshots (one loaded file of a source)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class Source(Base):
    """A data source, e.g. `ofac_sdn`, `comtrade`, `china_customs_derived`: what answers cite."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    publisher: Mapped[str] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(1000))
    notes: Mapped[str | None] = mapped_column(String(2000))


class Snapshot(Base):
    """One file (or API response set) of a source as loaded, with its checksum and data date."""

    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(500))
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # The date the data describes or was published, when the file says so (e.g. "periods to 2024-12").
    data_date: Mapped[str | None] = mapped_column(String(40))
    rows_read: Mapped[int] = mapped_column(default=0)
    rows_loaded: Mapped[int] = mapped_column(default=0)
    rows_skipped: Mapped[int] = mapped_column(default=0)
    skipped_reasons: Mapped[dict[str, int] | None] = mapped_column(JSON)
    meta: Mapped[dict[str, object] | None] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("source_id", "sha256", name="uq_snapshots_source_sha256"),
        Index("ix_snapshots_source_fetched", "source_id", "fetched_at"),
    )


class ImportHold(Base):
    """A list snapshot held back by the mass-change guard: not applied, no alerts, until someone confirms it.

    One row per source (the latest held file); a successful import of the source clears it.
    """

    __tablename__ = "import_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(String(80), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(String(1000))
    held_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
