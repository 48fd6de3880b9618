"""Sync of a list file that is cut short, or that would delist half the list: nothing applied, no alerts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.mass_change import MassChangePolicy
from db.models import AlertOutbox, ImportHold, ListChange, SyncState
from db.sources import SourceSettings
from db.sync.runner import sync_source
from db.sync.steps import SyncContext
from tests.db.sync.source_server import SourceServer

SDN = "/ofac/downloads/sdn.csv"


def sdn_bytes(shared_data: Path, day: str) -> bytes:
    return (shared_data / "ofac" / "sdn_snapshots" / day / "sdn.csv").read_bytes()


async def counts(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int, int]:
    async with sessions() as session:
        found = [
            int((await session.execute(select(func.count()).select_from(model))).scalar_one())
            for model in (ListChange, AlertOutbox, ImportHold)
        ]
    return found[0], found[1], found[2]


async def outcome(sessions: async_sessionmaker[AsyncSession]) -> tuple[str | None, str | None]:
    async with sessions() as session:
        row = (
            await session.execute(select(SyncState).where(SyncState.source_key == "ofac_sdn"))
        ).scalar_one()
        return row.last_outcome, row.last_error


async def test_a_cut_download_fails_and_a_half_list_is_held_until_accepted(
    sync_ctx: SyncContext, source_server: SourceServer, shared_data: Path
) -> None:
    settings = SourceSettings(urls=(source_server.url(SDN),), interval_minutes=2, stale_hours=48)
    source_server.serve_bytes(
        SDN, sdn_bytes(shared_data, "2022-09-29"), last_modified="Thu, 29 Sep 2022 18:59:00 GMT"
    )
    assert (await sync_source(sync_ctx, "ofac_sdn", settings)).outcome == "imported"

    # The case: the next day's file cut at the first CRLF after its midpoint.
    day = sdn_bytes(shared_data, "2022-09-30")
    cut = day[: day.index(b"\r\n", len(day) // 2) + 2]
    source_server.serve_bytes(SDN, cut, last_modified="Fri, 30 Sep 2022 18:59:00 GMT")
    result = await sync_source(sync_ctx, "ofac_sdn", settings)
    assert result.outcome == "failed" and "end-of-file byte (0x1A)" in result.message
    assert await counts(sync_ctx.sessions) == (0, 0, 0)

    # Well formed, but half the entries gone: held, not applied, no alerts, shown as held.
    rows = [r for r in day.rstrip(b"\x1a").split(b"\r\n") if r]
    half = b"\r\n".join(rows[::2]) + b"\r\n\x1a"
    source_server.serve_bytes(SDN, half, last_modified="Sat, 01 Oct 2022 18:59:00 GMT")
    held = await sync_source(sync_ctx, "ofac_sdn", settings)
    assert held.outcome == "held" and "--accept-mass-change" in held.message
    assert await counts(sync_ctx.sessions) == (0, 0, 1)
    assert (await outcome(sync_ctx.sessions))[0] == "held"
    # Checked again: the same file is not imported (nor held) again; the hold stays.
    again = await sync_source(sync_ctx, "ofac_sdn", settings)
    assert again.outcome == "unchanged" and await counts(sync_ctx.sessions) == (0, 0, 1)

    # A person confirms it (tradewatch sync ofac_sdn --accept-mass-change): applied, the hold is over.
    accepting = dataclasses.replace(sync_ctx, mass_change=MassChangePolicy(accept=True))
    applied = await sync_source(accepting, "ofac_sdn", settings, force=True)
    assert applied.outcome == "imported" and applied.changes > 5000
    changes, _, holds = await counts(sync_ctx.sessions)
    assert changes == applied.changes and holds == 0
