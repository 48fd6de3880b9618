"""Listed and curated entities, their names, designations, relations and shipments.

Entities stay per source (one row per record in a source, keyed by the source's natural key);
`/entity` groups records of the same real-world entity at query time.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class Entity(Base):
    """One record of a person, company, vessel or other entity in one source."""

    __tablename__ = "entities"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    source_key: Mapped[str] = mapped_column(
        String(200)
    )  # natural key in the source (OFAC ent_num, OS id ...)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"))
    schema: Mapped[str] = mapped_column(
        String(40)
    )  # FollowTheMoney schema: Person, Company, Organization, Vessel ...
    name: Mapped[str] = mapped_column(String(1000))
    countries: Mapped[list[str] | None] = mapped_column(JSON)  # ISO2, lower case as in FollowTheMoney
    properties: Mapped[dict[str, object] | None] = mapped_column(
        JSON
    )  # addresses, identifiers, dates, remarks ...
    content_hash: Mapped[str] = mapped_column(String(64))  # for change detection between snapshots
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # False once delisted from its source

    __table_args__ = (UniqueConstraint("source_id", "source_key", name="uq_entities_source_key"),)


class EntityName(Base):
    """A name or alias of an entity, in its original script, with its normalised search form."""

    __tablename__ = "entity_names"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(1000))
    normalized: Mapped[str] = mapped_column(String(1000))
    script: Mapped[str | None] = mapped_column(String(20))  # Latin, Cyrillic, Han ...
    kind: Mapped[str] = mapped_column(String(20))  # primary, aka, fka, nka, weak

    __table_args__ = (
        Index("ix_entity_names_entity", "entity_id"),
        Index("ix_entity_names_normalized", "normalized"),
    )


class EntityIdentifier(Base):
    """A number that identifies an entity (registration, tax, IMO, list entry ...), for exact lookups.

    Derived at import from the record's identifiers and its natural key in the source; `normalized` is
    `db.names.identifier_key` of the number (letters and digits, upper case, no leading zeros).
    """

    __tablename__ = "entity_identifiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    scheme: Mapped[str] = mapped_column(String(200))  # as the source labels it: "Registration Number" ...
    number: Mapped[str] = mapped_column(String(500))  # as published
    normalized: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_entity_identifiers_entity", "entity_id"),
        Index("ix_entity_identifiers_normalized", "normalized"),
    )


class Designation(Base):
    """A listing of an entity: authority, list, program, date and reference."""

    __tablename__ = "designations"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    authority: Mapped[str] = mapped_column(String(200))
    list_name: Mapped[str] = mapped_column(String(300))
    program: Mapped[str | None] = mapped_column(String(300))
    listed_on: Mapped[dt.date | None] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(500))  # Federal Register notice or other reference
    source_url: Mapped[str | None] = mapped_column(String(1000))
    details: Mapped[dict[str, object] | None] = mapped_column(JSON)  # license requirement/policy ...

    __table_args__ = (Index("ix_designations_entity", "entity_id"),)


class Relation(Base):
    """A link between two entities (owner, parent, subsidiary, linked_to, same_as), with its citation.

    Either side may be unresolved (only a name is known, e.g. an OFAC `Linked To:` remark naming an
    entity not yet matched); the resolver fills `*_entity_id` where it can.
    """

    __tablename__ = "relations"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    from_entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    from_name: Mapped[str] = mapped_column(String(1000))
    to_entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    to_name: Mapped[str] = mapped_column(String(1000))
    # The target's natural key when the source gives one, qualified by its source ("opensanctions:NK-..",
    # "ofac_sdn:38641"); the resolver turns it into `to_entity_id` once that record is loaded.
    to_key: Mapped[str | None] = mapped_column(String(300))
    details: Mapped[dict[str, object] | None] = mapped_column(JSON)  # role, share, relationship, dates ...
    citation: Mapped[dict[str, object] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_relations_from", "from_entity_id"),
        Index("ix_relations_to", "to_entity_id"),
        Index("ix_relations_source_pending", "source_id", "to_entity_id"),
    )


class Shipment(Base):
    """A curated shipment or transaction record (exporter, importer, HS code, value), with its citation."""

    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"))
    source_key: Mapped[str] = mapped_column(String(200))
    date: Mapped[dt.date | None] = mapped_column(Date)
    exporter_name: Mapped[str] = mapped_column(String(1000))
    exporter_entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id", ondelete="SET NULL"))
    importer_name: Mapped[str] = mapped_column(String(1000))
    importer_entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id", ondelete="SET NULL"))
    hs_code: Mapped[str | None] = mapped_column(String(10))
    value_usd: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str | None] = mapped_column(String(2000))
    citation: Mapped[dict[str, object] | None] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("source_id", "source_key", name="uq_shipments_source_key"),
        Index("ix_shipments_exporter", "exporter_entity_id"),
        Index("ix_shipments_importer", "importer_entity_id"),
    )


class ReportedFigure(Base):
    """A figure as published by someone else (e.g. "chip exports to Russia doubled to $50M"), cited."""

    __tablename__ = "reported_figures"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"))
    source_key: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(500))
    statement: Mapped[str] = mapped_column(String(2000))
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(40))
    period: Mapped[str | None] = mapped_column(String(40))
    hs_code: Mapped[str | None] = mapped_column(String(10))
    citation: Mapped[dict[str, object] | None] = mapped_column(JSON)
    # What the figure speaks of, so trade answers can show it beside their data: the goods in the publisher's
    # words, whose reading the HS code is, ISO alpha-2 reporter and partner, flow X/M, months as YYYYMM.
    commodity: Mapped[str | None] = mapped_column(String(200))
    hs_note: Mapped[str | None] = mapped_column(String(500))
    reporter: Mapped[str | None] = mapped_column(String(2))
    partner: Mapped[str | None] = mapped_column(String(2))
    flow: Mapped[str | None] = mapped_column(String(1))
    period_from: Mapped[int | None] = mapped_column(Integer)
    period_to: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("source_id", "source_key", name="uq_reported_figures_source_key"),)
