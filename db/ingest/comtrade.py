"""UN Comtrade API v1 JSON -> trade_flows (from a saved response file; the API client is comtrade_api.py).

Format: the body of `data/v1/get/C/{freq}/HS` or `public/v1/preview/C/{freq}/HS`: an object whose `data`
list holds one record per reporter, partner, flow, commodity and period (UN Comtrade's v1 field names:
reporterCode, partnerCode, flowCode, cmdCode, period, primaryValue ...). What is kept, and what is skipped with a counted reason:

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

The rules are applied by comtrade_records.py; a file of 8 MB or more is decoded and normalised on two cores
on Linux (comtrade_split.py), its rows written while the second core still reads, with the same result.
"""

from __future__ import annotations

import asyncio
import codecs
import datetime as dt
import hashlib
import json
import mmap
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.gc_pause import gc_paused
from db.ingest import comtrade_split
from db.ingest.base import ImportFailed, IngestReport
from db.ingest.comtrade_records import Record, Response, normalise_all
from db.ingest.csvfile import bad_byte, read_text
from db.ingest.trade_load import Checksum, ParsedFlows, SourceSpec, import_flows, write_parsed
from db.ingest.trade_rows import FlowSet
from db.ingest.trade_write import Flow

SOURCE = SourceSpec("comtrade")
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
        ImportFailed: not UTF-8, not JSON (or truncated), not a Comtrade v1 response, or an API error response.
    """
    raw = _checked_text(data, path)
    return _decode_checked(raw, path)


Decoded = tuple[list[Record], dict[str, Any]] | comtrade_split.Halves | comtrade_split.Split


def decode(
    data: memoryview, path: Path, *, stream: bool = False, child_done: threading.Event | None = None
) -> Decoded:
    """`decode_response`, or for a big file on Linux the records normalised on two cores (see
    db.ingest.comtrade_split: the same result; `parse_decoded` takes any of them). With `stream`, a split
    file comes back as soon as this process's part is done, the child's parts still to come (the caller
    closes it, and takes the serial path if it raises Refused); `child_done` is set when its child is done,
    or at once if there is no child.

    Raises:
        ImportFailed: as `decode_response`.
    """
    raw = _checked_text(data, path)
    if comtrade_split.worth_splitting(raw):
        split = (
            comtrade_split.start(raw, path.name, child_done)
            if stream
            else comtrade_split.decode_and_normalise(raw, path.name)
        )
        if split is not None:
            return split
    if child_done is not None:
        child_done.set()
    return _decode_checked(raw, path)


def _checked_text(data: memoryview, path: Path) -> memoryview:
    """The bytes without a UTF-8 byte order mark, checked to be UTF-8."""
    raw = data[3:] if data[:3] == b"\xef\xbb\xbf" else data
    check_utf8(raw, path.name)  # msgspec checks only the strings it decodes, not the fields it skips
    return raw


def _decode_checked(raw: memoryview, path: Path) -> tuple[list[Record], dict[str, Any]]:
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


async def decode_and_hash(path: Path, *, stream: bool = False) -> tuple[Decoded, asyncio.Future[str]]:
    """`decode` and the file's sha256 (a future): a worker thread hashes the mapped bytes (hashlib releases
    the GIL, 0.28 s for 250,000 records) while this thread decodes them (msgspec holds it).

    A streamed split keeps both cores busy while it is read: its checksum waits for the child to be done and
    is computed on the core the child leaves idle, while this process writes the last rows. Otherwise the
    future is done or nearly so when this returns.

    The decode runs even when the checksum will show the file is already loaded: a re-run costs the decode
    (and for a streamed file the writes, rolled back) and still writes nothing.
    """
    data = map_file(path)
    child_done = threading.Event()
    if not stream:
        child_done.set()
    hashing = asyncio.get_running_loop().run_in_executor(None, _sha256_after, child_done, data)
    try:
        return decode(data, path, stream=stream, child_done=child_done), hashing
    except BaseException:
        child_done.set()
        await asyncio.wait([hashing])  # the thread must be done with the mapping
        raise


def _sha256_after(ready: threading.Event, data: memoryview) -> str:
    ready.wait()
    return _sha256(data)


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
    with gc_paused():
        return parse_decoded(decode(map_file(path), path), path.name, report)


def parse_decoded(decoded: Decoded, name: str, report: IngestReport) -> ParsedFlows:
    """Normalise what `decode` gave (or take the flows a two-core decode already normalised; of a streamed
    one, the first part, the rest to come as the load goes).

    Raises:
        comtrade_split.Refused: a streamed file whose first part holds no flow, and the rest is not plain.
    """
    if isinstance(decoded, comtrade_split.Split):
        if decoded.own.flows:
            return ParsedFlows(decoded.own.flows, None, {}, rest=_Streamed(decoded, report))
        decoded = decoded.drain()  # nothing to write before the rest is in
    if isinstance(decoded, comtrade_split.Halves):
        report.rows_read += decoded.records
        report.skipped.update(decoded.skipped)
        return _parsed(decoded.flows, decoded.records, decoded.meta)
    records, meta = decoded
    return parse_records(records, meta, name, report)


class _Streamed:
    """A streamed split's parts for the load (trade_load.FlowsToCome), counted in the import's report."""

    def __init__(self, split: comtrade_split.Split, report: IngestReport) -> None:
        self.split, self.report = split, report
        self.expected = split.expected
        self._summary: tuple[str | None, dict[str, Any]] | None = None

    def parts(self) -> Iterator[list[Flow]]:
        yield from self.split.parts()
        whole = self.split.own
        self.report.rows_read += whole.records
        self.report.skipped.update(whole.skipped)
        parsed = _parsed(whole.flows, whole.records, whole.meta)
        self._summary = parsed.data_date, parsed.meta

    def summary(self) -> tuple[str | None, dict[str, Any]]:
        if self._summary is None:
            raise RuntimeError("the parts are not all in yet")
        return self._summary


def parse_records(
    records: list[Record], meta: dict[str, Any], name: str, report: IngestReport
) -> ParsedFlows:
    """Normalise the records `read_response` gave."""
    with gc_paused():
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

    A big file is read on two cores and its rows written while the second core still reads (see
    db.ingest.comtrade_split); if that path refuses the file part-way, the transaction is rolled back and the
    file is read again on one core, for the serial path's own answer or error.

    Raises:
        ImportFailed: the file is malformed or holds no storable flow; nothing was changed.
    """
    if options:
        raise ImportFailed(f"unknown option(s) for comtrade: {', '.join(options)}")
    path = Path(path)
    # Paused until the load is written (import_flows says why): resumed between the decode and the load,
    # the first collection would scan every decoded flow once more (0.1 s at 250,000 records).
    with gc_paused():
        decoded, hashing = await decode_and_hash(path, stream=True)
        split = decoded if isinstance(decoded, comtrade_split.Split) else None
        held = [decoded]  # the only reference: the records are freed as soon as they are normalised
        del decoded
        sha256 = hashing if split is not None else await hashing  # a split's: checked before the commit
        try:
            return await _import_decoded(sessions, path, held, sha256, now=now, dry_run=dry_run)
        except comtrade_split.Refused:
            pass
        finally:
            if split is not None:
                split.close()
        held = [decode_response(map_file(path), path)]
        return await _import_decoded(sessions, path, held, await hashing, now=now, dry_run=dry_run)


async def _import_decoded(
    sessions: async_sessionmaker[AsyncSession],
    path: Path,
    held: list[Decoded],
    sha256: Checksum,
    *,
    now: dt.datetime,
    dry_run: bool,
) -> IngestReport:
    """One attempt at the import, with a report of its own; `held` holds the decoded file (and only it)."""
    report = IngestReport(source=SOURCE.key, file=path.name)

    def parse() -> ParsedFlows:
        return parse_decoded(held.pop(), path.name, report)

    return await import_flows(
        sessions,
        spec=SOURCE,
        path=path,
        sha256=sha256,
        now=now,
        report=report,
        parse=parse,
        dry_run=dry_run,
    )


async def load_into_session(
    session: AsyncSession, path: Path, *, now: dt.datetime, report: IngestReport
) -> bool:
    """Load a response file inside the caller's transaction, tolerating concurrent writers (on-demand use)."""
    with gc_paused():  # until the flows are written, as in run_import
        decoded, hashing = await decode_and_hash(path)
        sha256 = await hashing
        parsed = parse_decoded(decoded, path.name, report)
        del decoded
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
