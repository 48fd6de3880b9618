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

import asyncio
import codecs
import datetime as dt
import hashlib
import json
import mmap
import re
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.gc_pause import gc_paused
from db.ingest.base import ImportFailed, IngestReport, progress
from db.ingest.csvfile import bad_byte, read_text
from db.ingest.trade_load import TOTAL, Flow, FlowSet, ParsedFlows, SourceSpec, import_flows, write_parsed

SOURCE = SourceSpec("comtrade")
UNSET = msgspec.UNSET
REQUIRED = ("freqCode", "period", "reporterCode", "partnerCode", "flowCode", "cmdCode", "primaryValue")
RE_FLOWS = {
    "RX": "re-exports (RX): already included in exports (X)",
    "RM": "re-imports (RM): already included in imports (M)",
}
BREAKDOWN = "breakdown by second partner, customs procedure or transport mode (only totals are kept)"


class Record(msgspec.Struct, gc=False):
    """The fields of a v1 record that matter here (the other ~30 are skipped while decoding, unparsed).

    Every field is `Any` so that `normalise` checks the types itself and says which field of which record is
    wrong; a required field absent from the record stays UNSET. `gc=False`: decoded JSON holds no reference
    cycles, so the garbage collector need not track (and re-scan) hundreds of thousands of records.

    The fields are declared in the order the API sends them: msgspec looks a key up starting after the
    field found last, so each one is found at the first try (a few % of the decoding time).
    """

    typeCode: Any = "C"
    freqCode: Any = msgspec.UNSET
    period: Any = msgspec.UNSET
    reporterCode: Any = msgspec.UNSET
    flowCode: Any = msgspec.UNSET
    partnerCode: Any = msgspec.UNSET
    partner2Code: Any = None
    classificationCode: Any = None
    cmdCode: Any = msgspec.UNSET
    customsCode: Any = None
    motCode: Any = None
    qtyUnitCode: Any = None
    qtyUnitAbbr: Any = None
    qty: Any = None
    netWgt: Any = None
    primaryValue: Any = msgspec.UNSET


class Response(msgspec.Struct):
    """A v1 response body (or our saved file of several): the records and what it says about itself."""

    data: list[Record]
    count: Any = None
    error: Any = None
    url: Any = None
    endpoint: Any = None
    request: Any = None
    queries: Any = None


_DECODER = msgspec.json.Decoder(Response)


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


def check_utf8(raw: bytes | memoryview, name: str) -> None:
    """Refuse bytes that are not UTF-8, naming the line of the first bad byte (as `read_text` does).

    Checked in 1 MB chunks: an ASCII chunk costs a copy and `isascii` (about 20 ms for 226 MB); from the
    first non-ASCII chunk on, an incremental decoder checks and throws the text away (3x faster than one
    str of the whole file). An ASCII chunk ends on a character boundary, so starting the decoder there is
    exact; the decoder carries a character split across two later chunks over to the next one.

    Raises:
        ImportFailed: "<name> line N: byte 0xNN is not valid utf-8 ...".
    """
    view = memoryview(raw)
    decoder = None
    try:
        for start in range(0, len(view), UTF8_CHUNK):
            chunk = view[start : start + UTF8_CHUNK]
            if decoder is None:
                if bytes(chunk).isascii():
                    continue
                decoder = codecs.getincrementaldecoder("utf-8")()
            decoder.decode(chunk)
        if decoder is not None:
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        pass
    else:
        return
    data = bytes(view)
    try:  # the failure path only: decode it whole to get the bad byte's offset in the file
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_byte(name, data, exc) from None


def map_file(path: Path) -> memoryview:
    """The file's bytes, mapped read-only instead of read: a 226 MB read() spends 0.1 s faulting in and
    filling fresh memory; the pre-faulted (MAP_POPULATE) mapping of the page cache costs 0.015 s.

    The mapping is unmapped when the last view of it is freed (no explicit close: a view kept alive by an
    exception's traceback would make close() fail). The file must not be truncated while it is mapped.
    """
    with path.open("rb") as fh:
        if not path.stat().st_size:
            return memoryview(b"")  # mmap refuses an empty file
        flags = mmap.MAP_PRIVATE | getattr(mmap, "MAP_POPULATE", 0)
        return memoryview(mmap.mmap(fh.fileno(), 0, flags=flags, prot=mmap.PROT_READ))


def _sha256(data: memoryview) -> str:
    return hashlib.sha256(data).hexdigest()  # one call: hashlib releases the GIL for the whole buffer


def read_response(path: Path) -> tuple[list[Record], dict[str, Any]]:
    """The records of a saved API response, and its other top-level fields (see `decode_response`)."""
    return decode_response(map_file(path), path)


def decode_response(data: memoryview, path: Path) -> tuple[list[Record], dict[str, Any]]:
    """The records of a saved API response (the file's bytes `data`), and its other top-level fields.

    Decoded with msgspec into `Record`s: the fields not used are skipped without building Python objects
    (3x faster than decoding every field of a 45-field record).

    Raises:
        ImportFailed: not JSON (or truncated), not a Comtrade v1 response, or an API error response.
    """
    raw = data[3:] if data[:3] == b"\xef\xbb\xbf" else data
    check_utf8(raw, path.name)  # msgspec checks only the strings it decodes, not the fields it skips
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


async def read_and_hash(path: Path) -> tuple[list[Record], dict[str, Any], str]:
    """`read_response` and the file's sha256 at once: a worker thread hashes the mapped bytes (hashlib
    releases the GIL) while this thread decodes them (msgspec holds it), 0.15 s of a 250,000-record file.

    The decode runs even when the checksum will show the file is already loaded: a re-run costs the decode
    (about 0.3 s for 250,000 records) and still writes nothing.
    """
    data = map_file(path)
    hashing = asyncio.get_running_loop().run_in_executor(None, _sha256, data)
    try:
        records, meta = decode_response(data, path)
    finally:
        sha256 = await hashing  # also on failure: the thread must be done with the mapping
    return records, meta, sha256


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


class RecordError(ValueError):
    """One record is malformed; `parse` adds the file and record index and raises ImportFailed."""


def _int(value: Any, key: str) -> int:
    if type(value) is not int:  # fast path first: the API sends JSON integers
        if isinstance(value, bool) or not isinstance(value, str) or not value.strip().lstrip("-").isdigit():
            raise RecordError(f"{key} {value!r} is not a whole number")
        value = int(value)
    number: int = value
    if not 0 <= number <= 32767:
        raise RecordError(f"{key} {value!r} is not a UN Comtrade area code")
    return number


def _number(value: Any, key: str) -> float | None:
    kind = type(value)
    if kind is float:
        if value - value != 0:  # inf or nan
            raise RecordError(f"{key} {value!r} is not a finite number")
        return value  # type: ignore[no-any-return]
    if kind is int:
        return float(value)
    if value is None or value == "":
        return None
    raise RecordError(f"{key} {value!r} is not a number")


def parse_period(value: Any, freq: str) -> int:
    """Comtrade's period ("2022" annual, "202203" monthly) as the stored integer (202200, 202203)."""
    text = value.strip() if type(value) is str else str(value)
    if freq == "M" and len(text) == 6 and text.isdigit() and 1 <= int(text[4:]) <= 12:
        return int(text)
    if freq == "A" and len(text) == 4 and text.isdigit():
        return int(text) * 100
    raise RecordError(f"period {value!r} does not fit frequency {freq!r} (YYYY for A, YYYYMM for M)")


def _code_level(cmd: str) -> tuple[str, int] | None:
    if cmd == TOTAL:
        return TOTAL, 0
    if cmd.isdigit() and len(cmd) in (2, 4, 6):
        return cmd, len(cmd)
    return None


def _scope_reason(
    type_code: Any, classification: Any, flow: str, partner2: Any, customs: Any, mot: Any
) -> str | None:
    """Why records of this kind (goods or services, classification, flow, breakdown) are not stored."""
    if type_code != "C":
        return f"trade in services (typeCode {type_code}): only goods are stored"
    classification = classification or "H"
    if not str(classification).startswith("H"):
        return f"classification {classification} is not HS"
    if flow != "X" and flow != "M":
        return RE_FLOWS.get(flow) or f"flow {flow}: only total exports (X) and imports (M) are stored"
    if partner2 not in TOTAL_PARTNER2 or customs not in TOTAL_CUSTOMS or mot not in TOTAL_MOT:
        return BREAKDOWN
    return None


TOTAL_PARTNER2 = (0, None)
TOTAL_CUSTOMS = ("C00", None)
TOTAL_MOT = (0, None)
NOT_CACHED = object()
_new_flow = tuple.__new__  # Flow(...) goes through a Python-level __new__: 3x slower per record


class Normaliser:
    """API records -> Flows, or None (counted in `report` with the reason); `parse` calls it per record.

    A response of 250,000 records holds a few dozen periods, a few thousand commodity codes and a handful of
    record kinds (type, classification, flow and breakdown codes), so what depends on those alone is worked
    out once per distinct value and looked up after. Only string values are cached where the result could
    differ between values Python considers equal (202201 == 202201.0, but only the int is a valid period);
    anything else is worked out every time, exactly as for the first occurrence.
    """

    def __init__(self, report: IngestReport) -> None:
        self.report = report
        self.periods: dict[str, dict[str, int]] = {"M": {}, "A": {}}
        self.codes: dict[str, tuple[str, int] | None] = {}
        self.scopes: dict[tuple[Any, ...], str | None] = {}

    def period(self, raw: Any, freq: str) -> int:
        if type(raw) is not str:
            return parse_period(raw, freq)
        cache = self.periods[freq]
        found = cache.get(raw)
        if found is None:
            found = cache[raw] = parse_period(raw, freq)
        return found

    def code(self, cmd: Any) -> tuple[str, int] | None:
        if type(cmd) is not str:
            return _code_level(str(cmd).strip())
        found = self.codes.get(cmd, NOT_CACHED)
        if found is NOT_CACHED:
            found = self.codes[cmd] = _code_level(cmd.strip())
        return found  # type: ignore[return-value]

    def scope_reason(self, rec: Record, flow: str) -> str | None:
        key = (rec.typeCode, rec.classificationCode, flow, rec.partner2Code, rec.customsCode, rec.motCode)
        try:
            return self.scopes[key]
        except KeyError:
            reason = _scope_reason(*key)
            if type(key[0]) is str and isinstance(key[1], str | None):  # True == 1, but the messages differ
                self.scopes[key] = reason
            return reason
        except TypeError:  # a list or object where a code belongs: not hashable, never cached
            return _scope_reason(*key)

    def __call__(self, rec: Record) -> Flow | None:
        """One API record -> a Flow, or None (counted in the report with the reason).

        Raises:
            RecordError: a required field is missing or has the wrong type.
        """
        freq, raw_period = rec.freqCode, rec.period
        if (
            freq is UNSET
            or raw_period is UNSET
            or rec.reporterCode is UNSET
            or rec.partnerCode is UNSET
            or rec.flowCode is UNSET
            or rec.cmdCode is UNSET
            or rec.primaryValue is UNSET
        ):
            raise RecordError(
                f"missing field(s) {', '.join(k for k in REQUIRED if getattr(rec, k) is UNSET)}"
            )
        if freq != "M" and freq != "A":
            raise RecordError(f"freqCode {freq!r} is not A or M")
        period = self.period(raw_period, freq)
        reporter, partner = rec.reporterCode, rec.partnerCode
        if type(reporter) is not int or not 0 <= reporter <= 32767:  # the checks inline for JSON integers
            reporter = _int(reporter, "reporterCode")
        if type(partner) is not int or not 0 <= partner <= 32767:
            partner = _int(partner, "partnerCode")
        value = rec.primaryValue
        if type(value) is not float or value - value != 0:  # the check inline for finite JSON floats
            value = _number(value, "primaryValue")
        flow = str(rec.flowCode)
        code = self.code(rec.cmdCode)
        reason = self.scope_reason(rec, flow)
        if reason is None:
            if partner == 0:
                reason = "partner World (0): the sum of all partners"
            elif code is None:
                reason = f"commodity code {rec.cmdCode!r} is not an HS code or TOTAL"
            elif rec.primaryValue is None:
                reason = "no trade value (primaryValue empty)"
        if reason:
            self.report.skip(reason)
            return None
        if value is not None and value < 0:
            raise RecordError(f"primaryValue {value} is negative")
        net, qty = rec.netWgt, rec.qty
        if type(net) is not float or net - net != 0:
            net = _number(net, "netWgt")
        if type(qty) is not float or qty - qty != 0:
            qty = _number(qty, "qty")
        unit = rec.qtyUnitAbbr
        if not qty or rec.qtyUnitCode in (-1, None) or unit in (None, "", "N/A"):
            qty, unit = None, None
        hs_code, level = code  # type: ignore[misc]
        return _new_flow(
            Flow, (reporter, partner, flow, hs_code, period, freq, level, value, net or None, qty, unit)
        )


def normalise(rec: Record, report: IngestReport) -> Flow | None:
    """One API record -> a Flow, or None (counted in `report` with the reason); see `Normaliser`."""
    return Normaliser(report)(rec)


def parse(path: Path, report: IngestReport) -> ParsedFlows:
    """Read and normalise a saved response file (pure: no database)."""
    with gc_paused():
        records, meta = read_response(path)
        return parse_records(records, meta, path.name, report)


def parse_records(
    records: list[Record], meta: dict[str, Any], name: str, report: IngestReport
) -> ParsedFlows:
    """Normalise the records `read_response` gave."""
    with gc_paused():
        flows = _normalise_all(records, name, report)
    report.rows_read += len(records)
    keep: dict[str, Any] = {k: meta[k] for k in ("url", "endpoint", "queries", "count") if k in meta}
    if isinstance(keep.get("url"), str):
        keep["url"] = keep["url"].split("subscription-key", 1)[0]  # never keep a key given in a URL
    return ParsedFlows(flows, flows.data_date(), {"records": len(records), **keep})


def _normalise_all(records: list[Record], name: str, report: IngestReport) -> FlowSet:
    flows, normalise_one = FlowSet(), Normaliser(report)
    rows = flows.rows
    with progress(len(records), f"reading {name}") as bar:
        for i, rec in enumerate(records):
            try:
                flow = normalise_one(rec)
            except RecordError as exc:
                raise ImportFailed(f"{name} data[{i}]: {exc}") from None
            if flow is not None and rows.setdefault(flow[:6], flow) is not flow:  # a key seen before
                flows.add(flow, where=f"{name} data[{i}]", report=report)
            if i % 10_000 == 9_999:
                bar.update(10_000)
    return flows


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
    with gc_paused():
        records, meta, sha256 = await read_and_hash(path)
    decoded = [records]  # the only reference: the records are freed as soon as they are normalised
    del records

    def parse_decoded() -> ParsedFlows:
        return parse_records(decoded.pop(), meta, path.name, report)

    return await import_flows(
        sessions,
        spec=SOURCE,
        path=path,
        sha256=sha256,
        now=now,
        report=report,
        parse=parse_decoded,
        dry_run=dry_run,
    )


async def load_into_session(
    session: AsyncSession, path: Path, *, now: dt.datetime, report: IngestReport
) -> bool:
    """Load a response file inside the caller's transaction, tolerating concurrent writers (on-demand use)."""
    with gc_paused():
        records, meta, sha256 = await read_and_hash(path)
        parsed = parse_records(records, meta, path.name, report)
        del records
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
