"""SQLAlchemy 2 typed models. Importing this package registers every table on `Base.metadata`."""

from db.models.base import Base
from db.models.brief import BriefOutbox, BriefSchedule
from db.models.entities import (
    Designation,
    Entity,
    EntityIdentifier,
    EntityName,
    Relation,
    ReportedFigure,
    Shipment,
)
from db.models.reference import HsCode
from db.models.sources import ImportHold, Snapshot, Source
from db.models.trade import TradeFlow
from db.models.watch import AlertOutbox, ListChange, SyncState, Watch

__all__ = [
    "AlertOutbox",
    "Base",
    "BriefOutbox",
    "BriefSchedule",
    "Designation",
    "Entity",
    "EntityIdentifier",
    "EntityName",
    "HsCode",
    "ImportHold",
    "ListChange",
    "Relation",
    "ReportedFigure",
    "Shipment",
    "Snapshot",
    "Source",
    "SyncState",
    "TradeFlow",
    "Watch",
]
