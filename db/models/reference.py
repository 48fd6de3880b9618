"""Reference tables: the HS nomenclature."""

from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class HsCode(Base):
    """One HS heading or subheading (2, 4 or 6 digits) with its description."""

    __tablename__ = "hs_codes"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    level: Mapped[int]
    description: Mapped[str] = mapped_column(String(1000))
    parent: Mapped[str | None] = mapped_column(String(8))
    section: Mapped[str | None] = mapped_column(String(8))

    __table_args__ = (Index("ix_hs_codes_parent", "parent"),)
