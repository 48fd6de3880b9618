"""`tradewatch serve` as an operator runs it, against the Discord stand-in (tests/discord_standin): cold start to
ready, and peak memory with everything loaded.

Cold start: from just before the process is spawned until the stand-in has seen READY and the slash commands
synced (Driver.wait_ready). The entity name index warms after that (bot/cogs/entity.py): read back from the
data folder when saved for this database content (db/search/cache.py), else built from every name in the
database; its own figure is the time until the log says `entity_index_ready`. The first start of a run
finds no saved index (the lists were imported on another machine, or the data folder is new); later starts,
like a start after `tradewatch import`/`sync` of a list on the same machine, read it back. What a list import
spends on building and saving the index is a figure of its own (in-process, `warm_index_cached` as the
import calls it). The OS file cache is warm (the data was just written).
Peak RSS: VmHWM of the process after it has answered one /entity and one /exports through the stand-in.
Baseline: a bare Python process importing the same libraries (discord, sqlalchemy, pandas, matplotlib, numpy,
rapidfuzz): its wall time and its peak RSS.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bench.databases import data_dir
from bench.stats import Figure, Target

if TYPE_CHECKING:
    from tests.discord_standin import Driver

COLD_START_S = 5.0
RSS_LIMIT_MIB = 1024.0
REPO = Path(__file__).resolve().parent.parent
CORE = {"exports", "top", "hs", "entity", "help"}
IMPORTS = "import discord, sqlalchemy, pandas, matplotlib, numpy, rapidfuzz"


def write_config(path: Path, db_url: str, guild_id: int, role_id: int) -> Path:
    """One guild, one allowed role; no Comtrade fetching, no sync schedule."""
    lines = [
        "[database]", f'url = "{db_url}"', "[data]", f'data_dir = "{path.parent / "var"}"',
        "[comtrade]", "fetch_on_demand = false", "[sync]", "enabled = false",
        "[discord]", f"guilds = [{{ id = {guild_id}, roles = [{role_id}] }}]",
    ]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def baseline() -> tuple[float, float]:
    """(seconds, peak RSS MiB) of a bare interpreter importing the same libraries."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", f"{IMPORTS}\nprint(open('/proc/self/status').read())"],
        check=True, capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    hwm = next(int(line.split()[1]) for line in out.stdout.splitlines() if line.startswith("VmHWM:"))
    return seconds, hwm / 1024


async def wait_log(log: Path, marker: str, started: float, timeout: float = 900) -> float:
    """Seconds from `started` until `marker` appears in the serve log (polled every 20 ms)."""
    while time.perf_counter() - started < timeout:
        if marker in log.read_text(encoding="utf-8", errors="replace"):
            return time.perf_counter() - started
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{marker} not in {log} after {timeout} s")


@contextlib.asynccontextmanager
async def serve_started(
    folder: Path, db_url: str
) -> AsyncIterator[tuple[Driver, asyncio.subprocess.Process, float]]:
    """`tradewatch serve` on `db_url` against a fresh Discord stand-in, its log in `folder/serve.log`; yields the
    stand-in, the process and the perf_counter just before the spawn, and stops the process on the way out."""
    from tests.discord_standin import Driver

    async with Driver() as discord:
        folder.mkdir(parents=True, exist_ok=True)
        config = write_config(folder / "config.toml", db_url, discord.guild.id, discord.role("Researcher").id)
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("TRADEWATCH_", "DISCORD_", "COMTRADE_"))
        }
        env |= discord.env() | {"PYTHONUNBUFFERED": "1"}
        with (folder / "serve.log").open("wb") as log:
            started = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "--config", str(config), "serve",
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        discord.watch_process(proc)
        try:
            yield discord, proc, started
        finally:
            discord.forget_process()
            if proc.returncode is None:
                proc.terminate()
            await proc.wait()


async def _one_start(
    folder: Path, db_url: str, sample: tuple[str, str, str, str]
) -> tuple[float, float, float, float]:
    """Start serve once; return (s to ready, s to entity index ready, RSS MiB at ready, peak RSS MiB after two commands)."""
    async with serve_started(folder, db_url) as (discord, proc, started):
        await discord.wait_ready(commands=CORE, timeout=900)
        ready = time.perf_counter() - started
        rss_ready = _status_kib(proc.pid, "VmRSS") / 1024
        index_ready = await wait_log(folder / "serve.log", "event=entity_index_ready", started)
        name, hs4, partner, reporter = sample
        exports = {"commodity": hs4, "partner": partner, "reporter": reporter, "year": 2023}
        for command, options in (("entity", {"name": name}), ("exports", exports)):
            handle = await discord.invoke(command, options, user="alice", channel="general")
            await handle.reply(timeout=120)
        peak = _status_kib(proc.pid, "VmHWM") / 1024
    return ready, index_ready, rss_ready, peak


async def _index_saved_by_import(db_url: str) -> float:
    """Seconds `tradewatch import` of a list spends building and saving the name index (bot/cli/import_run.py)."""
    from db.engine import make_engine, make_sessionmaker
    from db.search.cache import warm_index_cached

    folder = data_dir() / "import-saved-index"
    shutil.rmtree(folder, ignore_errors=True)
    engine = make_engine(db_url)
    try:
        started = time.perf_counter()
        _, from_disk = await warm_index_cached(make_sessionmaker(engine), folder)
        assert not from_disk
        return time.perf_counter() - started
    finally:
        await engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


async def measure(
    db_url: str, backend: str, runs: int, sample: tuple[str, str, str, str], note: str
) -> list[Figure]:
    """Cold start and peak RSS over `runs` starts of `tradewatch serve` on one database.

    The first start finds no saved name index (it builds and saves it); later starts read it back.
    """
    folder = data_dir() / f"serve-{backend}"
    shutil.rmtree(folder, ignore_errors=True)
    results = [await _one_start(folder, db_url, sample) for _ in range(runs)]
    saving = [await _index_saved_by_import(db_url) for _ in range(runs)]
    starts = [r[0] for r in results]
    index = [r[1] for r in results]
    peaks = [r[3] for r in results]
    base = [baseline() for _ in range(runs)]
    base_s = [b[0] for b in base]
    base_rss = [b[1] for b in base]
    return [
        Figure("tradewatch serve cold start to READY + commands synced", "serve", backend, "s",
               float(np.median(starts)), float(np.percentile(starts, 95)), runs,
               "python -c 'import discord, sqlalchemy, pandas, matplotlib, numpy, rapidfuzz'",
               float(np.median(base_s)), float(np.percentile(base_s, 95)), Target(COLD_START_S),
               f"subprocess against the Discord stand-in; {note}",
               {"each_start_s": [round(r[0], 2) for r in results], "rss_at_ready_mib": [round(r[2]) for r in results]}),
        Figure("tradewatch serve start to name index ready, first start (no saved index: built)", "serve", backend,
               "s", index[0], index[0], 1, None, None, None, Target(COLD_START_S),
               f"log event entity_index_ready (the index warms after READY); {note}"),
        Figure("tradewatch serve start to name index ready, after a list import or an earlier start (saved "
               "index read back)", "serve",
               backend, "s", float(np.median(index[1:])) if runs > 1 else None,
               float(np.percentile(index[1:], 95)) if runs > 1 else None, runs - 1, None, None, None,
               Target(COLD_START_S), f"db/search/cache.py; {note}"),
        Figure("name index built and saved at the end of a list import (extra time of the import)", "serve",
               backend, "s", float(np.median(saving)), float(np.percentile(saving, 95)), runs, None, None, None,
               None, f"db.search.cache.warm_index_cached into an empty folder, in-process; {note}"),
        Figure("tradewatch serve peak RSS (after /entity and /exports)", "serve", backend, "MiB",
               float(np.median(peaks)), float(max(peaks)), runs, "the same imports, bare interpreter",
               float(np.median(base_rss)), float(max(base_rss)), Target(RSS_LIMIT_MIB),
               f"VmHWM; 'p95' column = the highest of the runs; {note}"),
    ]  # fmt: skip
