"""UN Comtrade API v1 JSON -> trade_flows (from a saved response file; the API client is comtrade_api.py).

Format: the body of `data/v1/get/C/{freq}/HS` or `public/v1/preview/C/{freq}/HS`: an object whose `data`
list holds one record per reporter, partner, flow, commodity and period (fields in
../shared/reference/sources.md). What is kept, and what is skipped with a counted reason:

- flows "X" (exports, FOB) and "M" (imports, CIF), as the reporter reports them. Re-exports and
  re-imports ("RX", "RM") are skipped: Comtrade's X and M already include them, so storing both would
  double count. Other flow codes (processing trade etc.) are skipped too.
- totals only: records broken down by second partner, customs procedure or mode of transport
  (partner2Code != 0, customsCode != "C00", motCode != 0) are skipped; their total is a record of its own.
- partner 0 (World) is skipped: it is the sum of the partners, and the commands sum partners themselves.
- cmdCode "TOTAL" is stored as hs_code "TOTAL", hs_level 0; 2/4/6-digit codes with their length as level;
  anything else (non-HS classifications, "AG2"-style codes) is skipped.
- primaryValue -> value_usd; netWgt -> net_kg and qty (+ qtyUnitAbbr) when reported (0 or unit -1 means
  "not reported" in Comtrade and is stored as empty). A record without primaryValue is skipped: a missing
  month stays missing, never a zero.
- period "YYYY" -> YYYY00 (freq A), "YYYYMM" -> YYYYMM (freq M).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.base import ImportFailed, IngestReport, progress, sha256_file
from db.ingest.csvfile import read_text
from db.ingest.trade_load import TOTAL, Flow, FlowSet, ParsedFlows, SourceSpec, import_flows, write_parsed

SOURCE = SourceSpec("comtrade")
REQUIRED = ("freqCode", "period", "reporterCode", "partnerCode", "flowCode", "cmdCode", "primaryValue")
RE_FLOWS = {
    "RX": "re-exports (RX): already included in exports (X)",
    "RM": "re-imports (RM): already included in imports (M)",
}
BREAKDOWN = "breakdown by second partner, customs procedure or transport mode (only totals are kept)"


def read_response(path: Path) -> tuple[list[Any], dict[str, Any]]:
    """The `data` records of a saved API response, and its other top-level fields.

    Raises:
        ImportFailed: not JSON (or truncated), not a Comtrade v1 response, or an API error response.
    """
    text = read_text(path)
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFailed(
            f"{path.name} line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg}; a truncated file, or not a Comtrade response?)"
        ) from None
    return check_payload(payload, path.name)


def check_payload(payload: Any, name: str) -> tuple[list[Any], dict[str, Any]]:
    """Validate a decoded response body (file or API) and split it into records and metadata."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise ImportFailed(f"{name} is not a UN Comtrade API v1 response: no 'data' list at the top level")
    if payload.get("error"):
        raise ImportFailed(f"{name} is an error response from the API: {str(payload['error'])[:300]}")
    data: list[Any] = payload["data"]
    count = payload.get("count")
    if isinstance(count, int) and not isinstance(count, bool) and count > len(data):
        raise ImportFailed(f"{name} says it holds {count} records but has {len(data)} (truncated?)")
    meta = {k: v for k, v in payload.items() if k != "data"}
    return data, meta


def _int(rec: Mapping[str, Any], key: str, where: str) -> int:
    value = rec[key]
    if (
        isinstance(value, bool)
        or not isinstance(value, int | str)
        or not str(value).strip().lstrip("-").isdigit()
    ):
        raise ImportFailed(f"{where}: {key} {value!r} is not a whole number")
    number = int(value)
    if not 0 <= number <= 32767:
        raise ImportFailed(f"{where}: {key} {value!r} is not a UN Comtrade area code")
    return number


def _number(value: Any, key: str, where: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ImportFailed(f"{where}: {key} {value!r} is not a number")
    if value != value or value in (float("inf"), float("-inf")):
        raise ImportFailed(f"{where}: {key} {value!r} is not a finite number")
    return float(value)


def parse_period(value: Any, freq: str, where: str) -> int:
    """Comtrade's period ("2022" annual, "202203" monthly) as the stored integer (202200, 202203)."""
    text = str(value).strip()
    if freq == "A" and len(text) == 4 and text.isdigit():
        return int(text) * 100
    if freq == "M" and len(text) == 6 and text.isdigit() and 1 <= int(text[4:]) <= 12:
        return int(text)
    raise ImportFailed(
        f"{where}: period {value!r} does not fit frequency {freq!r} (YYYY for A, YYYYMM for M)"
    )


def _code_level(cmd: str) -> tuple[str, int] | None:
    if cmd == TOTAL:
        return TOTAL, 0
    if cmd.isdigit() and len(cmd) in (2, 4, 6):
        return cmd, len(cmd)
    return None


def _skip_reason(rec: Mapping[str, Any]) -> str | None:
    """Why a well-formed record is not stored, or None to keep it."""
    if rec.get("typeCode", "C") != "C":
        return f"trade in services (typeCode {rec.get('typeCode')}): only goods are stored"
    classification = str(rec.get("classificationCode") or "H")
    if not classification.startswith("H"):
        return f"classification {classification} is not HS"
    flow = str(rec["flowCode"])
    if flow in RE_FLOWS:
        return RE_FLOWS[flow]
    if flow not in ("X", "M"):
        return f"flow {flow}: only total exports (X) and imports (M) are stored"
    if (
        rec.get("partner2Code") not in (0, None)
        or rec.get("customsCode") not in ("C00", None)
        or rec.get("motCode") not in (0, None)
    ):
        return BREAKDOWN
    if rec["partnerCode"] == 0:
        return "partner World (0): the sum of all partners"
    if _code_level(str(rec["cmdCode"]).strip()) is None:
        return f"commodity code {rec['cmdCode']!r} is not an HS code or TOTAL"
    if rec["primaryValue"] is None:
        return "no trade value (primaryValue empty)"
    return None


def normalise(rec: Any, *, where: str, report: IngestReport) -> Flow | None:
    """One API record -> a Flow, or None (counted in `report` with the reason).

    Raises:
        ImportFailed: a required field is missing or has the wrong type.
    """
    if not isinstance(rec, dict):
        raise ImportFailed(f"{where}: a record is not a JSON object")
    missing = [k for k in REQUIRED if k not in rec]
    if missing:
        raise ImportFailed(f"{where}: missing field(s) {', '.join(missing)}")
    freq = str(rec["freqCode"])
    if freq not in ("A", "M"):
        raise ImportFailed(f"{where}: freqCode {freq!r} is not A or M")
    period = parse_period(rec["period"], freq, where)
    reporter, partner = _int(rec, "reporterCode", where), _int(rec, "partnerCode", where)
    value = _number(rec["primaryValue"], "primaryValue", where)
    reason = _skip_reason(rec)
    if reason:
        report.skip(reason, where=where)
        return None
    if value is not None and value < 0:
        raise ImportFailed(f"{where}: primaryValue {value} is negative")
    code, level = _code_level(str(rec["cmdCode"]).strip())  # type: ignore[misc]
    net = _number(rec.get("netWgt"), "netWgt", where)
    qty = _number(rec.get("qty"), "qty", where)
    unit = rec.get("qtyUnitAbbr")
    if not qty or rec.get("qtyUnitCode") in (-1, None) or unit in (None, "", "N/A"):
        qty, unit = None, None
    return Flow(
        reporter, partner, str(rec["flowCode"]), code, period, freq, level, value, net or None, qty, unit
    )


def parse(path: Path, report: IngestReport) -> ParsedFlows:
    """Read and normalise a saved response file (pure: no database)."""
    records, meta = read_response(path)
    flows = FlowSet()
    with progress(len(records), f"reading {path.name}") as bar:
        for i, rec in enumerate(records):
            report.rows_read += 1
            where = f"{path.name} data[{i}]"
            flow = normalise(rec, where=where, report=report)
            if flow is not None:
                flows.add(flow, where=where, report=report)
            bar.update(1)
    keep = {k: meta[k] for k in ("url", "endpoint", "queries", "count") if k in meta}
    if isinstance(keep.get("url"), str):
        keep["url"] = keep["url"].split("subscription-key", 1)[0]  # never keep a key given in a URL
    return ParsedFlows(flows, flows.data_date(), {"records": len(records), **keep})


async def run_import(
    sessions: async_sessionmaker[AsyncSession],
    path: Path,
    *,
    now: dt.datetime,
    dry_run: bool = False,
    **options: object,
) -> IngestReport:
    """Import a saved UN Comtrade v1 response in one transaction (same file twice: nothing changes).

    Raises:
        ImportFailed: the file is malformed or holds no storable flow; nothing was changed.
    """
    if options:
        raise ImportFailed(f"unknown option(s) for comtrade: {', '.join(options)}")
    path = Path(path)
    report = IngestReport(source=SOURCE.key, file=path.name)
    return await import_flows(
        sessions,
        spec=SOURCE,
        path=path,
        sha256=sha256_file(path),
        now=now,
        report=report,
        parse=lambda: parse(path, report),
        dry_run=dry_run,
    )


async def load_into_session(
    session: AsyncSession, path: Path, *, now: dt.datetime, report: IngestReport
) -> bool:
    """Load a response file inside the caller's transaction, tolerating concurrent writers (on-demand use)."""
    parsed = parse(path, report)
    if not parsed.flows:
        return False
    return await write_parsed(
        session,
        spec=SOURCE,
        parsed=parsed,
        sha256=sha256_file(path),
        file_name=path.name,
        now=now,
        report=report,
        concurrent=True,
    )
