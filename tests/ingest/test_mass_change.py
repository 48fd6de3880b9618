"""The mass-change guard: a snapshot that delists or amends too much of a list is held, not applied."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commands.context import Context
from commands.registry import run_text
from commands.watch import WatchAddParams, WatchListParams, run_watch_add, run_watch_list
from db.ingest import ofac
from db.ingest.mass_change import MassChangeHeld, MassChangePolicy
from db.lookups import load_lookups
from db.models import AlertOutbox, ImportHold, ListChange
from tests.ingest.entity_helpers import at

SNAPSHOTS = Path("ofac/sdn_snapshots")


def half_list(shared: Path, folder: Path) -> Path:
    """The real 2022-09-30 sdn.csv with every other entry left out, well formed (CRLF rows, final 0x1A):
    what a publisher's glitch or a bad mirror could serve."""
    rows = (shared / SNAPSHOTS / "2022-09-30/sdn.csv").read_bytes().rstrip(b"\x1a").split(b"\r\n")
    folder.mkdir()
    kept = [row for i, row in enumerate(r for r in rows if r) if i % 2 == 0]
    (folder / "sdn.csv").write_bytes(b"\r\n".join(kept) + b"\r\n\x1a")
    return folder


async def counts(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessions() as session:
        changes = (await session.execute(select(func.count()).select_from(ListChange))).scalar_one()
        alerts = (await session.execute(select(func.count()).select_from(AlertOutbox))).scalar_one()
    return changes, alerts


async def holds(sessions: async_sessionmaker[AsyncSession]) -> list[ImportHold]:
    async with sessions() as session:
        return list((await session.execute(select(ImportHold))).scalars())


async def test_a_half_list_is_held_with_no_changes_and_no_alerts(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, tmp_path: Path
) -> None:
    await ofac.run_import(sessions, shared_data / SNAPSHOTS / "2022-09-29", now=at(0), data_date="2022-09-29")
    half = half_list(shared_data, tmp_path / "half")
    before = await counts(sessions)
    with pytest.raises(MassChangeHeld, match=r"delisted of 10,579 entries .* more than the 5%"):
        await ofac.run_import(sessions, half, now=at(1), data_date="2022-09-30")
    assert await counts(sessions) == before == (0, 0)
    [hold] = await holds(sessions)
    assert hold.source_key == "ofac_sdn" and "delisted" in hold.reason and hold.file_name.startswith("half/")

    # Confirmed by a person: applied, changes recorded, the hold is over.
    report = await ofac.run_import(
        sessions, half, now=at(2), data_date="2022-09-30", mass_change=MassChangePolicy(accept=True)
    )
    assert "removed" in report.extra["changes"]
    changes, _ = await counts(sessions)
    assert changes > 5000
    assert await holds(sessions) == []


async def test_an_ordinary_update_passes_and_a_looser_share_is_honoured(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, tmp_path: Path
) -> None:
    await ofac.run_import(sessions, shared_data / SNAPSHOTS / "2022-09-29", now=at(0), data_date="2022-09-29")
    # The real next day: 296 added, 20 amended of 10,579 (0.2%).
    report = await ofac.run_import(
        sessions, shared_data / SNAPSHOTS / "2022-09-30", now=at(1), data_date="2022-09-30"
    )
    assert report.extra["changes"].startswith("296 added")
    half = half_list(shared_data, tmp_path / "half")
    await ofac.run_import(
        sessions, half, now=at(2), data_date="2022-10-01", mass_change=MassChangePolicy(share=0.6)
    )
    assert await holds(sessions) == []


async def test_sources_shows_the_hold_and_how_to_apply_it(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, tmp_path: Path
) -> None:
    await ofac.run_import(sessions, shared_data / SNAPSHOTS / "2022-09-29", now=at(0), data_date="2022-09-29")
    with pytest.raises(MassChangeHeld):
        await ofac.run_import(sessions, half_list(shared_data, tmp_path / "half"), now=at(1))
    async with sessions() as session:
        reply = await run_text(Context(session=session, lookups=load_lookups()), "/sources")
    sdn = next(s for s in reply.numbers["sources"] if s["key"] == "ofac_sdn")
    assert "update held" in reply.summary[0] and sdn["flagged"]
    assert "--accept-mass-change" in sdn["held"] and "delisted" in sdn["held"]
    assert "HELD:" in reply.to_text()

    # The watch channels' admins see it too (/watch list), so a quiet channel is not read as "no change".
    async with sessions() as session:
        ctx = Context(session=session, lookups=load_lookups())
        await run_watch_add(ctx, WatchAddParams(guild_id=1, channel_id=55, user_id=9, sources="ofac_sdn"))
        await session.commit()
        listed = await run_watch_list(ctx, WatchListParams(guild_id=1))
    assert listed.numbers["held"] == ["ofac_sdn"]
    assert any(line.startswith("Update held: ofac_sdn") for line in listed.summary)
