"""The machine description and the two outputs: bench/results.json and bench/RESULTS.md (generated, never edited)."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import timeit
from pathlib import Path
from typing import Any

from bench.stats import Figure

HERE = Path(__file__).resolve().parent
NOTES = [
    "All data is SYNTHETIC (bench/gen_trade.py, bench/gen_names.py) except the OFAC files of the import and "
    "change-detection figures, which are the real files from ../shared/data. The bench writes only to its own "
    "SQLite files (bench/.data/) and its own PostgreSQL databases (created and dropped).",
    "The 20M trade rows and the names are bulk-loaded DIRECTLY (sqlite3 executemany / asyncpg COPY, secondary "
    "indexes dropped and re-created from the model, then ANALYZE); import speed through the real importers is "
    "measured separately on fresh databases.",
    "Latencies are wall-clock per call, one call at a time, warm caches; median and p95 over the n parameter "
    "sets. Ratio = figure / baseline (medians): below 1 the product is faster for times, above 1 for rates.",
    "Baselines run in the same process on the same rows and questions: pandas boolean masks (and DuckDB on a "
    "sorted table, when installed) for trade queries; a rapidfuzz WRatio scan over every normalised name for "
    "entity search (recall measured the same way).",
    "The generated data stays in the bench process for every backend; it is moved out of the cyclic garbage "
    "collector's reach (gc.freeze) before anything is timed, as a bot or import process does not hold it.",
    "This machine is shared with other work: the load average is recorded; a busy machine inflates wall "
    "times and p95 most. The CPU column is the CPU time spent per call (all threads; for imports, the import's "
    "own process): the view that does not depend on waiting for a core; it leaves out the PostgreSQL server's "
    "own work.",
]


SPEED_CHECK = "sum(i*i for i in range(1000000))"


def python_speed_ms() -> float:
    """What `python -m timeit "<SPEED_CHECK>"` prints (best of 5 repeats of 5 loops, ms per loop).

    Machines with the same CPU name here run plain Python up to 2x apart, and a shared one drifts within an
    hour: this is the yardstick that tells whether two runs can be compared at all.
    """
    return round(min(timeit.repeat(SPEED_CHECK, number=5, repeat=5)) / 5 * 1000, 1)


def machine() -> dict[str, Any]:
    """Cores, CPU model, memory, OS, Python, load average, Python speed."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
        platform.processor() or "unknown",
    )  # fmt: skip
    mem_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    try:
        pg = subprocess.run(["psql", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        pg = "unknown"
    import sqlite3

    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kib / 2**20, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql_client": pg,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python_speed_ms": python_speed_ms(),
    }


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "rows/s":
        return f"{value:,.0f}"
    if unit == "fraction":
        return f"{value:.3f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _met(f: Figure) -> str:
    return {True: "yes", False: "**NO**", None: "–"}[f.met]


def table(figures: list[Figure]) -> list[str]:
    """The Markdown table of figures (also used for the README)."""
    lines = [
        "| figure | backend | unit | median | p95 | CPU ms median / p95 | n | baseline | baseline median | ratio | target | met |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        ratio = f"{f.ratio:.3g}" if f.ratio is not None else "–"
        target = f.target.text() if f.target else "–"
        cpu = (
            f"{_fmt(f.extra['cpu_ms_median'], 'ms')} / {_fmt(f.extra['cpu_ms_p95'], 'ms')}"
            if "cpu_ms_median" in f.extra
            else "–"
        )
        lines.append(
            f"| {f.name} | {f.backend} | {f.unit} | {_fmt(f.median, f.unit)} | {_fmt(f.p95, f.unit)} | {cpu} | {f.n} | "
            f"{f.baseline_name or '–'} | {_fmt(f.baseline_median, f.unit)} | {ratio} | {target} | {_met(f)} |"
        )
    return lines


def write(figures: list[Figure], meta: dict[str, Any], out_dir: Path = HERE) -> tuple[Path, Path]:
    """Write results.json and RESULTS.md; return their paths."""
    meta = {
        **meta,
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine_at_end": machine(),
    }
    data = {"meta": meta, "notes": NOTES, "figures": [f.to_json() for f in figures]}
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "results.json"
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    md_path = out_dir / "RESULTS.md"
    md_path.write_text("\n".join(_markdown(figures, meta)) + "\n", encoding="utf-8")
    return json_path, md_path


def _markdown(figures: list[Figure], meta: dict[str, Any]) -> list[str]:
    m = meta["machine"]
    lines = [
        "# Tradewatch benchmark results",
        "",
        "Generated by `python -m bench` (bench/report.py): do not edit by hand.",
        "",
        f"Reproduce: `{meta['command']}`",
        "",
        f"Run: {meta['started']} → {meta['finished']} ({meta['elapsed_s'] / 60:.1f} min), scale {meta['scale']}, "
        f"backends {', '.join(meta['backends'])}, areas {', '.join(meta['areas'])}.",
        "",
        "## Machine",
        "",
        f"- {m['cores']} cores, {m['cpu']}, {m['memory_gib']} GiB memory; {m['os']}",
        f"- Python {m['python']}, SQLite {m['sqlite']}, {m['postgresql_client']}",
        f"- load average at start {m['load_average']}, at end {meta['machine_at_end']['load_average']} "
        "(the machine is shared)",
        f"- Python speed at start {m.get('python_speed_ms', '?')} ms, at end "
        f'{meta["machine_at_end"].get("python_speed_ms", "?")} ms (`python -m timeit "{SPEED_CHECK}"`; lower '
        "is faster: compare runs only at similar speeds)",
        "",
        "## Data",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in meta["data"].items()]
    misses = [f for f in figures if f.met is False]
    lines += ["", "## Figures", "", *table(figures), ""]
    lines += ["## Targets missed", ""]
    lines += [
        f"- {f.name} ({f.backend}): {_fmt(f.p95 if f.target and f.target.on == 'p95' else f.median, f.unit)} {f.unit}, target {f.target.text() if f.target else ''}"
        for f in misses
    ] or ["- none"]
    lines += ["", "## Details per figure", ""]
    for f in figures:
        details = {"note": f.note, **f.extra} if f.note else dict(f.extra)
        if details:
            lines.append(f"- {f.name} ({f.backend}): " + "; ".join(f"{k}: {v}" for k, v in details.items()))
    lines += ["", "## Method", ""] + [f"- {n}" for n in NOTES]
    return lines
