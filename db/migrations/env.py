"""Alembic environment: runs on the connection handed over by `db.engine.upgrade` (async engines)."""

from __future__ import annotations

from alembic import context

import db.models  # noqa: F401  (registers every table)
from db.models.base import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `tradewatch db upgrade` (db.engine.upgrade)")


def _include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # Lets a maintainer script autogenerate one revision per table group; no filter in normal runs.
    tables = context.config.attributes.get("include_tables")
    if tables is None or type_ != "table":
        return True
    return name in tables


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_object=_include_object,
)
with context.begin_transaction():
    context.run_migrations()
