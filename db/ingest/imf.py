"""IMF International Trade in Goods (IMTS, ex-DOTS) bilateral CSV -> trade_flows, annual all-goods totals.

Format (IMF data portal export): one row per reporter (COUNTRY.ID, ISO3), indicator and counterpart
(COUNTERPART_COUNTRY.ID, ISO3 or an IMF group code), wide year columns ("2016".."2024"), SCALE.ID the power
of ten of the values (6 = millions of US dollars).

Representation: every value is an all-goods total, stored as hs_code "TOTAL", hs_level 0 (the code HS
commodity queries never match: see db/ingest/trade_load.py), freq "A", period YYYY00, value in US dollars
(the scale applied exactly, with decimals). XG_FOB_USD (exports, FOB) -> flow "X"; MG_CIF_USD (imports,
CIF) -> flow "M"; other indicators are skipped. Rows counted are observations (one per non-empty year cell).

Skipped with a reason: aggregates (IMF codes G..., GX...: world, regions, economic groups), residual
"not specified" areas (TX...), and counterparts the country lookups do not know. IMF's own codes that
differ from ISO are mapped (WBG West Bank and Gaza -> PS). An empty cell is a missing year, never a zero.
The file is the whole table for its reporters, so a newer file replaces it (rows it drops are removed).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.base import ImportFailed, IngestReport, progress, sha256_file
from db.ingest.csvfile import open_csv
from db.ingest.trade_load import ParsedFlows, SourceSpec, import_flows
from db.ingest.trade_rows import TOTAL, FlowSet
from db.ingest.trade_write import Flow
from db.lookups import Lookups, load_lookups

SOURCE = SourceSpec("imf_imts")
REQUIRED = (
    "COUNTRY.ID",
    "INDICATOR.ID",
    "COUNTERPART_COUNTRY.ID",
    "COUNTERPART_COUNTRY",
    "FREQUENCY.ID",
    "SCALE.ID",
)
INDICATORS = {"XG_FOB_USD": "X", "MG_CIF_USD": "M"}
IMF_CODES = {"WBG": "PS"}  # IMF's codes that are not ISO 3166 alpha-3


def year_columns(header: tuple[str, ...], name: str) -> list[tuple[int, int]]:
    """(column index, year) of the wide year columns."""
    years = [(i, int(h)) for i, h in enumerate(header) if len(h) == 4 and h.isdigit()]
    if not years:
        raise ImportFailed(f"{name} has no year columns (headers such as 2016, 2017 ...)")
    return years


def counterpart_code(code: str, lookups: Lookups) -> tuple[int | None, str | None]:
    """(Comtrade code, None) for a country, or (None, skip reason)."""
    if code.startswith("G") and len(code) > 3:
        return None, "aggregate counterpart (world, region or economic group)"
    if code.startswith("TX"):
        return None, "counterpart area not specified (IMF residual category)"
    country = lookups.country(IMF_CODES.get(code, code))
    if country is None:
        return None, f"unknown counterpart {code!r} (add it to countries.yml)"
    return country.code, None


def scale_of(text: str, where: str) -> Decimal:
    """10**SCALE.ID (6 -> one million)."""
    if not text.strip().isdigit() or int(text) > 12:
        raise ImportFailed(f"{where}: SCALE.ID {text!r} is not a power of ten between 0 and 12")
    return Decimal(10) ** int(text)


def to_usd(text: str, scale: Decimal, where: str) -> float | None:
    """A year cell in US dollars (exact decimal scaling), None when empty."""
    text = text.strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ImportFailed(f"{where}: {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise ImportFailed(f"{where}: {text!r} is not a non-negative finite number")
    return float(value * scale)


def parse(path: Path, lookups: Lookups, report: IngestReport) -> ParsedFlows:
    """Read and normalise the whole file (pure: no database)."""
    table = open_csv(path, REQUIRED)
    idx = {c: table.index(c) for c in REQUIRED}
    years = year_columns(table.header, path.name)
    flows, series = FlowSet(), 0
    with progress(None, f"reading {path.name}") as bar:
        for line, f in table.rows():
            series += 1
            where = f"{path.name} line {line}"
            scale = scale_of(f[idx["SCALE.ID"]], where)
            cells = [(year, to_usd(f[i], scale, f"{where}, {year}")) for i, year in years]
            observed = [(year, v) for year, v in cells if v is not None]
            report.rows_read += len(observed)
            reason, reporter, partner, flow = _classify(f, idx, lookups)
            for year, value in observed:
                if reason:
                    report.skip(reason, where=where)
                    continue
                flows.add(
                    Flow(reporter, partner, flow, TOTAL, year * 100, "A", 0, value),
                    where=where,
                    report=report,
                )
            bar.update(1)
    report.extra["series rows in the file"] = f"{series:,}"
    return ParsedFlows(flows, flows.data_date(), {"series": series})


def _classify(f: list[str], idx: dict[str, int], lookups: Lookups) -> tuple[str | None, int, int, str]:
    """(skip reason or None, reporter, partner, flow) for one series row."""
    flow = INDICATORS.get(f[idx["INDICATOR.ID"]].strip())
    if flow is None:
        return (
            f"indicator {f[idx['INDICATOR.ID']].strip()}: only exports FOB and imports CIF in USD are stored",
            0,
            0,
            "",
        )
    if f[idx["FREQUENCY.ID"]].strip() != "A":
        return "not annual data (FREQUENCY.ID is not A)", 0, 0, ""
    reporter = lookups.country(IMF_CODES.get(f[idx["COUNTRY.ID"]].strip(), f[idx["COUNTRY.ID"]].strip()))
    if reporter is None:
        return f"unknown reporter {f[idx['COUNTRY.ID']].strip()!r} (add it to countries.yml)", 0, 0, ""
    partner, reason = counterpart_code(f[idx["COUNTERPART_COUNTRY.ID"]].strip(), lookups)
    if partner is None:
        return reason, 0, 0, ""
    return None, reporter.code, partner, flow


async def run_import(
    sessions: async_sessionmaker[AsyncSession],
    path: Path,
    *,
    now: dt.datetime,
    lookups: Lookups | None = None,
    lookups_dir: str | Path | None = None,
    dry_run: bool = False,
    **options: object,
) -> IngestReport:
    """Import an IMF IMTS bilateral CSV in one transaction (same file twice: nothing changes).

    Raises:
        ImportFailed: the file is malformed; nothing was changed.
    """
    if options:
        raise ImportFailed(f"unknown option(s) for imf: {', '.join(options)}")
    path = Path(path)
    lookups = lookups or load_lookups(Path(lookups_dir) if lookups_dir else None)
    report = IngestReport(source=SOURCE.key, file=path.name)
    return await import_flows(
        sessions,
        spec=SOURCE,
        path=path,
        sha256=sha256_file(path),
        now=now,
        report=report,
        parse=lambda: parse(path, lookups, report),
        replace=True,
        dry_run=dry_run,
    )
