"""One measurement of bench/before_after.py in the code version it is run with (run as a script with
PYTHONPATH=<that version's tree>): it imports only that tree's own product and bench modules.

`python bench/before_after_probe.py '<json request>'` prints one JSON line.
Kinds: "create_db" (a migrated SQLite file), "commands" (name index build, then the whole /exports,
/top partners and /entity commands over the given questions), "serve" (one `tradewatch serve` start, to READY
and to the name index ready).
"""

from __future__ import annotations

import sys

sys.path.pop(0)  # this script's folder: every import below must come from the tree on PYTHONPATH

import asyncio  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402
from typing import Any  # noqa: E402


def _summary(figure: Any) -> dict[str, Any]:
    return {"median": figure.median, "p95": figure.p95, "n": figure.n, "extra": figure.extra}


async def commands(request: dict[str, Any]) -> dict[str, Any]:
    from bench import entity as entity_bench
    from bench import trade as trade_bench
    from db.engine import make_engine, make_sessionmaker
    from db.lookups import load_lookups
    from db.search import service

    lookups = load_lookups()
    engine = make_engine(request["url"])
    sessions = make_sessionmaker(engine)
    try:
        started = time.perf_counter()
        await service.warm_index(sessions)
        index_s = time.perf_counter() - started
        questions = [trade_bench.Question(*q) for q in request["questions"]]
        trade = await trade_bench._commands(sessions, "sqlite", questions, lookups, trade_bench.Baselines({}))
        queries = [SimpleNamespace(text=text) for text in request["entity_queries"]]
        entity = await entity_bench._command(sessions, "sqlite", queries, lookups, "names", 100.0, None)
    finally:
        service.forget_index(engine)
        await engine.dispose()
    out: dict[str, Any] = {"name index build (in-process warm_index), s": {"median": index_s, "p95": index_s}}
    for figure in [*trade, entity]:
        out[figure.name] = _summary(figure)
    return out


async def serve(request: dict[str, Any]) -> dict[str, Any]:
    """bench.serve's start, without its two commands (peak memory is not compared here): seconds to READY
    with the commands synced, and to the name index ready."""
    from bench import serve as serve_bench

    folder = Path(request["folder"])
    async with serve_bench.serve_started(folder, request["url"]) as (discord, _, started):
        await discord.wait_ready(commands=serve_bench.CORE, timeout=900)
        ready = time.perf_counter() - started
        index_ready = await serve_bench.wait_log(folder / "serve.log", "event=entity_index_ready", started)
    return {"ready_s": ready, "index_ready_s": index_ready}


async def create_db(request: dict[str, Any]) -> dict[str, Any]:
    from bench.databases import create_database, set_data_dir

    set_data_dir(Path(request["data_dir"]))
    return {"url": await create_database("sqlite", request["label"])}


def main() -> None:
    request = json.loads(sys.argv[1])
    run = {"commands": commands, "serve": serve, "create_db": create_db}[request["kind"]]
    print(json.dumps(asyncio.run(run(request)), default=str))


if __name__ == "__main__":
    main()
