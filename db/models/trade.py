"""Trade flows: one value per reporter, partner, flow, HS code, period and source."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class TradeFlow(Base):
    """A reported trade value.

    Countries are UN Comtrade numeric codes (M49-based; 842 USA, 490 "Other Asia, nes" for Taiwan).
    `period` is YYYYMM for monthly data (`freq` "M") and YYYY00 for annual data (`freq` "A"), so one
    integer range covers both. `hs_code` is 2, 4 or 6 digits (national 8/10-digit lines are rolled up to
    HS-6 on import), or "TOTAL" for all goods; `hs_level` is its number of digits, 0 for "TOTAL". Rows of
    several levels may exist for one pair and month: sum ONE level per code prefix (db/ingest/trade_load.py).
    Column order matches `db.ingest.trade_write.Flow`, so bulk loads pass its tuples straight to the driver.
    """

    __tablename__ = "trade_flows"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"))
    reporter: Mapped[int] = mapped_column(SmallInteger)
    partner: Mapped[int] = mapped_column(SmallInteger)
    flow: Mapped[str] = mapped_column(String(2))  # "X" exports, "M" imports (as the reporter reports them)
    hs_code: Mapped[str] = mapped_column(String(10))
    period: Mapped[int]
    freq: Mapped[str] = mapped_column(String(1))
    hs_level: Mapped[int] = mapped_column(SmallInteger)  # digits of hs_code; 0 for "TOTAL" (all goods)
    value_usd: Mapped[float | None] = mapped_column(Float)
    net_kg: Mapped[float | None] = mapped_column(Float)
    qty: Mapped[float | None] = mapped_column(Float)
    qty_unit: Mapped[str | None] = mapped_column(String(20))

    __table_args__ = (
        # The natural key, and the index for a monthly series of one pair (equality columns first).
        Index(
            "uq_trade_flows_natural_key",
            "reporter",
            "partner",
            "flow",
            "hs_code",
            "period",
            "freq",
            "source_id",
            unique=True,
        ),
        # Top partners for a commodity: (reporter, flow, hs range, period range) -> partner.
        Index("ix_trade_flows_goods", "reporter", "flow", "hs_code", "period", "partner", "value_usd"),
    )
