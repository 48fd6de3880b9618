"""`tradewatch import hs|comtrade|trade-csv|imf ...`: the trade importers on the command line.

Each subcommand is a thin call into the importer (db/ingest/<source>.py); the importer owns its
transaction, so a malformed file exits 1 with a one-line reason and changes nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import click

from bot.cli.imports import import_and_report, import_group
from bot.config import Config
from bot.runtime import open_app
from bot.trade_fetch import comtrade_params
from commands.context import utcnow
from db.ingest.base import ImportFailed, IngestReport
from db.ingest.comtrade_api import ComtradeQuery, expand_periods, import_from_api
from db.ingest.fetch import FetchFailed
from db.lookups import Lookups

dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Read and check everything, load it, then roll back: nothing is kept."
)


@import_group.command("hs")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_obj
def import_hs(config: Config, file: str) -> None:
    """Load the HS nomenclature CSV (section, hscode, description, parent, level).

    Example: tradewatch import hs harmonized-system.csv
    """
    import_and_report(config, "hs", file)


@import_group.command("imf")
@click.argument("file", type=click.Path(dir_okay=False))
@dry_run_option
@click.pass_obj
def import_imf(config: Config, file: str, dry_run: bool) -> None:
    """Load an IMF IMTS bilateral CSV (annual all-goods exports/imports by partner, stored as HS "TOTAL").

    Example: tradewatch import imf RU_trade.csv
    """
    import_and_report(config, "imf", file, lookups_dir=str(config.lookups_dir), dry_run=dry_run)


@import_group.command("trade-csv")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--mapping", help="Mapping YAML file, or the name of a shipped one (e.g. china_exports_hs6_monthly)."
)
@click.option("--period-col", help="Column with the month (2024-03, 2024-03-01 or 202403).")
@click.option("--partner-col", help="Column with the partner (name, ISO2/ISO3 or Comtrade code).")
@click.option("--reporter-col", help="Column with the reporter (else give --reporter).")
@click.option("--reporter", help="The reporter of every row, e.g. CN.")
@click.option("--flow-col", help="Column with the flow: X/M or export/import (else give --flow).")
@click.option("--flow", type=click.Choice(["X", "M"]), help="The flow of every row: X exports, M imports.")
@click.option("--hs-col", help="Column with the HS code (2/4/6 digits; 8/10-digit lines roll up to HS-6).")
@click.option("--value-col", help="Column with the trade value.")
@click.option("--value-scale", type=float, help="Multiply values by this to get US dollars (1000 for kUSD).")
@click.option("--qty-col", help="Column with the quantity.")
@click.option("--qty-unit", help="Unit of the quantity column (e.g. kg).")
@click.option("--weight-col", help="Column with the net weight.")
@click.option("--weight-scale", type=float, help="Multiply weights by this to get kilograms.")
@click.option("--freq", type=click.Choice(["M", "A"]), help="M monthly (default) or A annual.")
@click.option("--source-key", help="Source key answers cite (a catalogue key or a new one).")
@click.option("--source-title", help="Title of a new source, as answers cite it.")
@click.option("--publisher", help="Publisher of a new source, as answers cite it.")
@click.option("--source-url", help="Where the source can be found.")
@click.option("--data-date", help="The date the data describes (default: the last period in the file).")
@click.option(
    "--replace/--no-replace",
    default=None,
    help="The file is the whole table for its reporters: remove rows it no longer has.",
)
@dry_run_option
@click.pass_obj
def import_trade_csv(
    config: Config, /, file: str, mapping: str | None, dry_run: bool, **options: Any
) -> None:
    """Load a monthly trade CSV through a column mapping (YAML file and/or the options here).

    Example: tradewatch import trade-csv deep_dive_hs6_monthly.csv --mapping china_exports_hs6_monthly
    """
    given = {k: v for k, v in options.items() if v is not None}
    if not mapping and not given:
        raise click.UsageError("give --mapping NAME|FILE or the column options (see --help)")
    import_and_report(
        config,
        "trade-csv",
        file,
        mapping=mapping,
        lookups_dir=str(config.lookups_dir),
        dry_run=dry_run,
        **given,
    )


def _split(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _countries(lookups: Lookups, names: list[str], what: str) -> tuple[int, ...]:
    codes = []
    for name in names:
        country = lookups.country(name)
        if country is None:
            raise click.UsageError(f"unknown {what} {name!r}: use a name, ISO2/ISO3 or a Comtrade code")
        codes.append(country.code)
    return tuple(codes)


async def _from_api(
    config: Config,
    reporters: list[str],
    partners: list[str],
    cmd: list[str],
    periods: list[str],
    freq: str,
    flows: tuple[str, ...],
    dry_run: bool,
) -> IngestReport:
    async with open_app(config) as app:
        query = ComtradeQuery(
            freq=freq,
            reporters=_countries(app.lookups, reporters, "reporter"),
            partners=_countries(app.lookups, partners, "partner"),
            cmd_codes=tuple(dict.fromkeys(cmd)),
            periods=expand_periods(freq, periods),
            flows=flows,
        )
        params = comtrade_params(config)
        click.echo(f"UN Comtrade {params.endpoint(freq)}: {query.describe()}", err=True)
        return await import_from_api(app.sessions, query, params, now=utcnow(), dry_run=dry_run)


@import_group.command("comtrade")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--api", is_flag=True, help="Fetch from the UN Comtrade API instead of reading FILE.")
@click.option("--reporter", multiple=True, help="Reporter(s): name, ISO code or Comtrade code (e.g. CN).")
@click.option("--partner", multiple=True, help="Partner(s), e.g. RU (default: every partner).")
@click.option("--cmd", multiple=True, help="HS code(s), 2/4/6 digits or TOTAL, e.g. 8542 (comma lists work).")
@click.option(
    "--period", multiple=True, help="Year(s) YYYY, or months YYYYMM for --freq M (comma lists work)."
)
@click.option(
    "--freq", type=click.Choice(["M", "A"]), default="M", show_default=True, help="Monthly or annual."
)
@click.option(
    "--flow", type=click.Choice(["X", "M"]), default=None, help="X exports or M imports (default both)."
)
@dry_run_option
@click.pass_obj
def import_comtrade(
    config: Config,
    file: str | None,
    api: bool,
    reporter: tuple[str, ...],
    partner: tuple[str, ...],
    cmd: tuple[str, ...],
    period: tuple[str, ...],
    freq: str,
    flow: str | None,
    dry_run: bool,
) -> None:
    """Load UN Comtrade API v1 JSON: a saved response FILE, or --api to fetch it.

    \b
    Examples:
      tradewatch import comtrade india_exports_2022_single_partner.json
      tradewatch import comtrade --api --reporter CN --partner RU --cmd 8542 --period 2022 --freq M --flow X
    Without COMTRADE_API_KEY the key-less preview endpoint is used (500 records per call): requests are
    split until no call hits that limit, so no record is lost.
    """
    if not api:
        if not file:
            raise click.UsageError("give a FILE, or --api with --reporter, --cmd and --period")
        if reporter or partner or cmd or period or flow:
            raise click.UsageError("--reporter/--partner/--cmd/--period/--flow go with --api")
        import_and_report(config, "comtrade", file, dry_run=dry_run)
        return
    if file:
        raise click.UsageError("--api fetches from the API; do not give a FILE as well")
    if not (reporter and cmd and period):
        raise click.UsageError("--api needs --reporter, --cmd and --period")
    bad = [c for c in _split(cmd) if not (c == "TOTAL" or (c.isdigit() and len(c) in (2, 4, 6)))]
    if bad:
        raise click.UsageError(f"--cmd {', '.join(bad)}: HS codes have 2, 4 or 6 digits (or TOTAL)")
    flows = (flow,) if flow else ("X", "M")
    try:
        report = asyncio.run(
            _from_api(
                config, _split(reporter), _split(partner), _split(cmd), _split(period), freq, flows, dry_run
            )
        )
    except (FetchFailed, ImportFailed) as exc:
        raise click.ClickException(f"comtrade: {exc} (nothing was changed)") from None
    click.echo(report.summary())
