"""`tradewatch sync [SOURCE...] [--force] [--schedule]`: fetch sources from their publishers and import changes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import signal
from collections.abc import AsyncIterator

import aiohttp
import click
from sqlalchemy.exc import SQLAlchemyError

from bot.cli.import_run import save_name_index
from bot.config import Config
from bot.runtime import open_app
from db.engine import SchemaOutOfDate
from db.sources import list_importers, sync_sources
from db.sync.scheduler import run_scheduler, sync_and_plan
from db.sync.steps import SyncContext, SyncResult

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def sync_context(config: Config, *, accept_mass_change: bool = False) -> AsyncIterator[SyncContext]:
    """Open the database and an HTTP session for syncing (closed on exit)."""
    async with open_app(config) as app, aiohttp.ClientSession() as http:
        yield SyncContext(
            app.engine,
            app.sessions,
            http,
            config.cache_dir,
            config.sync.timeout_seconds,
            mass_change=config.imports.policy(accept_mass_change),
        )


async def sync_now(
    config: Config, keys: list[str], *, force: bool = False, accept_mass_change: bool = False
) -> list[SyncResult]:
    """Sync the named sources one after the other and plan their next scheduled check."""
    settings = config.sync.sources()
    async with sync_context(config, accept_mass_change=accept_mass_change) as ctx:
        results = [
            await sync_and_plan(
                ctx, key, settings, jitter=config.sync.jitter_seconds, rng=random.Random(), force=force
            )
            for key in keys
        ]
        synced = sync_sources()
        if any(r.outcome == "imported" and synced[r.source].importer in list_importers() for r in results):
            log.info("name index: %s", await save_name_index(config, ctx.sessions))
        return results


async def run_schedule(config: Config) -> None:
    """Run the schedule in the foreground until SIGINT/SIGTERM (for a sync process separate from serve)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with sync_context(config) as ctx:
        await run_scheduler(ctx, config.sync.sources(), jitter=config.sync.jitter_seconds, stop=stop)


def choose(config: Config, names: tuple[str, ...]) -> list[str]:
    """The named sources (in the order given), or every source enabled in the config."""
    if not names:
        return [key for key, s in config.sync.sources().items() if s.enabled]
    known = sync_sources()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise click.UsageError(f"unknown source {', '.join(unknown)}; known: {', '.join(known)}")
    return list(dict.fromkeys(names))


@click.command("sync")
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@click.option(
    "--force",
    is_flag=True,
    help="Download in full (no conditional request) and re-import even if nothing seems to have changed.",
)
@click.option(
    "--accept-mass-change",
    is_flag=True,
    help="Apply a file the mass-change guard held back (it delists or amends more of a list than "
    "[imports] mass_change_share allows): downloads it again and imports it. Implies --force.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per source.")
@click.option(
    "--schedule",
    is_flag=True,
    help="Keep running and sync every enabled source on its interval (as `tradewatch serve` does).",
)
@click.pass_obj
def sync(
    config: Config,
    sources: tuple[str, ...],
    force: bool,
    accept_mass_change: bool,
    as_json: bool,
    schedule: bool,
) -> None:
    """Fetch sources from their official URLs and import what changed.

    SOURCE is one of: ofac_sdn, ofac_cons, ofac_changes, csl, opensanctions, hs (default: every source enabled
    in the [sync] config). Unchanged files cost a conditional request and change nothing; a file that fails to
    download or parse changes nothing and is reported (exit status 1); so does a file the mass-change guard
    holds back (outcome `held`, shown by `/sources`; apply it with --accept-mass-change once checked).
    """
    if schedule:
        if sources or force or accept_mass_change:
            raise click.UsageError(
                "--schedule runs every enabled source on its interval; drop SOURCE and --force"
            )
        asyncio.run(run_schedule(config))
        return
    keys = choose(config, sources)
    if not keys:
        raise click.UsageError("every source is disabled in the [sync] config; name the ones to sync")
    try:
        results = asyncio.run(
            sync_now(
                config,
                keys,
                force=force or accept_mass_change,
                accept_mass_change=accept_mass_change,
            )
        )
    except (OSError, SQLAlchemyError, SchemaOutOfDate) as exc:  # the database itself, not a source
        raise click.ClickException(f"cannot sync: {exc.__class__.__name__}: {exc}") from None
    for result in results:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "source": result.source,
                        "outcome": result.outcome,
                        "message": result.message,
                        "changes": result.changes,
                        "snapshot_ids": result.snapshot_ids,
                    }
                )
            )
        else:
            click.echo(result.summary(), err=result.outcome in {"failed", "held"})
            for report in result.reports:
                if not report.already_loaded:
                    click.echo("  " + report.summary().replace("\n", "\n  "))
    if any(r.outcome in {"failed", "held"} for r in results):
        raise SystemExit(1)
