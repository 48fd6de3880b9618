"""A big Comtrade response decoded and normalised on two cores, its rows written while the rest is still read.

msgspec's decode and the per-record normalisation hold the GIL and are most of a file import, so no thread
can share them. A child made by fork() shares the mapped file at no cost: it decodes and normalises the
records after a cut (about three quarters of them, in PIECES parts) and sends each part's flows back as soon
as it is done (msgpack through a pipe), while this process does the records before the cut and then writes
rows: its own first, then each part as it arrives. The database work overlaps the child's decoding instead
of following it (see `Split.parts`).

The result is exactly the serial path's (comtrade.decode_response + normalise_all), or `Refused` is raised
and the caller takes the serial path, which gives its own answer or its own error message. A split is used
only when it is certainly right:

- the `[` of the top-level "data" array is the first match of `"data": [`, confirmed by the text before it
  (closed with `]}`) decoding as a Response: a match inside a string or a nested object does not decode;
- each cut is the first `},{` after a chosen offset, confirmed by the part before it (closed with `]`)
  decoding as a list of records: a cut inside a string or a nested value leaves a string open or the array
  unbalanced, so every part that decodes ends at a real record boundary, and the next one starts at one;
- anything else not plain refuses: a part failing to decode, a record error or a conflicting duplicate
  anywhere, an API error field, a count that does not match, a top-level field given twice, or
  `"data": [` again in the last part (JSON lets a key repeat; the serial decode keeps the last array).

Linux only. The child of a threaded process runs only the forking thread; here it touches nothing but the
mapped bytes, msgspec and the normaliser (no lock another thread could hold), and leaves with os._exit.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import re
import signal
import struct
import sys
import threading
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

import msgspec

from db.ingest.base import ImportFailed, IngestReport
from db.ingest.comtrade_records import Normaliser, Record, Response, normalise_all
from db.ingest.trade_rows import FlowSet
from db.ingest.trade_write import Flow

MIN_BYTES = 8 << 20  # below this (about 9,000 records) a fork costs more than it saves
# This process decodes the first records and then writes every row, the child's as its parts arrive: writing
# a row costs this process about half what decoding one costs the child, so a small own share keeps both
# cores busy to the end. Measured at 250,000 records, whole import: 10% 1.23-1.31 s, 15% 1.20-1.24 s,
# 20% 1.22-1.26 s, 27% 1.30-1.32 s.
OWN_SHARE = 0.15
PIECES = 12  # the child's parts: what is left to write when the child is done is its last part
META_FIELDS = ("count", "error", "url", "endpoint", "request", "queries")
DATA_KEY = re.compile(rb'"data"\s*:\s*\[')
BETWEEN_RECORDS = re.compile(rb"\}\s*,\s*\{")
FRAME_HEADER = struct.Struct("<Q")
PIPE_BYTES = 1 << 20  # Linux's default limit for a pipe's buffer

_RESPONSE = msgspec.json.Decoder(Response)
_RECORDS = msgspec.json.Decoder(list[Record])
_PART = msgspec.msgpack.Decoder(
    tuple[list[Flow], list[int], list[tuple[str, int, int]], int, dict[str, Any] | None]
)


class Refused(Exception):
    """The file is not plain enough for the two-core path: take the serial one (nothing was kept)."""


@dataclass
class Halves:
    """Every part decoded and normalised: what `comtrade.parse_records` would have produced."""

    flows: FlowSet
    records: int
    meta: dict[str, Any]
    skipped: Counter[str]


def worth_splitting(raw: memoryview) -> bool:
    return len(raw) >= MIN_BYTES and sys.platform == "linux" and hasattr(os, "fork")


@dataclass
class Split:
    """This process's part of the records, normalised (`own`), and the child's parts still to come.

    `parts()` yields each of the child's parts as the flows with keys not seen before, added to `own.flows`
    as they come, so that the caller can write them before the next part is in. Always `close()` it.
    """

    own: Halves
    before: Response
    name: str
    pid: int
    pipe: int
    offset: int = 0  # records before the child's first one
    expected: int = 0  # flows in the whole file, estimated from this process's part
    child_done: threading.Event = field(default_factory=threading.Event)  # set when its pipe closes
    frames: queue.SimpleQueue[bytes | None] = field(default_factory=queue.SimpleQueue, init=False)
    reader: threading.Thread | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        # The child's parts are read as soon as they are sent, while this thread writes rows: a child
        # blocked on a full pipe would stop decoding. os.read waits without the GIL.
        self.reader = threading.Thread(target=self._read_frames, name="comtrade-split-reader", daemon=True)
        self.reader.start()

    def parts(self) -> Iterator[list[Flow]]:
        """The child's parts in file order (see the class). At the end, `own` holds the whole file.

        Raises:
            Refused: a part did not decode or normalise plainly (the caller drops what it wrote).
        """
        meta_after = None
        while meta_after is None:
            frame = self.frames.get()
            if frame is None:
                raise Refused  # the child stopped: a part did not decode, a record error, a second data key
            try:
                flows, where, skips, records, meta_after = _PART.decode(frame)
            except msgspec.DecodeError:  # a flow field of another type than the table's (a number as unit...)
                raise Refused from None
            new = self._merge(flows, where, skips)
            self.own.records += records
            yield new
        self._finish_meta(meta_after)  # the child exits on its own now; `close` reaps it

    def drain(self) -> Halves:
        """Every part merged, nothing written meanwhile (the one-step `decode`)."""
        for _ in self.parts():
            pass
        return self.own

    def close(self) -> None:
        """Stop the child if it still runs, and reap it (idempotent). Nothing else reaps it, so its pid
        cannot have been reused by the time it is killed."""
        if self.pipe < 0:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)  # finished or not: its answer is no longer read
        if self.reader is not None:
            self.reader.join()  # ends when the child's end of the pipe closes
        os.close(self.pipe)
        self.pipe = -1
        os.waitpid(self.pid, 0)

    def _read_frames(self) -> None:
        try:
            while (header := _read_exactly(self.pipe, FRAME_HEADER.size)) is not None:
                frame = _read_exactly(self.pipe, FRAME_HEADER.unpack(header)[0])
                if frame is None:
                    break
                self.frames.put(frame)
        finally:
            self.frames.put(None)
            self.child_done.set()

    def _merge(self, flows: list[Flow], where: list[int], skips: list[tuple[str, int, int]]) -> list[Flow]:
        """A part's flows added after those before it, counted in the serial path's order; the new ones."""
        own, name = self.own, self.name
        rows, duplicates = own.flows.rows, IngestReport(source="comtrade", file=name)
        new: list[Flow] = []
        first_duplicate = -1
        for flow, i in zip(flows, where, strict=True):
            if rows.setdefault(flow[:6], flow) is flow:
                new.append(flow)
                continue
            try:  # a key seen before: the same flow again is counted, a different one is the serial error
                own.flows.add(flow, where=f"{name} data[{self.offset + i}]", report=duplicates)
            except ImportFailed:
                raise Refused from None
            if first_duplicate < 0:
                first_duplicate = i
        events = [(first, reason, count) for reason, count, first in skips]
        events += [(first_duplicate, reason, count) for reason, count in duplicates.skipped.items()]
        for _, reason, count in sorted(events):
            own.skipped[reason] += count
        return new

    def _finish_meta(self, meta_after: dict[str, Any]) -> None:
        meta: dict[str, Any] = {}
        for key in META_FIELDS:
            value, later = getattr(self.before, key), meta_after.get(key)
            if value is not None and later is not None:
                raise Refused  # a field given twice
            value = later if value is None else value
            if value is not None:
                meta[key] = value
        count = meta.get("count")
        if meta.get("error") or (
            isinstance(count, int) and not isinstance(count, bool) and count > self.own.records
        ):
            raise Refused
        self.own.meta = meta


def start(raw: memoryview, name: str, child_done: threading.Event | None = None) -> Split | None:
    """Start the child on the records after the cut and normalise those before it here; None: take the
    serial path (see the module's docstring). The caller must `close()` what it gets. `child_done` is set
    once the child has sent its last part or stopped (its core is free from then on)."""
    found = DATA_KEY.search(raw)
    if found is None:
        return None
    start = found.end() - 1  # the array's "["
    try:
        before = _RESPONSE.decode(b"".join((raw[: start + 1], b"]}")))
    except msgspec.DecodeError:
        return None
    cut = BETWEEN_RECORDS.search(raw, start + int((len(raw) - start) * OWN_SHARE))
    if cut is None:
        return None
    pid, pipe = _fork_child(raw, cut.end() - 1)
    split = Split(
        Halves(FlowSet(), 0, {}, Counter()),
        before,
        name,
        pid,
        pipe,
        child_done=child_done or threading.Event(),
    )
    try:
        own = _own_part(raw[start : cut.start() + 1], name)
    except BaseException:  # interrupted: no child left behind
        split.close()
        raise
    if own is None:
        split.close()
        return None
    split.own, split.offset = own, own.records
    split.expected = len(own.flows) * (len(raw) - start) // max(1, cut.start() - start)
    return split


def decode_and_normalise(raw: memoryview, name: str) -> Halves | None:
    """The whole response decoded and normalised on two cores at once, or None: take the serial path."""
    split = start(raw, name)
    if split is None:
        return None
    try:
        return split.drain()
    except Refused:
        return None
    finally:
        split.close()


def _own_part(array: memoryview, name: str) -> Halves | None:
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


def _fork_child(raw: memoryview, first: int) -> tuple[int, int]:
    """Start the child on the records from byte `first` on; returns its pid and the pipe to read."""
    read_end, write_end = os.pipe()
    with contextlib.suppress(OSError, AttributeError):  # a bigger buffer: fewer waits for the reader thread
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    with warnings.catch_warnings():  # Python 3.12+ warns on fork() in a threaded process: see the docstring
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        _child(raw, first, write_end)
    os.close(write_end)
    return pid, read_end


def _child(raw: memoryview, first: int, pipe: int) -> NoReturn:
    """Decode and normalise the records from byte `first` on in PIECES parts, send each, exit (1: refused)."""
    code = 1
    try:
        with contextlib.suppress(ValueError):  # not the main thread: no wakeup fd was set by this thread
            signal.set_wakeup_fd(-1)  # a signal here must not wake the parent's event loop (a shared fd)
        with os.fdopen(pipe, "wb") as out:
            for frame in _parts(raw, first):
                out.write(FRAME_HEADER.pack(len(frame)))
                out.write(frame)
                out.flush()  # the parent writes this part's rows while the next one is decoded
        code = 0
    except BaseException:  # noqa: BLE001 (any failure means: no more parts, the parent takes the serial path)
        pass
    finally:
        os._exit(code)


def _parts(raw: memoryview, first: int) -> Iterator[bytes]:
    """Each part's flows, their record numbers (counted from `first`), skips with their first record number,
    and its record count; the last part also the top-level fields after the array."""
    normaliser, done = Normaliser(IngestReport(source="comtrade", file="")), 0
    size = (len(raw) - first) // PIECES
    while True:
        cut = BETWEEN_RECORDS.search(raw, first + size) if size else None
        if cut is None or cut.start() >= len(raw) - size // 2:  # the rest is the last part
            if DATA_KEY.search(raw, first):
                raise ValueError("a second data array: the serial path keeps the last, as msgspec does")
            body = _RESPONSE.decode(b"".join((b'{"data":[', raw[first:])))
            meta = {f: getattr(body, f) for f in META_FIELDS}
            yield msgspec.msgpack.encode(
                (*_normalise_in_order(body.data, normaliser, done), len(body.data), meta)
            )
            return
        records = _RECORDS.decode(b"".join((b"[", raw[first : cut.start() + 1], b"]")))
        yield msgspec.msgpack.encode((*_normalise_in_order(records, normaliser, done), len(records), None))
        done += len(records)
        first = cut.end() - 1


def _normalise_in_order(
    records: list[Record], normaliser: Normaliser, offset: int
) -> tuple[list[Flow], list[int], list[tuple[str, int, int]]]:
    """The flows with their record numbers (from `offset`), and each skip reason with its count and first
    record number (the parent needs it to count reasons in the serial path's order). A record error raises."""
    report = normaliser.report = IngestReport(source="comtrade", file="")  # this part's counts only
    skipped = report.skipped
    flows: list[Flow] = []
    where: list[int] = []
    first: dict[str, int] = {}
    for i, rec in enumerate(records, offset):
        flow = normaliser(rec)
        if flow is not None:
            flows.append(flow)
            where.append(i)
        elif len(skipped) != len(first):  # a reason counted for the first time: the newest key
            first[next(reversed(skipped))] = i
    return flows, where, [(reason, count, first[reason]) for reason, count in skipped.items()]


def _read_exactly(pipe: int, size: int) -> bytes | None:
    """`size` bytes from the pipe, or None if it closes first."""
    chunks, left = [], size
    while left:
        chunk = os.read(pipe, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
