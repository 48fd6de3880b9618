"""`tradewatch db upgrade|current`: schema migrations."""

from __future__ import annotations

import asyncio

import click

from bot.config import Config
from db.engine import current_revision, head_revision, make_engine, upgrade


@click.group("db")
def db_group() -> None:
    """Database schema commands."""


@db_group.command("upgrade")
@click.pass_obj
def db_upgrade(config: Config) -> None:
    """Bring the database to the newest schema (safe to run twice)."""

    async def run() -> str | None:
        engine = make_engine(config.database_url)
        try:
            await upgrade(engine)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    click.echo(f"database at schema revision {asyncio.run(run())}")


@db_group.command("current")
@click.pass_obj
def db_current(config: Config) -> None:
    """Print the database's schema revision and the newest one this code knows."""

    async def run() -> str | None:
        engine = make_engine(config.database_url)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    click.echo(f"database: {asyncio.run(run()) or 'empty'}; code: {head_revision()}")
