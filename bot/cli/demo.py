"""`tradewatch demo`: load the real source files into the database and answer the story's questions.

With a local folder of source files (`[data] sources_dir`, TRADEWATCH_SOURCES_DIR, or ../shared/data when it
exists) the files are imported from it; without one, or with --fetch, the same sources are fetched from their
publishers (`bot.cli.demo_fetch`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from bot.cli.demo_fetch import fetch_demo_sources
from bot.cli.demo_screen import screen_demo_sheet
from bot.config import Config
from bot.runtime import open_app
from commands.context import Context, utcnow
from commands.errors import CommandError
from commands.registry import run_text
from db.sources import load_importer

# (source, path under the local sources folder, importer options). Real files only.
DEMO_IMPORTS: list[tuple[str, str, dict[str, object]]] = [
    ("hs", "hs/harmonized-system.csv", {}),
    # Trade: China-reported monthly exports by partner at HS-6 (derived from UN Comtrade, 2017-01..2024-12),
    # IMF IMTS annual Russia-by-partner totals (2016-2024), and a real UN Comtrade v1 API response (India -> USA).
    (
        "trade-csv",
        "trade/china_exports_hs6_monthly_derived/deep_dive_hs6_monthly.csv",
        {"mapping": "china_exports_hs6_monthly"},
    ),
    ("imf", "trade/imf_imts_russia_bilateral/RU_trade.csv", {}),
    ("comtrade", "trade/comtrade_api_samples/india_exports_2022_single_partner.json", {}),
    # Sanctions lists. SDN 2022-09-30 carries SINNO ELECTRONICS; 2024-05-01 (KING-PAI TECHNOLOGY HK) loads on top
    # of it through change detection. The 2026-06 add.csv/alt.csv (King Pai alias) lack their sdn.csv and cannot
    # be loaded alone. Data dates per PROVENANCE.md (the CSV files carry none).
    ("ofac", "ofac/sdn_snapshots/2022-09-30", {"data_date": "2022-09-30"}),
    ("ofac", "ofac/sdn_snapshots/2024-05-01", {"data_date": "2024-05-01"}),
    ("csl", "bis_csl/csl_excerpts/csl_2019-12_excerpt.csv", {"partial": True}),
    ("csl", "bis_csl/csl_excerpts/consolidated_2025-06_excerpt.csv", {"partial": True}),
    (
        "opensanctions",
        "opensanctions/ua_war_sanctions_2026-03-13/targets.simple.csv",
        {"dataset": "ua_war_sanctions"},
    ),
]
CURATED = Path(__file__).resolve().parents[2] / "db" / "curated"  # the repo's starter file, in both modes

DEMO_QUESTIONS = [
    "/hs chips",
    # Trade: China-reported monthly exports (real derived table, HS-6 250410/380110/811292, 2017-2024).
    "/exports graphite RU 2023",
    # By weight against any base year (a multiple a reporter can quote), and a span of months.
    "/exports artificial graphite RU 2023 measure=weight vs=2021",
    "/exports spherical graphite RU 2022 months=1-5",
    # All goods: Russia's imports from China as the IMF file holds them (Russia-reported).
    "/exports total China 2022 reporter=RU flow=imports",
    "/top partners graphite 2023",
    "/top goods RU 2023",
    "/hs aluminium oxide",
    "/exports chips RU 2022",  # no HS 8542 data is loaded: answers honestly and says how to get it
    "/exports gallium US 2023",
    # Several partners side by side, each year's multiple of 2021 (who reported each line is in its label).
    "/compare graphite Russia, Kazakhstan, Kyrgyzstan, Turkey 2021-2023",
    "/exports graphite Kazakhstan 2023 measure=weight vs=2021",  # a weight multiple against a base year
    "/exports total China 2022 reporter=RU flow=imports",  # Russia-reported total imports (IMF file)
    "/exports aluminium oxide RU 2023",  # no HS 281820 rows: the cited WSJ "400 times" figure and the fetch
    # Entities: the curated Poly Group file, and OFAC's SINNO grouped with the curated Entity List firm.
    "/entity Poly Group",
    "/entity sinno electronic",
    # Editorial meeting: what changed on the lists (SDN 2022-09-30 -> 2024-05-01), Hong Kong's entries, then the
    # brief (list changes, trade movers of the focus commodities, stale sources; chart and CSV).
    "/changes ofac_sdn since=2024-01-01 country=HK change=added",
    "/brief since=2024-01-01",
]


async def run_demo(config: Config, out_dir: Path, *, fetch: bool = False) -> None:
    sources_dir = None if fetch else config.sources_dir
    async with open_app(config) as app:
        where = app.engine.url.render_as_string()
        if sources_dir is None:
            click.echo(f"No local source folder: fetching the sources from their publishers into {where}")
            await fetch_demo_sources(app, config)
        else:
            click.echo(f"Loading real source files from {sources_dir} into {where}")
            for source, relative, options in DEMO_IMPORTS:
                if not (sources_dir / relative).exists():
                    raise click.ClickException(
                        f"{sources_dir / relative} does not exist: point TRADEWATCH_SOURCES_DIR at a folder of "
                        "the source files, or run `tradewatch demo --fetch` to fetch them from their publishers"
                    )
                report = await load_importer(source)(
                    app.sessions, sources_dir / relative, now=utcnow(), **options
                )
                click.echo(report.summary())
        report = await load_importer("curated")(app.sessions, CURATED, now=utcnow())
        click.echo(report.summary())
        out_dir.mkdir(parents=True, exist_ok=True)
        for question in DEMO_QUESTIONS:
            click.echo("")
            click.echo(f">>> {question}")
            async with app.sessions() as session:
                try:
                    reply = await run_text(Context(session=session, lookups=app.lookups), question)
                except CommandError as exc:
                    click.echo(f"(answered with an error) {exc.user_text()}")
                    continue
            click.echo(reply.to_text())
            for attachment in reply.attachments:
                (out_dir / attachment.filename).write_bytes(attachment.data)
        click.echo("")
        click.echo(
            ">>> tradewatch screen demo-consignees.csv --name-column consignee --country-column country"
        )
        async with app.sessions() as session:
            note, reply = await screen_demo_sheet(session, app.lookups, out_dir)
        click.echo(note)
        click.echo(reply.to_text())
        for attachment in reply.attachments:
            (out_dir / attachment.filename).write_bytes(attachment.data)
        click.echo(f"\nCharts and CSV tables are in {out_dir}/")


@click.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="out/demo",
    show_default=True,
    help="Folder for the charts and CSV tables of the answers.",
)
@click.option(
    "--fetch",
    is_flag=True,
    help="Fetch the sources from their publishers even when a local folder of source files exists.",
)
@click.pass_obj
def demo(config: Config, out_dir: str, fetch: bool) -> None:
    """Load real source files into the configured database (SQLite by default) and answer sample questions.

    The files come from a local folder (TRADEWATCH_SOURCES_DIR, or ../shared/data when it exists); without one,
    or with --fetch, from their publishers: OFAC, trade.gov, OpenSanctions, the HS table and UN Comtrade.
    """
    asyncio.run(run_demo(config, Path(out_dir), fetch=fetch))
