"""`/sources` after real syncs from a local source server: dates, rows, changes, schedule, stale and failing flags."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from commands.context import Context
from commands.errors import InvalidInput, NotFound
from commands.registry import run_text
from db.lookups import Lookups
from db.sources import SourceSettings, default_settings
from db.sync.scheduler import sync_and_plan
from db.sync.steps import SyncContext
from tests.db.sync.source_server import SourceServer

CONS = ("cons_prim.csv", "cons_add.csv")


def serve_cons(server: SourceServer, shared_data: Path, folder: str, date: str) -> dict[str, SourceSettings]:
    for name in CONS:
        server.serve_file(f"/ofac/{name}", shared_data / "ofac" / folder / name, last_modified=date)
    cons = SourceSettings(
        urls=tuple(server.url(f"/ofac/{n}") for n in CONS), interval_minutes=180, stale_hours=72
    )
    return {**default_settings(), "ofac_cons": cons}


async def ask(
    sync_ctx: SyncContext, lookups: Lookups, text: str, settings: dict[str, SourceSettings], now: dt.datetime
):  # type: ignore[no-untyped-def]
    async with sync_ctx.sessions() as session:
        ctx = Context(session=session, lookups=lookups, now=lambda: now, sync_settings=settings)
        return await run_text(ctx, text)


async def test_sources_after_a_baseline_and_a_delisting(
    sync_ctx: SyncContext, source_server: SourceServer, shared_data: Path, lookups: Lookups
) -> None:
    settings = serve_cons(
        source_server, shared_data, "nonsdn_consolidated_2025-04", "Tue, 15 Apr 2025 12:00:00 GMT"
    )
    rng = random.Random(1)
    assert (await sync_and_plan(sync_ctx, "ofac_cons", settings, jitter=0, rng=rng)).outcome == "imported"
    settings = serve_cons(
        source_server, shared_data, "nonsdn_consolidated_2025-12", "Mon, 01 Dec 2025 12:00:00 GMT"
    )
    assert (await sync_and_plan(sync_ctx, "ofac_cons", settings, jitter=0, rng=rng)).outcome == "imported"

    now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    reply = await ask(sync_ctx, lookups, "/sources", settings, now)
    cons = next(s for s in reply.numbers["sources"] if s["key"] == "ofac_cons")
    assert cons["data_date"] == "2025-12-01" and cons["rows"] == 442
    assert cons["change_counts"]["removed"] == 1 and cons["last_outcome"] == "imported"
    assert cons["stale"] is False and cons["flagged"] is False
    next_sync = dt.datetime.fromisoformat(cons["next_sync_at"])
    assert dt.timedelta(minutes=170) < next_sync - now < dt.timedelta(minutes=180)
    text = next(f.value for f in reply.fields if "[ofac_cons]" in f.name)
    assert "Data date: 2025-12-01 · 442 entries listed" in text and "1 removed" in text and "(in 2 h)" in text
    sdn = next(s for s in reply.numbers["sources"] if s["key"] == "ofac_sdn")
    assert sdn["stale_reason"] == "never loaded" and "ofac_sdn" in reply.numbers["flagged"]
    assert any(
        c.source.startswith("OFAC Consolidated") and c.data_date == "2025-12-01" for c in reply.citations
    )

    later = now + dt.timedelta(hours=100)
    stale = await ask(sync_ctx, lookups, "/sources ofac_cons", settings, later)
    assert [s["key"] for s in stale.numbers["sources"]] == ["ofac_cons"]
    reason = stale.numbers["sources"][0]["stale_reason"]  # judged by the data date once no sync confirms it
    assert reason.startswith("data to 2025-12-01; the publisher releases amendments several times a month")
    assert reason.endswith("not confirmed by a sync for 4 days (limit 72 h)")
    assert "— STALE" in stale.fields[0].name and "Next sync: due now" in stale.fields[0].value


async def test_a_failing_sync_is_flagged_with_its_error(
    sync_ctx: SyncContext, source_server: SourceServer, shared_data: Path, lookups: Lookups
) -> None:
    settings = serve_cons(
        source_server, shared_data, "nonsdn_consolidated_2025-04", "Tue, 15 Apr 2025 12:00:00 GMT"
    )
    source_server.set_mode("/ofac/cons_prim.csv", "error")
    result = await sync_and_plan(sync_ctx, "ofac_cons", settings, jitter=0, rng=random.Random(1))
    assert result.failed
    reply = await ask(sync_ctx, lookups, "/sources ofac_cons", settings, dt.datetime.now(dt.UTC))
    field = reply.fields[0]
    assert (
        "SYNC FAILING" in field.name and "HTTP 500" in field.value and "Last good sync: never" in field.value
    )
    assert "ofac_cons (stale, sync failing)" in reply.summary[0]


@pytest.mark.parametrize(("text", "error"), [("/sources nope", NotFound), ("/sources x=1", InvalidInput)])
async def test_bad_arguments_get_clear_errors(
    sync_ctx: SyncContext, lookups: Lookups, text: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await ask(sync_ctx, lookups, text, default_settings(), dt.datetime.now(dt.UTC))
