"""`python -m bench.before_after --before REF`: the figures a code change affects, for the code at REF and the
current code, measured alternately in one run on the same data and machine (SQLite).

A machine shared with other work changes speed from hour to hour, so a before/after comparison is only
honest when both versions run side by side: each round runs the old code and the new, in alternating order
(ABBA), and the table gives each version's median over the rounds. The old code runs from a detached git
worktree of REF under the data folder (removed at the end), with this virtualenv and PYTHONPATH set to that tree, through
bench/before_after_probe.py (which imports nothing but that tree's own modules).

Figures (each version, each round):
- Comtrade-shaped import: a SYNTHETIC v1 JSON response of 250,000 records (as in `python -m bench`), each
  import in a fresh process (that version's bench.import_process) into a fresh database; rows/s.
- name index build (warm_index, in-process), then the whole /exports, /top partners and /entity commands
  (reply, chart PNG, CSV) over `--queries` parameter sets; median and p95 ms.
- `tradewatch serve` against the Discord stand-in: cold start to READY, and to the name index ready on a
  first start (index built) and a later start (saved index read back).

Writes bench/BEFORE_AFTER.md and bench/before_after.json (generated: do not edit by hand).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import report
from bench.__main__ import REPO, Run, build_names, load_main
from bench.databases import data_dir, drop_database, set_data_dir
from bench.gen_trade import generate, make_shape
from bench.imports import write_comtrade_file
from bench.trade import draw_questions
from db.lookups import load_lookups

COMTRADE_ROWS = 250_000
PROBE = Path(__file__).resolve().parent / "before_after_probe.py"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.before_after", description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git commit (or ref) of the old code")
    parser.add_argument(
        "--scale", type=float, default=0.25, help="trade rows and names, as `python -m bench`"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds of old and new code (ABBA order)")
    parser.add_argument("--repeats", type=int, default=3, help="imports and serve starts per round")
    parser.add_argument("--queries", type=int, default=200, help="parameter sets per command figure")
    parser.add_argument("--only", default="import,commands,serve", help="subset of import,commands,serve")
    parser.add_argument("--data-dir", type=Path, default=None, help="default bench/.data")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--shared-data", type=Path,
                        default=Path(os.environ.get("TRADEWATCH_SHARED_DATA", REPO.parent / "shared" / "data")))  # fmt: skip
    args = parser.parse_args(argv)
    args.areas = {a.strip() for a in args.only.split(",") if a.strip()}
    # what bench.__main__'s loaders read from its own arguments
    args.fresh, args.small_names = False, 0
    return args


def step(message: str) -> None:
    print(f"[before/after {dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def worktree(ref: str) -> tuple[Path, str]:
    """A detached worktree of `ref` under the data folder (removed at the end of the run), and its commit."""
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", ref], capture_output=True, text=True,
                            check=True).stdout.strip()  # fmt: skip
    path = data_dir() / f"code-{commit[:12]}"
    if not (path / "db").is_dir():
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), commit],
                       check=True, capture_output=True)  # fmt: skip
    return path, commit


async def run_in(tree: Path, args: list[str]) -> dict[str, Any]:
    """Run `python <args>` with `tree` as the code; its last stdout line, as JSON."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=tree,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{args[:2]} in {tree} failed ({proc.returncode}): {err.decode()[-3000:]}")
    answer: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return answer


async def probe(tree: Path, request: dict[str, Any]) -> dict[str, Any]:
    return await run_in(tree, [str(PROBE), json.dumps(request)])


async def one_import(tree: Path, label: str, comtrade: Path) -> tuple[float, float]:
    """Rows per second and per CPU second of one Comtrade import by the code in `tree`, into a database that
    code created."""
    made = await probe(tree, {"kind": "create_db", "label": label, "data_dir": str(data_dir())})
    try:
        steps = [["comtrade", str(comtrade), {}]]
        answer = await run_in(tree, ["-m", "bench.import_process", json.dumps({"kind": "import", "url": made["url"],
                                                                               "steps": steps})])  # fmt: skip
        return answer["rows_loaded"] / answer["seconds"], answer["rows_loaded"] / answer["cpu"]
    finally:
        await drop_database(made["url"], delete_sqlite=True)


async def one_round(
    version: str, tree: Path, args: argparse.Namespace, setup: dict[str, Any], results: dict[str, dict[str, list[float]]]
) -> None:  # fmt: skip
    """Every chosen figure of one version once; samples appended to `results[figure][version]`."""

    def add(figure: str, value: float) -> None:
        results.setdefault(figure, {}).setdefault(version, []).append(value)

    if "import" in args.areas:
        for i in range(args.repeats):
            rate, cpu_rate = await one_import(tree, f"ba-import-{version}-{i}", setup["comtrade"])
            add("Comtrade-shaped import, 250,000 records (rows/s)", rate)
            add("Comtrade-shaped import, rows per CPU second (rows/s)", cpu_rate)
    if "commands" in args.areas:
        answer = await probe(tree, {"kind": "commands", "url": setup["url"], "questions": setup["questions"],
                                    "entity_queries": setup["entity_queries"]})  # fmt: skip
        for name, figure in answer.items():
            short = name.split(" (")[0] if name.startswith("/") else name
            short = short.replace(", names", "")
            unit = "s" if name.startswith("name index") else "ms"
            add(f"{short}, median ({unit})", figure["median"])
            if not name.startswith("name index"):
                add(f"{short}, p95 ({unit})", figure["p95"])
                add(f"{short}, CPU median ({unit})", figure["extra"]["cpu_ms_median"])
                add(f"{short}, CPU p95 ({unit})", figure["extra"]["cpu_ms_p95"])
    if "serve" in args.areas:
        folder = data_dir() / f"ba-serve-{version}"
        shutil.rmtree(folder, ignore_errors=True)  # the first start finds no saved index
        for i in range(args.repeats):
            answer = await probe(tree, {"kind": "serve", "folder": str(folder), "url": setup["url"],
                                        "sample": setup["sample"]})  # fmt: skip
            add("serve cold start to READY (s)", answer["ready_s"])
            label = "first start, index built" if i == 0 else "later start, saved index read back"
            add(f"serve start to name index ready, {label} (s)", answer["index_ready_s"])


async def prepare(args: argparse.Namespace) -> dict[str, Any]:
    """The shared data: the Comtrade file, and the main SQLite database with its questions (this code)."""
    lookups = load_lookups()
    run = Run(argparse.Namespace(**{**vars(args), "areas": ["trade", "entity", "serve"]}), lookups)
    step(f"generating trade flows at scale {args.scale:g}")
    run.shape = make_shape(lookups, args.shared_data, args.scale)
    setup: dict[str, Any] = {}
    if "import" in args.areas:  # the first records of the full-scale data, as `python -m bench` writes them
        full = make_shape(lookups, args.shared_data, 1.0)
        setup["comtrade"] = write_comtrade_file(generate(full), full, lookups, COMTRADE_ROWS)
    if args.areas & {"commands", "serve"}:
        run.chunks = list(generate(run.shape))
        step("generating entities")
        run.names = build_names(run.args, max(1_000, round(1_000_000 * args.scale)), 7, "main")
        setup["url"] = await load_main(run, "sqlite")
        questions = draw_questions(run.chunks, run.shape, args.queries)
        setup["questions"] = [[q.reporter, q.partner, q.flow, q.hs4, q.year] for q in questions]
        setup["entity_queries"] = [q.text for q in run.names.queries[: args.queries]]
        q = questions[0]
        setup["sample"] = [run.names.queries[0].base, q.hs4, str(q.partner), str(q.reporter)]
        setup["data"] = (f"{run.trade_rows:,} SYNTHETIC trade rows, {run.names.count:,} SYNTHETIC entity names "
                         f"(bench/gen_trade.py, bench/gen_names.py at --scale {args.scale:g})")  # fmt: skip
    return setup


def table(results: dict[str, dict[str, list[float]]], labels: tuple[str, str]) -> list[str]:
    before, after = labels
    lines = [f"| figure | before ({before}) | after ({after}) | after / before | samples each |",
             "|---|---|---|---|---|"]  # fmt: skip
    for figure, by_version in results.items():
        old, new = by_version.get(before, []), by_version.get(after, [])
        if not old or not new:
            continue
        a, b = statistics.median(old), statistics.median(new)
        fmt = (
            (lambda v: f"{v:,.0f}")
            if "rows/s" in figure
            else (lambda v: f"{v:.3g}" if v < 100 else f"{v:,.0f}")
        )
        lines.append(f"| {figure} | {fmt(a)} | {fmt(b)} | {b / a:.2f} | {len(old)} |")
    return lines


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.data_dir is not None:
        set_data_dir(args.data_dir)
    started = time.perf_counter()
    meta: dict[str, Any] = {
        "command": "python -m bench.before_after " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine_at_start": report.machine(),
    }
    old_tree, commit = worktree(args.before)
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    labels = (commit[:7], head[:7] + (" + uncommitted changes" if dirty else ""))
    setup = await prepare(args)
    results: dict[str, dict[str, list[float]]] = {}
    versions = [(labels[0], old_tree), (labels[1], REPO)]
    try:
        for r in range(args.rounds):
            for version, tree in versions if r % 2 == 0 else versions[::-1]:
                step(f"round {r + 1}/{args.rounds}: {version}")
                await one_round(version, tree, args, setup, results)
    finally:
        if "url" in setup:
            await drop_database(setup["url"])
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old_tree)], check=False)
    meta["elapsed_s"] = round(time.perf_counter() - started, 1)
    meta["machine_at_end"] = report.machine()
    meta["data"] = setup.get("data")
    lines = table(results, labels)
    write(args.out, meta, labels, results, lines, args)
    print("\n".join(lines))
    return 0


def write(out: Path, meta: dict[str, Any], labels: tuple[str, str], results: dict[str, Any], lines: list[str],
          args: argparse.Namespace) -> None:  # fmt: skip
    (out / "before_after.json").write_text(
        json.dumps({**meta, "versions": labels, "samples": results}, indent=1)
    )
    start, end = meta["machine_at_start"], meta["machine_at_end"]
    md = [
        "# Before and after, measured side by side",
        "",
        "Generated by `python -m bench.before_after` (bench/before_after.py): do not edit by hand.",
        "",
        f"Command: `{meta['command']}`; started {meta['started']}, {meta['elapsed_s'] / 60:.1f} min.",
        "",
        f"- Machine: {start['cores']} cores, {start['cpu']}, {start['memory_gib']} GiB; Python {start['python']}, "
        f"SQLite {start['sqlite']}; both versions run with the same virtualenv.",
        f"- Load average at start {start['load_average']}, at end {end['load_average']} (the machine is shared); "
        f"Python speed at start {start['python_speed_ms']} ms, at end {end['python_speed_ms']} ms "
        '(`python -m timeit "sum(i*i for i in range(1000000))"`; lower is faster).',
        f"- Data: {meta['data'] or 'the Comtrade file only'}; Comtrade file: 250,000 SYNTHETIC records.",
        f"- {args.rounds} rounds, old and new code alternating (ABBA); per round {args.repeats} imports and "
        f"{args.repeats} serve starts per version, {args.queries} parameter sets per command figure. Each cell: "
        "the median over the rounds' samples.",
        "",
        *lines,
        "",
    ]
    (out / "BEFORE_AFTER.md").write_text("\n".join(md), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
