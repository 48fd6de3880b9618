"""A big Comtrade response decoded and normalised on two cores: a forked child takes the second half.

msgspec's decode and the per-record normalisation hold the GIL and are most of a file import (1.5 s of
2.7 s for 250,000 records on a 2-core machine), so no thread can share them. A child made by fork() shares
the mapped file at no cost: it decodes and normalises the records after a cut near the middle while this
process does those before it, then sends its flows back (msgpack through a pipe, 0.1 s).

The result is exactly the serial path's (comtrade.decode_response + normalise_all), or there is none and
the caller takes the serial path, which gives its own answer or its own error message. A split is used
only when it is certainly right:

- the `[` of the top-level "data" array is the first match of `"data": [`, confirmed by the text before it
  (closed with `]}`) decoding as a Response: a match inside a string or a nested object does not decode;
- the cut is the first `},{` after the middle, confirmed by the first half (closed with `]`) decoding as a
  list of records: a cut inside a string or a nested value leaves a string open or the array unbalanced;
- anything else not plain gives no result: either half failing to decode, a record error or a conflicting
  duplicate anywhere, an API error field, a count that does not match, a top-level field given twice, or
  `"data": [` again after the cut (JSON lets a key repeat; the serial decode keeps the last array).

Linux only. The child of a threaded process runs only the forking thread; here it touches nothing but the
mapped bytes, msgspec and the normaliser (no lock another thread could hold), and leaves with os._exit.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any, NoReturn

import msgspec

from db.ingest.base import ImportFailed, IngestReport
from db.ingest.comtrade_records import Normaliser, Record, Response, normalise_all
from db.ingest.trade_load import FlowSet
from db.ingest.trade_write import Flow

MIN_BYTES = 8 << 20  # below this (about 9,000 records) a fork costs more than it saves
META_FIELDS = ("count", "error", "url", "endpoint", "request", "queries")
DATA_KEY = re.compile(rb'"data"\s*:\s*\[')
BETWEEN_RECORDS = re.compile(rb"\}\s*,\s*\{")

_RESPONSE = msgspec.json.Decoder(Response)
_RECORDS = msgspec.json.Decoder(list[Record])
_CHILD_RESULT = msgspec.msgpack.Decoder(
    tuple[list[Flow], list[int], list[tuple[str, int, int]], int, dict[str, Any]]
)


@dataclass
class Halves:
    """Both halves decoded and normalised: what `comtrade.parse_records` would have produced."""

    flows: FlowSet
    records: int
    meta: dict[str, Any]
    skipped: Counter[str]


def worth_splitting(raw: memoryview) -> bool:
    return len(raw) >= MIN_BYTES and sys.platform == "linux" and hasattr(os, "fork")


def decode_and_normalise(raw: memoryview, name: str) -> Halves | None:
    """The whole response (`raw`: the file's bytes, BOM removed, UTF-8 checked) decoded and normalised on
    two cores, or None: take the serial path (see the module's docstring)."""
    found = DATA_KEY.search(raw)
    if found is None:
        return None
    start = found.end() - 1  # the array's "["
    try:
        before = _RESPONSE.decode(b"".join((raw[: start + 1], b"]}")))
    except msgspec.DecodeError:
        return None
    cut = BETWEEN_RECORDS.search(raw, start + (len(raw) - start) // 2)
    if cut is None:
        return None
    child, pipe = _fork_child(raw, cut.end() - 1)
    try:
        mine = _first_half(raw[start : cut.start() + 1], name)
        answer = _read_all(pipe)
    finally:
        os.close(pipe)
        _, status = os.waitpid(child, 0)
    if mine is None or not answer or status != 0:
        return None
    try:
        theirs = _CHILD_RESULT.decode(answer)
    except msgspec.DecodeError:  # a flow field of another type than the table's (a number as the unit...)
        return None
    return _merge(mine, theirs, before, name)


def _first_half(array: memoryview, name: str) -> Halves | None:
    try:
        records = _RECORDS.decode(b"".join((array, b"]")))
    except msgspec.DecodeError:
        return None
    report = IngestReport(source="comtrade", file=name)
    try:
        flows = normalise_all(records, name, report)
    except ImportFailed:
        return None  # the serial path names the first error of the whole file
    return Halves(flows, len(records), {}, report.skipped)


def _fork_child(raw: memoryview, second_half: int) -> tuple[int, int]:
    """Start the child on the records from byte `second_half` on; returns its pid and the pipe to read."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns on fork() in a threaded process: see the docstring
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        _child(raw, second_half, write_end)
    os.close(write_end)
    return pid, read_end


def _child(raw: memoryview, second_half: int, pipe: int) -> NoReturn:
    """Decode `{"data":[` + the rest of the file, normalise it, send the result, exit (1: no result)."""
    code = 1
    try:
        with contextlib.suppress(ValueError):  # not the main thread: no wakeup fd was set by this thread
            signal.set_wakeup_fd(-1)  # a signal here must not wake the parent's event loop (a shared fd)
        if DATA_KEY.search(raw, second_half):
            raise ValueError("a second data array: the serial path keeps the last, as msgspec does")
        body = _RESPONSE.decode(b"".join((b'{"data":[', raw[second_half:])))
        flows, where, skips = _normalise_in_order(body.data)
        meta = {f: getattr(body, f) for f in META_FIELDS}
        answer = msgspec.msgpack.encode((flows, where, skips, len(body.data), meta))
        with os.fdopen(pipe, "wb") as out:
            out.write(answer)
        code = 0
    except BaseException:  # noqa: BLE001 (any failure means: no result, the parent takes the serial path)
        pass
    finally:
        os._exit(code)


def _normalise_in_order(records: list[Record]) -> tuple[list[Flow], list[int], list[tuple[str, int, int]]]:
    """The flows with their record numbers, and each skip reason with its count and first record number
    (the parent needs it to count reasons in the serial path's order). A record error raises."""
    report = IngestReport(source="comtrade", file="")
    normalise_one, skipped = Normaliser(report), report.skipped
    flows: list[Flow] = []
    where: list[int] = []
    first: dict[str, int] = {}
    for i, rec in enumerate(records):
        flow = normalise_one(rec)
        if flow is not None:
            flows.append(flow)
            where.append(i)
        elif len(skipped) != len(first):  # a reason counted for the first time: the newest key
            first[next(reversed(skipped))] = i
    return flows, where, [(reason, count, first[reason]) for reason, count in skipped.items()]


def _read_all(pipe: int) -> bytes:
    chunks = []
    while chunk := os.read(pipe, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _merge(mine: Halves, theirs: tuple[Any, ...], before: Response, name: str) -> Halves | None:
    """The child's flows added after this half's, in the serial path's order, or None if it would fail."""
    flows, where, skips, records, meta_after = theirs
    meta: dict[str, Any] = {}
    for key in META_FIELDS:
        value, later = getattr(before, key), meta_after[key]
        if value is not None and later is not None:
            return None  # a field given twice
        value = later if value is None else value
        if value is not None:
            meta[key] = value
    total = mine.records + records
    count = meta.get("count")
    if meta.get("error") or (isinstance(count, int) and not isinstance(count, bool) and count > total):
        return None
    rows, duplicates = mine.flows.rows, IngestReport(source="comtrade", file=name)
    first_duplicate = -1
    for flow, i in zip(flows, where, strict=True):
        if rows.setdefault(flow[:6], flow) is not flow:  # a key seen before
            try:
                mine.flows.add(flow, where=f"{name} data[{mine.records + i}]", report=duplicates)
            except ImportFailed:
                return None
            if first_duplicate < 0:
                first_duplicate = i
    events = [(first, reason, count) for reason, count, first in skips]
    events += [(first_duplicate, reason, count) for reason, count in duplicates.skipped.items()]
    for _, reason, n in sorted(events):
        mine.skipped[reason] += n
    return Halves(mine.flows, total, meta, mine.skipped)
