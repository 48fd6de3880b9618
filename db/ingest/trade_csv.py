"""Generic monthly trade CSV -> trade_flows, driven by a column mapping (see db/ingest/trade_mapping.py).

Rules:
- Countries (partner, and reporter when it is a column) are resolved through db.lookups: names, aliases,
  ISO2/ISO3 or Comtrade codes. An unknown name is skipped and counted under its own reason, so the summary
  lists every name to add to countries.yml. Partner "World" (code 0) is an aggregate and is skipped.
- HS codes of 2, 4 or 6 digits are stored as they are (hs_level = digits). National tariff lines of 8 or
  10 digits ROLL UP to HS-6: they are summed per reporter, partner, flow, month and first six digits and
  stored as ONE HS-6 row (hs_level 6), never as 8-digit rows. Quantities and weights are summed only when
  every line has them (else left empty). So trade_flows never holds a national line next to its own HS-6
  total, and commands can never double count them. A file that has both an HS-6 row and national lines of
  that same HS-6 (for the same partner, flow and month) is rejected: it holds a total and its parts.
- An empty value cell is skipped ("no value"): a missing month stays missing, never a zero. A reported 0
  is kept as 0. Negative values, non-numbers, unknown flows and bad periods fail the whole import.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.base import ImportFailed, IngestReport, progress, sha256_file
from db.ingest.csvfile import CsvTable, open_csv, parse_number
from db.ingest.trade_load import ParsedFlows, SourceSpec, import_flows
from db.ingest.trade_mapping import TradeCsvMapping, build_mapping
from db.ingest.trade_rows import FlowSet
from db.ingest.trade_write import Flow
from db.lookups import Lookups, load_lookups

MONTH = re.compile(r"^(\d{4})[-/]?(\d{2})(?:[-/]\d{2})?(?:[T ].*)?$")
FLOWS = {"x": "X", "export": "X", "exports": "X", "m": "M", "import": "M", "imports": "M"}
RE_FLOWS = {"rx", "rm", "re-export", "re-exports", "re-import", "re-imports"}


def parse_period(text: str, freq: str, where: str) -> int:
    """A period cell as the stored integer: YYYYMM for monthly data, YYYY00 for annual data."""
    text = text.strip()
    if freq == "A" and len(text) == 4 and text.isdigit():
        return int(text) * 100
    match = MONTH.match(text) if freq == "M" else None
    if match and 1 <= int(match.group(2)) <= 12:
        return int(match.group(1)) * 100 + int(match.group(2))
    expected = "YYYY" if freq == "A" else "a month such as 2024-03, 2024-03-01 or 202403"
    raise ImportFailed(f"{where}: period {text!r} is not {expected}")


def parse_flow(text: str, where: str) -> str | None:
    """X or M; None for re-exports/re-imports (skipped: X and M include them)."""
    key = text.strip().casefold()
    if key in RE_FLOWS:
        return None
    if key not in FLOWS:
        raise ImportFailed(f"{where}: flow {text!r} is not X/M or export/import")
    return FLOWS[key]


def hs_code_of(text: str, mapping: TradeCsvMapping, where: str) -> tuple[str, bool]:
    """(stored code, rolled_up): 2/4/6 digits as they are; 8/10-digit national lines -> their HS-6."""
    code = text.strip()
    if mapping.hs_zero_pad and code.isdigit() and len(code) % 2:
        code = "0" + code
    if not code.isdigit() or len(code) not in (2, 4, 6, 8, 10):
        hint = " (a lost leading zero? set hs_zero_pad: true)" if code.isdigit() and len(code) % 2 else ""
        raise ImportFailed(f"{where}: HS code {text!r} is not 2, 4, 6, 8 or 10 digits{hint}")
    return (code[:6], True) if len(code) > 6 else (code, False)


@dataclass
class _Sum:
    """A flow being assembled from one row, or from the national lines of one HS-6."""

    value: float
    net: float | None
    qty: float | None
    rolled: bool
    first_line: int
    codes: set[str] = field(default_factory=set)


class _Resolver:
    """Country text -> Comtrade code through the lookups, memoised (a file repeats the same names)."""

    def __init__(self, lookups: Lookups) -> None:
        self.lookups = lookups
        self.cache: dict[str, int | None] = {}

    def __call__(self, text: str) -> int | None:
        if text not in self.cache:
            country = self.lookups.country(text.strip()) if text.strip() else None
            self.cache[text] = country.code if country else None
        return self.cache[text]


def _scaled(text: str, scale: float, where: str, what: str) -> float | None:
    value = parse_number(text, where=where, what=what)
    if value is None or scale == 1:
        return value
    return float(Decimal(text.strip()) * Decimal(str(scale)))  # exact decimal scaling: 0.1 * 1000 == 100


class _Reader:
    """Walks the rows of one file; collects flows keyed by natural key, rolling national lines up."""

    def __init__(
        self, table: CsvTable, mapping: TradeCsvMapping, lookups: Lookups, report: IngestReport
    ) -> None:
        self.table, self.m, self.report = table, mapping, report
        self.country = _Resolver(lookups)
        cols = mapping.columns
        self.idx = {k: table.index(v) for k, v in cols.model_dump().items() if v is not None}
        self.sums: dict[tuple[int, int, str, str, int, str], _Sum] = {}
        self.rolled_lines = 0
        # Memos: a file repeats the same few periods, codes and flows on every row.
        self.periods: dict[str, int] = {}
        self.codes: dict[str, tuple[str, bool]] = {}
        self.const_flow = parse_flow(str(mapping.flow), "flow") if mapping.flow is not None else None

    def run(self) -> None:
        with progress(None, f"reading {self.table.name}") as bar:
            for line, fields in self.table.rows():
                self.report.rows_read += 1
                self.row(line, fields)
                bar.update(1)

    def _country(self, fields: list[str], what: str) -> int | None:
        text = fields[self.idx[what]] if what in self.idx else str(getattr(self.m, what))
        code = self.country(text)
        if code is None:
            self.report.skip(f"unknown {what} {text.strip()!r} (add it to countries.yml)")
        elif code == 0:
            self.report.skip(f"{what} World: an aggregate of all partners")
            return None
        return code

    def row(self, line: int, f: list[str]) -> None:
        where = f"{self.table.name} line {line}"
        period_text, code_text = f[self.idx["period"]], f[self.idx["hs_code"]]
        period = self.periods.get(period_text)
        if period is None:
            period = self.periods[period_text] = parse_period(period_text, self.m.freq, where)
        known = self.codes.get(code_text)
        if known is None:
            known = self.codes[code_text] = hs_code_of(code_text, self.m, where)
        code, rolled = known
        flow = parse_flow(f[self.idx["flow"]], where) if "flow" in self.idx else self.const_flow
        value = _scaled(f[self.idx["value"]], self.m.value_scale, where, "value")
        if value is not None and value < 0:
            raise ImportFailed(f"{where}: value {value} is negative")
        qty = parse_number(f[self.idx["qty"]], where=where, what="quantity") if "qty" in self.idx else None
        net = (
            _scaled(f[self.idx["weight"]], self.m.weight_scale, where, "weight")
            if "weight" in self.idx
            else None
        )
        reporter, partner = self._country(f, "reporter"), self._country(f, "partner")
        if reporter is None or partner is None:
            return
        if flow is None:
            self.report.skip("re-exports/re-imports: already included in exports/imports")
            return
        if value is None:
            self.report.skip("no value (empty cell): the month stays missing")
            return
        if self.m.qty_zero_is_missing and not qty:
            qty = None
        self.add(
            (reporter, partner, flow, code, period, self.m.freq),
            value,
            net,
            qty,
            rolled,
            line,
            f[self.idx["hs_code"]].strip(),
        )

    def add(
        self,
        key: tuple[int, int, str, str, int, str],
        value: float,
        net: float | None,
        qty: float | None,
        rolled: bool,
        line: int,
        original: str,
    ) -> None:
        where = f"{self.table.name} line {line}"
        self.rolled_lines += rolled
        found = self.sums.get(key)
        if found is None:
            self.sums[key] = _Sum(value, net, qty, rolled, line, {original})
            return
        if not (found.rolled and rolled):
            kind = (
                "the same flow twice"
                if found.rolled == rolled
                else "an HS-6 total and its own national lines"
            )
            raise ImportFailed(
                f"{where}: {kind} (first at line {found.first_line}: HS {original}, "
                f"period {key[4]}, partner {key[1]})"
            )
        if original in found.codes:
            raise ImportFailed(
                f"{where}: national line {original} twice for the same partner and period "
                f"(first at line {found.first_line})"
            )
        found.codes.add(original)
        found.value += value
        found.net = found.net + net if found.net is not None and net is not None else None
        found.qty = found.qty + qty if found.qty is not None and qty is not None else None

    def flows(self) -> FlowSet:
        out = FlowSet()
        unit = self.m.qty_unit
        for key, s in self.sums.items():
            out.rows[key] = Flow(
                *key,
                hs_level=len(key[3]),
                value_usd=s.value,
                net_kg=s.net,
                qty=s.qty,
                qty_unit=unit if s.qty is not None else None,
            )
        return out


def parse(path: Path, mapping: TradeCsvMapping, lookups: Lookups, report: IngestReport) -> ParsedFlows:
    """Read, check and normalise the whole file (pure: no database)."""
    table = open_csv(path, encoding=mapping.encoding, delimiter=mapping.delimiter)
    reader = _Reader(table, mapping, lookups, report)
    reader.run()
    flows = reader.flows()
    if reader.rolled_lines:
        report.extra["national lines rolled up to HS-6"] = f"{reader.rolled_lines:,}"
    meta: dict[str, Any] = {"mapping": mapping.model_dump(exclude_none=True)}
    if flows.rows:
        periods = [k[4] for k in flows.rows]
        meta.update(first_period=min(periods), last_period=max(periods))
    return ParsedFlows(flows, mapping.source.data_date or flows.data_date(), meta)


async def run_import(
    sessions: async_sessionmaker[AsyncSession],
    path: Path,
    *,
    now: dt.datetime,
    mapping: str | Path | None = None,
    lookups: Lookups | None = None,
    lookups_dir: str | Path | None = None,
    dry_run: bool = False,
    **options: object,
) -> IngestReport:
    """Import a monthly trade CSV with a column mapping, in one transaction.

    Args:
        sessions: the session factory.
        path: the CSV file.
        now: the clock for the snapshot row.
        mapping: a mapping YAML path or the name of a shipped mapping.
        lookups: country lookups (default: loaded from `lookups_dir` or the shipped files).
        dry_run: parse and load, then roll back.
        **options: command-line overrides of the mapping (see trade_mapping.OVERRIDES).
    Raises:
        ImportFailed: bad mapping or malformed file; nothing was changed.
    """
    path = Path(path)
    spec_mapping = build_mapping(mapping, **options)
    lookups = lookups or load_lookups(Path(lookups_dir) if lookups_dir else None)
    src = spec_mapping.source
    spec = SourceSpec(src.key, src.title, src.publisher, src.url, src.notes)
    report = IngestReport(source=src.key, file=path.name)
    # The checksum covers the mapping too: the same file read with a corrected mapping is a new snapshot.
    mapping_json = json.dumps(spec_mapping.model_dump(), sort_keys=True)
    sha = hashlib.sha256(f"{sha256_file(path)}\n{mapping_json}".encode()).hexdigest()
    return await import_flows(
        sessions,
        spec=spec,
        path=path,
        sha256=sha,
        now=now,
        report=report,
        parse=lambda: parse(path, spec_mapping, lookups, report),
        replace=spec_mapping.replace,
        dry_run=dry_run,
    )
