"""Batch screening: `tradewatch screen`'s whole path over a sheet of noisy names, against a per-name full scan.

The sheet is `rows` noisy variants of listed SYNTHETIC names (bench.gen_names.make_queries: typos, dropped or
other legal forms, swapped words, transliterations), one per row, written as CSV. Measured: reading the
sheet, searching every name, judging the candidates and writing the results CSV (commands.screen.run_screen,
what the CLI and /screen run), with the name index already built (the bot keeps it warm; its build is the
"name index build" figure of the entity area). Found = the row's verdict is match or possible and names
one of the entities the variant came from.

Baseline, same run, same names: rapidfuzz `process.extract` (WRatio) over every normalised name, one name at
a time (what a naive screener does); timed on `baseline_sample` names and scaled to the sheet's size.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Sequence
from typing import Any

from rapidfuzz import fuzz, process

from bench.gen_names import Query, SynthEntity, make_queries
from bench.stats import Figure, Target
from commands.context import Context
from commands.screen import run_screen
from commands.screen_table import ScreenParams
from db.engine import make_engine, make_sessionmaker
from db.lookups import Lookups
from db.names import normalize_name
from db.search import service

SCREEN_SECONDS = 30.0  # the target for 10,000 names against 1M
YENTE_MS_PER_NAME = 250.0  # yente's matcher, per name and core (the figure, not measured here)


def sheet_bytes(queries: Sequence[Query]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "row_ref"])
    for i, q in enumerate(queries, start=1):
        writer.writerow([q.text, f"R{i}"])
    return out.getvalue().encode("utf-8")


def found_share(result_csv: bytes, queries: Sequence[Query]) -> tuple[float, dict[str, int]]:
    """Share of rows whose match/possible verdict names an accepted entity, and the verdict counts."""
    rows = list(csv.DictReader(io.StringIO(result_csv.decode("utf-8"))))
    counts: dict[str, int] = {}
    found = 0
    for row, q in zip(rows, queries, strict=True):
        counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
        if (
            row["verdict"] in ("match", "possible")
            and row["entity_id"]
            and int(row["entity_id"]) in q.accepted
        ):
            found += 1
    return found / len(queries), counts


def baseline_seconds(
    keys: list[str], queries: Sequence[Query], sample: int, rows: int
) -> tuple[float, float]:
    """(ms per name, seconds scaled to `rows` names) of a per-name rapidfuzz full scan."""
    timed = []
    for q in queries[:sample]:
        started = time.perf_counter()
        process.extract(normalize_name(q.text), keys, scorer=fuzz.WRatio, limit=5)
        timed.append((time.perf_counter() - started) * 1000)
    per_name = sorted(timed)[len(timed) // 2]
    return per_name, per_name * rows / 1000


async def measure(
    url: str,
    backend: str,
    entities: Sequence[SynthEntity],
    keys: dict[str, tuple[str, str | None]],
    lookups: Lookups,
    *,
    rows: int,
    baseline_sample: int,
) -> list[Figure]:
    """Screen `rows` names against the database at `url`; one figure with its baseline and found share."""
    flat = {name: key for name, (key, _) in keys.items()}
    queries = make_queries(entities, flat, rows, seed=23)
    sheet = sheet_bytes(queries)
    n_names = sum(len(e.names) for e in entities)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        started = time.perf_counter()
        await service.warm_index(sessions)
        index_s = time.perf_counter() - started

        async def read() -> bytes:
            return sheet

        params = ScreenParams("bench-sheet.csv", read, max_rows=rows)
        async with sessions() as session:
            cpu, started = time.process_time(), time.perf_counter()
            reply = await run_screen(Context(session=session, lookups=lookups), params)
            elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    finally:
        service.forget_index(engine)
        await engine.dispose()
    share, counts = found_share(reply.attachments[0].data, queries)
    scan_keys = [flat[n] for e in entities for n, _ in e.names]
    per_name_ms, scaled_s = baseline_seconds(scan_keys, queries, baseline_sample, rows)
    extra: dict[str, Any] = {
        "rows": rows,
        "names_indexed": n_names,
        "found_share": round(share, 4),
        "verdicts": counts,
        "cpu_s": round(cpu_s, 2),
        "ms_per_name": round(elapsed * 1000 / rows, 2),
        "baseline_ms_per_name": round(per_name_ms, 1),
        "yente_estimate_s": round(YENTE_MS_PER_NAME * rows / 1000, 0),
        "index_build_s": round(index_s, 1),
    }
    return [
        Figure(
            f"screen {rows:,} names against {n_names:,} names",
            "screen",
            backend,
            "s",
            elapsed,
            elapsed,
            1,
            f"rapidfuzz process.extract WRatio full scan per name ({baseline_sample} names timed, scaled to {rows:,})",
            scaled_s,
            scaled_s,
            Target(SCREEN_SECONDS, "<=", "value"),
            "commands.screen.run_screen on a CSV of noisy listed names (index warm)",
            extra,
        )
    ]
