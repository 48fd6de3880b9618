"""`tradewatch import comtrade FILE | --api ...`: the one import command that is not built from the registry.

With `--api` it fetches from the UN Comtrade API instead of reading a file, so it has options no importer
takes; its name, help and `--dry-run` still come from the registry (db/sources). The importer owns its
transaction, so a malformed file exits 1 with a one-line reason and changes nothing.
"""

from __future__ import annotations

import asyncio

import click

from bot.cli.import_run import click_option, import_and_report
from bot.config import Config
from bot.runtime import open_app
from bot.trade_fetch import comtrade_params
from commands.context import utcnow
from db.ingest.base import ImportFailed, IngestReport
from db.ingest.comtrade_api import ComtradeQuery, expand_periods, import_from_api
from db.ingest.fetch import FetchFailed
from db.lookups import Lookups
from db.sources import importer_spec

SPEC = importer_spec("comtrade")


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


@click.command(SPEC.name, help=SPEC.help, params=[click_option(o) for o in SPEC.options])
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
