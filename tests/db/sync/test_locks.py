"""The per-source sync lock: one holder at a time across connections (PostgreSQL) or file handles (SQLite)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import make_engine
from db.sync.locks import advisory_key, source_lock


async def test_second_taker_is_refused_until_the_first_releases(engine: AsyncEngine, db_url: str) -> None:
    other = make_engine(db_url)  # a second engine stands for a second process
    try:
        async with source_lock(engine, "ofac_sdn") as first:
            assert first is True
            async with source_lock(other, "ofac_sdn") as second:
                assert second is False
            async with source_lock(other, "csl") as different_source:
                assert different_source is True
        async with source_lock(other, "ofac_sdn") as after_release:
            assert after_release is True
    finally:
        await other.dispose()


def test_advisory_key_is_stable_and_distinct() -> None:
    assert advisory_key("ofac_sdn") == advisory_key("ofac_sdn")
    assert advisory_key("ofac_sdn") != advisory_key("ofac_cons")
    assert -(2**63) <= advisory_key("hs") < 2**63
