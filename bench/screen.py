"""Batch screening: `tradewatch screen` over a sheet of noisy names, against a per-name full scan.

The sheet is `rows` noisy variants of listed SYNTHETIC names (bench.gen_names.make_queries: typos, dropped or
other legal forms, swapped words, transliterations), one per row, written as CSV. Measured:

- `tradewatch screen SHEET --out OUT` run as a user runs it (`--repeats` times: median and p95), a new process, after the index was built and saved
  as `tradewatch import` leaves it (its build is the "name index build" figure of the entity area): starting,
  reading the saved index back, reading the sheet, searching every name (in worker processes,
  db.search.pool), judging the candidates and writing the results CSV. CPU includes the workers.
- /screen's path in one process (commands.screen.run_screen in threads, as the bot runs it, index warm) on the
  first MAX_ROWS rows, the most a Discord attachment may have.

Found = the row's verdict is match or possible and names one of the entities the variant came from.

Baseline, same run, same names: rapidfuzz `process.extract` (WRatio) over every normalised name, one name at
a time (what a naive screener does); timed on `baseline_sample` names and scaled to the sheet's size.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from bench.gen_names import Query, SynthEntity, make_queries
from bench.stats import Figure, Target, percentile
from commands.context import Context
from commands.screen import run_screen
from commands.screen_table import MAX_ROWS, ScreenParams
from db.engine import make_engine, make_sessionmaker
from db.lookups import Lookups
from db.names import normalize_name
from db.search import service
from db.search.cache import INDEX_FOLDER, warm_index_cached

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


def run_cli(url: str, folder: Path, sheet: Path, out: Path) -> tuple[float, float]:
    """`tradewatch screen SHEET --out OUT` as a user runs it, on the database at `url` with its data folder at
    `folder`; returns (wall seconds, CPU seconds of the command and its search workers)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADEWATCH_", "DISCORD_", "COMTRADE_"))}
    env.update(TRADEWATCH_DATABASE_URL=url, TRADEWATCH_DATA_DIR=str(folder))
    command = [sys.executable, "-m", "bot", "screen", str(sheet), "--out", str(out), "--no-progress"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"tradewatch screen failed: {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


async def in_process_seconds(
    url: str, lookups: Lookups, sheet: bytes, rows: int
) -> tuple[float, float, bytes]:
    """/screen's path in the bot's process (threads, the index warm): (wall, CPU seconds, results CSV)."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)

    async def read() -> bytes:
        return sheet

    try:
        await service.warm_index(sessions)
        async with sessions() as session:
            cpu, started = time.process_time(), time.perf_counter()
            reply = await run_screen(
                Context(session=session, lookups=lookups), ScreenParams("sheet.csv", read, max_rows=rows)
            )
            return time.perf_counter() - started, time.process_time() - cpu, reply.attachments[0].data
    finally:
        service.forget_index(engine)
        await engine.dispose()


async def measure(
    url: str,
    backend: str,
    entities: Sequence[SynthEntity],
    keys: dict[str, tuple[str, str | None]],
    lookups: Lookups,
    *,
    rows: int,
    baseline_sample: int,
    folder: Path,
    repeats: int = 3,
) -> list[Figure]:
    """Screen `rows` names with `tradewatch screen` `repeats` times against the database at `url` (its data
    folder at `folder`), and up to MAX_ROWS of them once in this process as /screen does; figures with their
    baseline and found share."""
    flat = {name: key for name, (key, _) in keys.items()}
    queries = make_queries(entities, flat, rows, seed=23)
    n_names = sum(len(e.names) for e in entities)
    folder.mkdir(parents=True, exist_ok=True)
    sheet, out = folder / "bench-sheet.csv", folder / "bench-screened.csv"
    sheet.write_bytes(sheet_bytes(queries))
    # As after `tradewatch import`: the index built and saved where the command reads it back (not timed).
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        await warm_index_cached(make_sessionmaker(engine), folder / "cache" / INDEX_FOLDER)
        index_s = time.perf_counter() - started
    finally:
        service.forget_index(engine)
        await engine.dispose()
    runs, results = [], set()
    for _ in range(repeats):  # the median of a few runs: one run on a shared machine varies by a fifth
        runs.append(await asyncio.to_thread(run_cli, url, folder, sheet, out))
        results.add(out.read_bytes())
    if len(results) != 1:
        raise RuntimeError("tradewatch screen gave different results for the same sheet")
    walls, cpus = [w for w, _ in runs], [c for _, c in runs]
    elapsed, cpu_s = statistics.median(walls), statistics.median(cpus)
    share, counts = found_share(out.read_bytes(), queries)
    in_rows = min(rows, MAX_ROWS)
    in_s, in_cpu, in_csv = await in_process_seconds(url, lookups, sheet_bytes(queries[:in_rows]), in_rows)
    in_share, _ = found_share(in_csv, queries[:in_rows])
    scan_keys = [flat[n] for e in entities for n, _ in e.names]
    per_name_ms, scaled_s = baseline_seconds(scan_keys, queries, baseline_sample, rows)
    baseline = (
        f"rapidfuzz process.extract WRatio full scan per name ({baseline_sample} names timed, scaled to"
    )
    extra: dict[str, Any] = {
        "rows": rows,
        "names_indexed": n_names,
        "found_share": round(share, 4),
        "verdicts": counts,
        "cpu_s": round(cpu_s, 2),
        "runs_s": [round(w, 2) for w in walls],
        "ms_per_name": round(elapsed * 1000 / rows, 2),
        "baseline_ms_per_name": round(per_name_ms, 1),
        "yente_estimate_s": round(YENTE_MS_PER_NAME * rows / 1000, 0),
        "index_build_s": round(index_s, 1),
    }
    in_extra = {"rows": in_rows, "found_share": round(in_share, 4), "cpu_s": round(in_cpu, 2)}
    return [
        Figure(
            f"screen {rows:,} names against {n_names:,} names",
            "screen",
            backend,
            "s",
            elapsed,
            percentile(walls, 95),
            repeats,
            f"{baseline} {rows:,})",
            scaled_s,
            scaled_s,
            Target(SCREEN_SECONDS, "<=", "value"),
            "`tradewatch screen` as a user runs it (a new process; the index saved by the last import)",
            extra,
        ),
        Figure(
            f"/screen {in_rows:,} names in the bot's process",
            "screen",
            backend,
            "s",
            in_s,
            in_s,
            1,
            f"{baseline} {in_rows:,})",
            scaled_s * in_rows / rows,
            scaled_s * in_rows / rows,
            None,
            "commands.screen.run_screen in this process, as /screen in Discord runs it (threads, index warm)",
            in_extra,
        ),
    ]
