"""One timed import figure in a process of its own, as `tradewatch import` runs (bench.imports starts it).

The bench process holds millions of generated rows and names by the time it reaches the import figures; an
import measured inside it allocates into that large, fragmented heap, which no import process has (measured:
the same Comtrade import 25% slower with 8M small objects, half of them freed, beside it). So each timed
import, and each baseline it is compared with, runs in a fresh interpreter; the interpreter's start and its
module imports are not timed (as they were not before, in-process).

`python -m bench.import_process '<json request>'` prints one JSON line: seconds, CPU seconds (this process and
any children it reaped) and the figures' details.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.databases import import_file


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


async def run_import(url: str, steps: list[list[Any]]) -> dict[str, Any]:
    """Every step but the last untimed, the last timed; its report's rows and changes."""
    for source, path, options in steps[:-1]:
        await import_file(url, source, Path(path), **options)
    source, path, options = steps[-1]
    cpu, started = cpu_seconds(), time.perf_counter()
    report = await import_file(url, source, Path(path), **options)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return {
        "seconds": seconds,
        "cpu": cpu,
        "rows_loaded": report.rows_loaded,
        "changes": report.extra.get("changes"),
    }


def run_baseline(name: str, args: list[str]) -> dict[str, Any]:
    from bench import imports

    baseline = {
        "naive_comtrade_load": imports.naive_comtrade_load,
        "pandas_read": imports.pandas_read,
        "pandas_diff": imports.pandas_diff,
    }[name]
    cpu, started = cpu_seconds(), time.perf_counter()
    result = baseline(*(Path(a) for a in args))
    return {"seconds": time.perf_counter() - started, "cpu": cpu_seconds() - cpu, "result": result}


def main() -> None:
    request = json.loads(sys.argv[1])
    if request["kind"] == "import":
        answer = asyncio.run(run_import(request["url"], request["steps"]))
    else:
        answer = run_baseline(request["kind"], request["args"])
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
