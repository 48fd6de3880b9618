"""`python -m bench [--scale 0.01] [--backend sqlite|postgresql|both] [--only trade,entity,import,serve,screen]`.

Generates the SYNTHETIC data, loads it into the bench's own databases, measures every figure of issue 6 on
each backend with its baseline, and writes bench/RESULTS.md and bench/results.json. At --scale 1 (the
default): 20M trade rows and 1M entity names; --scale 0.01 runs in a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import logging
import os
import pickle
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import brief as brief_bench
from bench import compare as compare_bench
from bench import entity as entity_bench
from bench import imports as import_bench
from bench import report
from bench import screen as screen_bench
from bench import serve as serve_bench
from bench import trade as trade_bench
from bench.databases import (
    ENTITY_SOURCE,
    TRADE_COLUMNS,
    TRADE_SOURCE,
    add_source,
    bulk_load,
    create_database,
    data_dir,
    drop_database,
    import_file,
    load_entities,
    set_data_dir,
    trade_rows,
)  # fmt: skip
from bench.gen_names import SynthEntity, make_entities, make_prefixes, make_queries, normalise_all
from bench.gen_trade import TradeChunk, TradeShape, generate, make_shape
from bench.name_parts import load_parts
from bench.stats import Figure
from db.lookups import Lookups, load_lookups

AREAS = ("trade", "entity", "import", "serve", "compare", "screen", "brief")
FULL_NAMES = 1_000_000
SMALL_NAMES = 20_000
GENERATOR_VERSION = 1
REPO = Path(__file__).resolve().parent.parent
log = logging.getLogger("bench")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 20M trade rows and 1M names (default)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--only", default=",".join(AREAS), help=f"comma-separated subset of {','.join(AREAS)}"
    )
    parser.add_argument("--queries", type=int, default=200, help="parameter sets per latency figure (>= 200)")
    parser.add_argument("--baseline-queries", type=int, default=100,
                        help="queries for the rapidfuzz full scan when there are over 200k names (it is slow)")  # fmt: skip
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of each import, serve start and tradewatch screen"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="rebuild the cached SQLite database and name keys"
    )
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent, help="where RESULTS.md goes"
    )
    parser.add_argument(
        "--small-names", type=int, default=SMALL_NAMES, help="the small name set (OFAC's size)"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="SQLite files and caches (default bench/.data)"
    )
    parser.add_argument(
        "--screen-rows", type=int, default=10_000, help="names in the screening bench's sheet"
    )
    parser.add_argument("--screen-baseline", type=int, default=20,
                        help="names timed for the screening baseline (a full scan each), scaled to --screen-rows")  # fmt: skip
    parser.add_argument("--shared-data", type=Path,
                        default=Path(os.environ.get("TRADEWATCH_SHARED_DATA", REPO.parent / "shared" / "data")))  # fmt: skip
    args = parser.parse_args(argv)
    args.areas = [a.strip() for a in args.only.split(",") if a.strip()]
    unknown = set(args.areas) - set(AREAS)
    if unknown:
        parser.error(f"unknown area(s) {', '.join(sorted(unknown))}; choose from {', '.join(AREAS)}")
    args.backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    return args


def step(message: str) -> None:
    print(f"[bench {dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


@dataclass
class Names:
    """One synthetic entity set, its normalised keys, queries and autocomplete prefixes."""

    label: str
    entities: list[SynthEntity]
    keys: dict[str, tuple[str, str | None]]
    queries: list[Any]
    prefixes: list[tuple[str, str]]
    baseline: tuple[Any, float, int] | None = None

    @property
    def count(self) -> int:
        return sum(len(e.names) for e in self.entities)


def build_names(args: argparse.Namespace, n_names: int, seed: int, label: str) -> Names:
    """Entities, keys (cached in bench/.data), queries and prefixes for about `n_names` names."""
    parts = load_parts(args.shared_data)
    entities = make_entities(parts, n_names, seed=seed)
    cache = data_dir() / f"names-{n_names}-{seed}-v{GENERATOR_VERSION}.pickle"
    names = sorted({n for e in entities for n, _ in e.names})
    if cache.exists() and not args.fresh:
        keys = pickle.loads(cache.read_bytes())
    else:
        step(f"normalising {len(names):,} names with db.names.normalize_name")
        keys = dict(zip(names, normalise_all(names), strict=True))
        data_dir().mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps(keys))
    flat = {n: k for n, (k, _) in keys.items()}
    queries = make_queries(entities, flat, args.queries, seed=seed + 1)
    prefixes = make_prefixes(entities, args.queries, seed=seed + 2)
    return Names(label, entities, keys, queries, prefixes)


def scan_baseline(names: Names, limit: int) -> tuple[Any, float, int]:
    """The rapidfuzz full scan over every normalised name (on `limit` queries when the set is large)."""
    import numpy as np

    keys, owners = [], []
    for e in names.entities:
        for n, _ in e.names:
            keys.append(names.keys[n][0])
            owners.append(e.entity_id)
    scan = entity_bench.ScanBaseline(keys, np.array(owners))
    queries = names.queries if len(keys) <= 200_000 else names.queries[:limit]
    timings, got = entity_bench.measure_baseline(scan, queries)
    return timings, got, len(queries)


@dataclass
class Run:
    """What one run generated and measured."""

    args: argparse.Namespace
    lookups: Lookups
    shape: TradeShape | None = None
    chunks: list[TradeChunk] = field(default_factory=list)
    names: Names | None = None
    small: Names | None = None
    figures: list[Figure] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def trade_rows(self) -> int:
        return sum(len(c) for c in self.chunks)


def _marker(path: Path) -> Any:
    """What a cached SQLite database holds (None when unknown or unreadable: it is rebuilt)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def schema_fingerprint() -> str:
    """The migration head and every index definition: a cached database is reused only if both match."""
    from db.engine import head_revision
    from db.models import Base

    indexes = sorted(
        f"{t.name}.{i.name}({','.join(c.name for c in i.columns)})"
        for t in Base.metadata.sorted_tables
        for i in t.indexes
    )
    return head_revision() + ";" + ";".join(indexes)


async def load_main(run: Run, backend: str) -> str:
    """The main bench database for a backend: HS nomenclature, trade flows, entities (cached on SQLite)."""
    args = run.args
    label = f"bench-s{args.scale:g}"
    want = {
        "trade": run.trade_rows,
        "names": run.names.count if run.names else 0,
        "version": GENERATOR_VERSION,
        "schema": schema_fingerprint(),
    }
    marker = data_dir() / f"{label}.loaded"
    if backend == "sqlite" and not args.fresh and _marker(marker) == want:
        step(f"reusing {data_dir() / label}.sqlite3 ({want})")
        return f"sqlite:///{data_dir() / label}.sqlite3"
    if backend == "sqlite":
        marker.unlink(missing_ok=True)
    url = await create_database(backend, label)
    started = time.perf_counter()
    await import_file(url, "hs", args.shared_data / "hs" / "harmonized-system.csv")
    if run.chunks:
        assert run.shape is not None
        source_id, snapshot_id = await add_source(url, TRADE_SOURCE, "bench/gen_trade.py")
        batches = (trade_rows(c, run.shape, source_id, snapshot_id) for c in run.chunks)
        step(f"{backend}: loading {run.trade_rows:,} trade rows")
        await bulk_load(url, "trade_flows", TRADE_COLUMNS, batches)
        run.data[f"trade load seconds ({backend}, direct)"] = round(time.perf_counter() - started, 1)
    if run.names:
        started = time.perf_counter()
        source_id, snapshot_id = await add_source(url, ENTITY_SOURCE, "bench/gen_names.py")
        step(f"{backend}: loading {run.names.count:,} names")
        await load_entities(url, run.names.entities, run.names.keys, source_id, snapshot_id)
        run.data[f"entity load seconds ({backend}, direct)"] = round(time.perf_counter() - started, 1)
    if backend == "sqlite":
        marker.write_text(json.dumps(want))
    return url


async def small_db(run: Run, backend: str) -> str:
    assert run.small is not None
    url = await create_database(backend, f"names-{run.args.small_names}")
    source_id, snapshot_id = await add_source(url, ENTITY_SOURCE, "bench/gen_names.py")
    await load_entities(url, run.small.entities, run.small.keys, source_id, snapshot_id)
    return url


async def source_id_of(url: str) -> int:
    from sqlalchemy import select

    from db.engine import make_engine, make_sessionmaker
    from db.models import Source

    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            return int(
                (await session.execute(select(Source.id).where(Source.key == TRADE_SOURCE.key))).scalar_one()
            )
    finally:
        await engine.dispose()


async def db_size(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"{Path(parsed.database or '').stat().st_size / 2**30:.2f} GiB (SQLite file)"
    import asyncpg

    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database=parsed.database
    )
    try:
        size = await conn.fetchval("SELECT pg_database_size(current_database())")
    finally:
        await conn.close()
    return f"{size / 2**30:.2f} GiB (PostgreSQL database)"


async def per_backend(run: Run, backend: str, baselines: Any, df: Any) -> None:
    args = run.args
    areas = set(args.areas)
    url = (
        await load_main(run, backend)
        if areas & {"trade", "entity", "serve", "compare", "screen", "brief"}
        else None
    )
    try:
        if url:
            run.data[f"main database size ({backend})"] = await db_size(url)
        if "trade" in areas and url:
            step(f"{backend}: trade figures")
            questions = trade_bench.draw_questions(run.chunks, run.shape, args.queries)  # type: ignore[arg-type]
            run.figures += await trade_bench.measure(
                url, backend, questions, run.lookups, await source_id_of(url), baselines, df
            )
        if "compare" in areas and url:
            step(f"{backend}: /compare figures")
            asked = compare_bench.draw_questions(run.chunks, run.shape, args.queries)  # type: ignore[arg-type]
            run.figures += await compare_bench.measure(url, backend, asked, run.lookups, df)
        if "brief" in areas and url and df is not None:
            step(f"{backend}: /brief figures")
            run.figures += await brief_bench.measure(url, backend, args.queries, run.lookups, df)
        if "entity" in areas and url and run.names:
            step(f"{backend}: entity figures ({run.names.count:,} names)")
            run.figures += await entity_bench.measure(
                url, backend, run.names.queries, run.names.prefixes, run.lookups, run.names.baseline,
                label=f"{run.names.count:,} names", p95_target=entity_bench.ENTITY_P95_MS,
            )  # fmt: skip
        if "entity" in areas and run.small is not None:
            small = await small_db(run, backend)
            try:
                run.figures += await entity_bench.measure(
                    small, backend, run.small.queries, run.small.prefixes, run.lookups, run.small.baseline,
                    label=f"{run.small.count:,} names", p95_target=entity_bench.ENTITY_SMALL_P95_MS,
                )  # fmt: skip
            finally:
                await drop_database(small, delete_sqlite=True)
        if "screen" in areas and url and run.names:
            step(f"{backend}: screening {args.screen_rows:,} names against {run.names.count:,}")
            run.figures += await screen_bench.measure(
                url, backend, run.names.entities, run.names.keys, run.lookups,
                rows=args.screen_rows, baseline_sample=args.screen_baseline, folder=data_dir() / f"cli-{backend}",
                repeats=args.repeats,
            )  # fmt: skip
        if "serve" in areas and url and run.names and run.chunks:
            step(f"{backend}: serve cold start and memory")
            q = trade_bench.draw_questions(run.chunks, run.shape, 1)[0]  # type: ignore[arg-type]
            sample = (run.names.queries[0].base, q.hs4, str(q.partner), str(q.reporter))
            note = f"{run.trade_rows:,} trade rows and {run.names.count:,} names loaded"
            run.figures += await serve_bench.measure(url, backend, args.repeats, sample, note)
    finally:
        if url:
            await drop_database(url)
    if "import" in areas:
        step(f"{backend}: import figures")
        comtrade = import_bench.write_comtrade_file(
            run.chunks, run.shape, run.lookups, min(250_000, max(50_000, round(250_000 * args.scale)))
        )  # type: ignore[arg-type]
        run.figures += await import_bench.measure(backend, comtrade, args.shared_data, args.repeats)


def prepare(run: Run) -> tuple[Any, Any]:
    """Generate what the chosen areas need; measure the backend-independent baselines once."""
    args = run.args
    areas = set(args.areas)
    baselines = df = None
    if areas & {"trade", "import", "serve", "compare", "brief"}:
        step(f"generating trade flows at scale {args.scale:g}")
        run.shape = make_shape(run.lookups, args.shared_data, args.scale)
        run.chunks = list(generate(run.shape))
        run.data["trade rows"] = (
            f"{run.trade_rows:,} (SYNTHETIC): {len(run.shape.reporters)} reporters x {len(run.shape.partners)} partners "
            f"x 2 flows x 48 months (2020-01..2023-12), HS-6 codes per pair and flow 1..{int(run.shape.codes_per_pair.max())} "
            f"(median {int(sorted(run.shape.codes_per_pair.ravel())[run.shape.codes_per_pair.size // 2])}) of {len(run.shape.codes):,}"
        )  # fmt: skip
    if areas & {"compare", "brief"} and "trade" not in areas:
        df = trade_bench.frame(run.chunks, run.shape)  # type: ignore[arg-type]
    if "trade" in areas:
        step("pandas / DuckDB baselines")
        df = trade_bench.frame(run.chunks, run.shape)  # type: ignore[arg-type]
        baselines = trade_bench.measure_baselines(
            df, trade_bench.draw_questions(run.chunks, run.shape, args.queries)
        )  # type: ignore[arg-type]
    if areas & {"entity", "serve", "screen", "brief"}:  # the /brief target is at 1M names too
        step("generating entities")
        run.names = build_names(args, max(1_000, round(FULL_NAMES * args.scale)), 7, "main")
        run.data["entity names"] = _names_text(run.names)
    if "entity" in areas:
        if args.small_names > 0:
            run.small = build_names(args, args.small_names, 70, "small")
            run.data["entity names (small set)"] = _names_text(run.small)
        step("rapidfuzz full-scan baselines")
        assert run.names is not None
        run.names.baseline = scan_baseline(run.names, args.baseline_queries)
        if run.small is not None:
            run.small.baseline = scan_baseline(run.small, args.baseline_queries)
        run.data["noisy queries"] = f"{len(run.names.queries)} per set; variants: " + ", ".join(
            sorted({q.variant for q in run.names.queries})
        )
    return baselines, df


def _names_text(names: Names) -> str:
    from collections import Counter

    scripts = Counter(script or "none" for _, script in names.keys.values())
    return (
        f"{names.count:,} names of {len(names.entities):,} SYNTHETIC entities (real name parts recombined); "
        f"scripts {dict(scripts.most_common())}"
    )


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.data_dir is not None:
        set_data_dir(args.data_dir)
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    meta: dict[str, Any] = {
        "command": "python -m bench " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "scale": args.scale,
        "backends": args.backends,
        "areas": args.areas,
        "machine": report.machine(),
    }
    run = Run(args, load_lookups())
    baselines, df = prepare(run)
    # The generated data is millions of Python objects that no bot or import process holds: left to the
    # cyclic GC, every full collection inside a timed call would walk them too. Frozen, collections cost what
    # they cost in the product's own processes.
    gc.collect()
    gc.freeze()
    for backend in args.backends:
        await per_backend(run, backend, baselines, df)
    meta["elapsed_s"] = round(time.perf_counter() - started, 1)
    meta["data"] = run.data
    json_path, md_path = report.write(run.figures, meta, args.out)
    step(f"wrote {md_path} and {json_path}")
    print("\n".join(report.table(run.figures)))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
