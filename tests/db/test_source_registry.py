"""The source registry (db/sources): a toy source added there alone shows up in every view derived from it.

The toy sources are invented for the test (so are their titles and the lines of their file) and say so.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import cli
from bot.config import ConfigError, load_config
from commands.context import Context
from commands.sources import build_statuses
from commands.trade_common import source_is_trade
from commands.watch import parse_sources
from db.lookups import Lookups
from db.models import Snapshot, Source
from db.outbox import expand_sources, source_matches
from db.queries.trade import SourceCoverage, choose_source
from db.queries.trade_sources import LoadedSource
from db.sources import (
    IMPORTERS,
    SOURCES,
    Importer,
    ImportOption,
    SourceSettings,
    SyncSpec,
    default_settings,
    get_sync_source,
    list_importers,
    source_families,
    sync_sources,
    trade_preference,
    watchable_sources,
)
from db.sources import Source as SourceSpec
from db.sync.runner import sync_source
from db.sync.steps import SyncContext
from tests.db.sync.source_server import SourceServer

TOY_LIST = SourceSpec(
    "toy_list",
    "list",
    "Toy list (invented for a test)",
    "the test suite",
    "https://example.invalid/toy",
    importer="toy",
    family="toys",
    sync=SyncSpec(
        "Toy list (invented)",
        "files",
        SourceSettings(urls=("https://example.invalid/toy.txt",), interval_minutes=5, stale_hours=2),
    ),
)
TOY_TRADE = SourceSpec("toy_trade", "trade", "Toy trade table (invented)", "the test suite", preference=-1)
TOY_IMPORTER = Importer(
    "toy",
    "tests.db.toy_importer",
    "Load a toy list (invented test data): one name per line.",
    options=(ImportOption("flavour", "Echoed in the report."),),
)
NAMES = "Invented Name One\nInvented Name Two\n"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(SOURCES, TOY_LIST.key, TOY_LIST)
    monkeypatch.setitem(SOURCES, TOY_TRADE.key, TOY_TRADE)
    monkeypatch.setitem(IMPORTERS, TOY_IMPORTER.name, TOY_IMPORTER)
    yield


def test_the_registry_keeps_the_facts_that_used_to_be_repeated() -> None:
    # The values the catalogue, watch, outbox and trade modules each held before the registry.
    assert trade_preference() == ("comtrade", "china_customs_derived", "trade_csv", "imf_imts")
    assert watchable_sources() == ("ofac_sdn", "ofac_cons", "csl", "opensanctions", "curated")
    assert source_families() == {"ofac": ("ofac_sdn", "ofac_cons")}
    assert list_importers() == {"ofac", "csl", "opensanctions", "curated"}
    assert list(sync_sources()) == ["ofac_sdn", "ofac_cons", "ofac_changes", "csl", "opensanctions", "hs"]
    assert {s.importer for s in SOURCES.values() if s.importer} == set(IMPORTERS)


def test_the_sources_page_lists_every_synced_source_with_its_url() -> None:
    text = (REPO / "docs" / "sources.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(\w+)` \|.*$", text, re.M)}
    for key, source in sync_sources().items():
        assert key in rows, f"docs/sources.md has no row for {key}"
        assert PurePosixPath(urlsplit(source.defaults.urls[0]).path).name in rows[key]


def test_every_view_derives_from_the_registry(toy: None) -> None:
    assert "toy_list" in sync_sources() and get_sync_source("toy_list").title == "Toy list (invented)"
    assert default_settings()["toy_list"].interval_minutes == 5
    assert source_families()["toys"] == ("toy_list",)
    assert expand_sources(["toys"]) == {"toy_list"} and source_matches(["toys"], "toy_list")
    assert "toy_list" in watchable_sources() and "toy" in list_importers()
    assert trade_preference()[0] == "toy_trade"
    assert source_is_trade(LoadedSource("toy_trade", "Toy trade table (invented)", 1, 10, None))
    # Two sources covering a year equally well: the preferred one answers.
    tie = [
        SourceCoverage(1, "comtrade", "UN Comtrade", "M", 12, 100),
        SourceCoverage(2, "toy_trade", "t", "M", 12, 100),
    ]
    chosen = choose_source(tie, prefer_monthly=True)
    assert chosen is not None and chosen.source_key == "toy_trade"


def test_config_takes_overrides_for_the_toy_source(toy: None, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[sync.toy_list]\ninterval_minutes = 7\n")
    settings = load_config(path, env={}).sync.sources()["toy_list"]
    assert settings.interval_minutes == 7 and settings.urls == TOY_LIST.sync.defaults.urls  # type: ignore[union-attr]
    path.write_text("[sync]\ntoy = 1\n")
    with pytest.raises(ConfigError, match="known: .*toy_list"):
        load_config(path, env={})


def test_statuses_list_the_toy_source_as_scheduled(toy: None) -> None:
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    statuses = {s.key: s for s in build_statuses([], {}, default_settings(), now)}
    assert statuses["toy_list"].scheduled and statuses["toy_list"].title == "Toy list (invented)"
    assert statuses["toy_list"].stale_reason == "never loaded"


def test_the_cli_imports_through_the_toy_importer(toy: None, tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text(NAMES)
    env = {"TRADEWATCH_DATA_DIR": str(tmp_path / "var"), "TRADEWATCH_DATABASE_URL": ""}
    runner = CliRunner()
    listed = runner.invoke(cli, ["import", "--help"], env=env)
    assert "toy" in listed.output and "Load a toy list" in listed.output
    result = runner.invoke(cli, ["import", "toy", str(names), "--flavour", "mint"], env=env)
    assert result.exit_code == 0, result.output
    assert "toy_list: names.txt" in result.output and "flavour: mint" in result.output
    assert "name index" in result.output  # a list source: the name index is rebuilt after it
    refused = runner.invoke(cli, ["import", "toy", str(tmp_path / "missing.txt")], env=env)
    assert refused.exit_code == 1 and "no such file" in refused.output


async def test_sync_fetches_and_files_the_toy_source(
    toy: None, sync_ctx: SyncContext, source_server: SourceServer
) -> None:
    source_server.serve_bytes("/toy.txt", NAMES.encode())
    settings = SourceSettings(urls=(source_server.url("/toy.txt"),))
    result = await sync_source(sync_ctx, "toy_list", settings)
    assert result.outcome == "imported", result.message
    async with sync_ctx.sessions() as session:
        source = (await session.execute(select(Source).where(Source.key == "toy_list"))).scalar_one()
        snapshot = (
            await session.execute(select(Snapshot).where(Snapshot.source_id == source.id))
        ).scalar_one()
    # The catalogue entry names the row: title and publisher as answers cite them.
    assert (source.title, source.publisher, source.url) == (TOY_LIST.title, TOY_LIST.publisher, TOY_LIST.url)
    assert snapshot.rows_read == 2
    assert (await sync_source(sync_ctx, "toy_list", settings)).outcome == "unchanged"


async def test_watch_accepts_the_toy_source_and_family(
    toy: None, session: AsyncSession, lookups: Lookups
) -> None:
    ctx = Context(session=session, lookups=lookups)
    assert await parse_sources(ctx, "toys, toy_list") == ("toys", "toy_list")
