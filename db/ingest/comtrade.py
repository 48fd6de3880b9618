"""UN Comtrade API v1 JSON -> trade_flows (from a saved response file; the API client is comtrade_api.py).

Format: the body of `data/v1/get/C/{freq}/HS` or `public/v1/preview/C/{freq}/HS`: an object whose `data`
list holds one record per reporter, partner, flow, commodity and period (UN Comtrade's v1 field names:
reporterCode, partnerCode, flowCode, cmdCode, period, primaryValue ...). What is kept, and what is skipped
with a counted reason:

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

The file is decoded with msgspec (hashed meanwhile on a second thread) and the rules are applied by
comtrade_records.py.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest.base import ImportFailed, IngestReport
from db.ingest.comtrade_records import Record, Response, normalise_all
from db.ingest.csvfile import bad_byte, read_text
from db.ingest.trade_load import ParsedFlows, SourceSpec, import_flows, write_parsed
from db.ingest.trade_rows import FlowSet

SOURCE = SourceSpec("comtrade")
_DECODER = msgspec.json.Decoder(Response)
BOM = b"\xef\xbb\xbf"


def _not_json(name: str, text: str, exc: Exception) -> ImportFailed:
    try:  # the slower parser only to say where the file breaks (line and column)
        json.loads(text)
    except json.JSONDecodeError as where:
        return ImportFailed(
            f"{name} line {where.lineno} column {where.colno}: not valid JSON ({where.msg}; "
            "a truncated file, or not a Comtrade response?)"
        )
    return ImportFailed(f"{name}: not valid JSON ({exc})")


UTF8_CHUNK = 1 << 20


def check_utf8(raw: bytes, name: str) -> None:
    """Refuse bytes that are not UTF-8, naming the line of the first bad byte (as `read_text` does).

    msgspec checks only the strings it decodes, not the ~30 fields of a record it skips. Checked in 1 MB
    chunks by an incremental decoder whose text is thrown away: 3x faster than one str of the whole file.

    Raises:
        ImportFailed: "<name> line N: byte 0xNN is not valid utf-8 ...".
    """
    if raw.isascii():
        return
    view, decoder = memoryview(raw), codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(view), UTF8_CHUNK):
            decoder.decode(view[start : start + UTF8_CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        try:  # the failure path only: decode it whole to get the bad byte's offset in the file
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise bad_byte(name, raw, exc) from None


def read_response(path: Path) -> tuple[list[Record], dict[str, Any]]:
    """The records of a saved API response, and its other top-level fields (see `decode_response`)."""
    return decode_response(path.read_bytes(), path)


def decode_response(data: bytes, path: Path) -> tuple[list[Record], dict[str, Any]]:
    """The records of a saved API response (the file's bytes `data`), and its other top-level fields.

    Decoded with msgspec into `Record`s: the fields not used are skipped without building Python objects
    (3x faster than decoding every field of a 45-field record).

    Raises:
        ImportFailed: not UTF-8, not JSON (or truncated), not a Comtrade v1 response, or an API error response.
    """
    raw = data[len(BOM) :] if data.startswith(BOM) else data
    check_utf8(raw, path.name)
    try:
        body = _DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        found = re.search(r"at `\$\.data\[(\d+)\]`", str(exc))
        if found:
            raise ImportFailed(f"{path.name} data[{found.group(1)}]: a record is not a JSON object") from None
        raise ImportFailed(
            f"{path.name} is not a UN Comtrade API v1 response: no 'data' list at the top level ({exc})"
        ) from None
    except msgspec.DecodeError as exc:
        raise _not_json(path.name, read_text(path), exc) from None  # read_text names a bad byte's line
    if body.error:
        raise ImportFailed(f"{path.name} is an error response from the API: {str(body.error)[:300]}")
    _check_count(body.count, len(body.data), path.name)
    meta = {f: getattr(body, f) for f in ("count", "url", "endpoint", "request", "queries")}
    return body.data, {k: v for k, v in meta.items() if v is not None}


def _check_count(count: Any, held: int, name: str) -> None:
    if isinstance(count, int) and not isinstance(count, bool) and count > held:
        raise ImportFailed(f"{name} says it holds {count} records but has {held} (truncated?)")


def check_payload(payload: Any, name: str) -> tuple[list[Any], dict[str, Any]]:
    """Validate an API answer decoded as plain JSON (the raw records are kept as they came, for the cache)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise ImportFailed(f"{name} is not a UN Comtrade API v1 response: no 'data' list at the top level")
    if payload.get("error"):
        raise ImportFailed(f"{name} is an error response from the API: {str(payload['error'])[:300]}")
    data: list[Any] = payload["data"]
    _check_count(payload.get("count"), len(data), name)
    meta = {k: v for k, v in payload.items() if k != "data"}
    return data, meta


def parse(path: Path, report: IngestReport) -> ParsedFlows:
    """Read and normalise a saved response file (pure: no database)."""
    records, meta = read_response(path)
    return parse_records(records, meta, path.name, report)


def parse_records(
    records: list[Record], meta: dict[str, Any], name: str, report: IngestReport
) -> ParsedFlows:
    """Normalise the records `read_response` gave."""
    flows = normalise_all(records, name, report)
    report.rows_read += len(records)
    return _parsed(flows, len(records), meta)


def _parsed(flows: FlowSet, records: int, meta: dict[str, Any]) -> ParsedFlows:
    keep: dict[str, Any] = {k: meta[k] for k in ("url", "endpoint", "queries", "count") if k in meta}
    if isinstance(keep.get("url"), str):
        keep["url"] = keep["url"].split("subscription-key", 1)[0]  # never keep a key given in a URL
    return ParsedFlows(flows, flows.data_date(), {"records": records, **keep})


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
    records, meta, sha256 = read_and_hash(path)
    report = IngestReport(source=SOURCE.key, file=path.name)
    return await import_flows(
        sessions,
        spec=SOURCE,
        path=path,
        sha256=sha256,
        now=now,
        report=report,
        parse=lambda: parse_records(records, meta, path.name, report),
        dry_run=dry_run,
    )


def read_and_hash(path: Path) -> tuple[list[Record], dict[str, Any], str]:
    """A saved response's records and other fields (`decode_response`) and the file's sha256, both at once.

    msgspec decodes on a worker thread while this one hashes: hashlib lets go of the GIL for the whole
    buffer, so the hash runs on the other core (at 250,000 records: 0.13 s of hashing hidden behind 0.4 s of
    decoding). The price: a file that was already loaded is decoded before the import finds that out.

    Raises:
        ImportFailed: as `decode_response`.
    """
    data = path.read_bytes()
    with ThreadPoolExecutor(max_workers=1) as pool:
        decoding = pool.submit(decode_response, data, path)
        sha256 = hashlib.sha256(data).hexdigest()
        records, meta = decoding.result()
    return records, meta, sha256


async def load_into_session(
    session: AsyncSession, path: Path, *, now: dt.datetime, report: IngestReport
) -> bool:
    """Load a response file inside the caller's transaction, tolerating concurrent writers (on-demand use)."""
    records, meta, sha256 = read_and_hash(path)
    parsed = parse_records(records, meta, path.name, report)
    if not parsed.flows:
        return False
    return await write_parsed(
        session,
        spec=SOURCE,
        parsed=parsed,
        sha256=sha256,
        file_name=path.name,
        now=now,
        report=report,
        concurrent=True,
    )
