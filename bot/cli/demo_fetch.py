"""The demo's sources fetched from their publishers, for a machine without a local folder of source files.

The lists and the HS table go through the sync path (`db.sync`), with the URLs of the config's `[sync.<source>]`
tables; the trade series comes from the UN Comtrade API (`[comtrade] api_base`, key-less preview without
COMTRADE_API_KEY). Every step prints where its data came from.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import PurePosixPath
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import click

from bot.config import Config
from bot.runtime import App
from bot.trade_fetch import comtrade_params
from commands.context import utcnow
from db.ingest.base import ImportFailed
from db.ingest.comtrade_api import ComtradeQuery, expand_periods, import_from_api
from db.ingest.fetch import FetchFailed
from db.sources import SourceSettings
from db.sync.scheduler import sync_and_plan
from db.sync.state import load_state
from db.sync.steps import SyncContext

# The sources synced, in this order (HS first: the trade answers use the nomenclature).
DEMO_SYNC = ("hs", "ofac_sdn", "csl", "opensanctions")

# OpenSanctions' default collection is several hundred MB; the demo takes one small dataset of it, the same
# one a local sources folder holds, at the same host and path layout as the configured index URL.
DEMO_DATASET = "ua_war_sanctions"
DEMO_DATASET_RESOURCE = "targets.simple.csv"

# The series the demo's trade questions ask about: China's monthly exports of natural and artificial graphite
# and of gallium/germanium (HS 811292) to every partner, the three years the questions compare.
CHINA = 156
DEMO_TRADE = ComtradeQuery(
    freq="M",
    reporters=(CHINA,),
    partners=(),
    cmd_codes=("250410", "380110", "811292"),
    periods=expand_periods("M", ["2021", "2022", "2023"]),
    flows=("X",),
)


def demo_dataset(settings: SourceSettings) -> SourceSettings:
    """The configured OpenSanctions index URL with the demo's small dataset in place of the configured one.

    `https://data.opensanctions.org/datasets/latest/sanctions/index.json` becomes
    `https://data.opensanctions.org/datasets/latest/ua_war_sanctions/index.json`.
    """
    parts = urlsplit(settings.urls[0])
    path = PurePosixPath(parts.path)
    dataset_path = str(path.parent.parent / DEMO_DATASET / path.name)
    return replace(
        settings, urls=(urlunsplit(parts._replace(path=dataset_path)),), resource=DEMO_DATASET_RESOURCE
    )


def demo_settings(config: Config) -> dict[str, SourceSettings]:
    """The sync settings of the config, with the demo's OpenSanctions dataset."""
    settings = dict(config.sync.sources())
    settings["opensanctions"] = demo_dataset(settings["opensanctions"])
    return settings


def origin(key: str, settings: SourceSettings) -> str:
    """Where a synced source's files are asked for, for the terminal."""
    if key == "opensanctions":
        return f"{settings.urls[0]} (export {settings.resource})"
    return ", ".join(settings.urls)


async def fetched_from(app: App, key: str) -> list[str]:
    """The URL of every file the last sync of `key` fetched (the sync state keeps them)."""
    state = await load_state(app.sessions, key)
    return [str(f["url"]) for f in state.files.values() if isinstance(f, dict) and f.get("url")]


async def fetch_demo_sources(app: App, config: Config) -> None:
    """Sync the demo's lists and tables and fetch its trade series; prints where each came from.

    Raises:
        click.ClickException: a publisher could not be reached or sent something unusable (what was fetched
            before stays loaded; a rerun fetches only what changed).
    """
    settings = demo_settings(config)
    failed: list[str] = []
    async with aiohttp.ClientSession() as http:
        ctx = SyncContext(app.engine, app.sessions, http, config.cache_dir, config.sync.timeout_seconds)
        for key in DEMO_SYNC:
            click.echo(f"Fetching {key} from {origin(key, settings[key])}")
            result = await sync_and_plan(ctx, key, settings, jitter=0.0, rng=random.Random())
            click.echo(f"  {result.summary()}")
            for url in await fetched_from(app, key) if not result.failed else []:
                click.echo(f"  from {url}")
            for report in result.reports:
                click.echo(report.summary())
            if result.failed:
                failed.append(f"{key}: {result.message}")
        params = comtrade_params(config)
        click.echo(f"Fetching UN Comtrade {params.endpoint(DEMO_TRADE.freq)}: {DEMO_TRADE.describe()}")
        try:
            report = await import_from_api(app.sessions, DEMO_TRADE, params, now=utcnow(), http=http)
        except (FetchFailed, ImportFailed) as exc:
            failed.append(f"UN Comtrade: {exc}")
        else:
            click.echo(report.summary())
    if failed:
        raise click.ClickException(
            "the demo could not fetch every source:\n  "
            + "\n  ".join(failed)
            + "\nWithout internet access, set TRADEWATCH_SOURCES_DIR to a folder of the source files."
        )
