"""Import figures through the real importers, each into a fresh bench database:

- Comtrade-shaped trade data: a generated UN Comtrade v1 JSON response (250,000 records at --scale 1, the
  per-call maximum of the API; 50,000 at small scales) (SYNTHETIC rows from bench.gen_trade,
  every field a real response carries) through db.ingest.comtrade; rows/s. Baseline: a naive loader, orjson
  + pandas.DataFrame + DataFrame.to_sql into an unindexed in-memory SQLite table.
- The full OFAC SDN set (sdn, add, alt, comments: ofac/sdn_full_2021-07) and the largest SDN file
  (ofac/sdn_snapshots/2024-05-01, sdn.csv only) through db.ingest.ofac; seconds. Baseline: pandas.read_csv
  of the same files (parsing only).
- Change detection: 2024-04-26 loaded, then the 2024-05-01 snapshot imported (load + diff + list_changes
  rows); seconds. Baseline: pandas, both files read, merged on ent_num, added/removed/changed counted.

Each timed import and each baseline runs in a fresh process, as `tradewatch import` does
(bench/import_process.py says why).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from bench.databases import create_database, data_dir, drop_database
from bench.gen_trade import TradeChunk, TradeShape
from bench.stats import Figure, Target
from db.lookups import Lookups

COMTRADE_ROWS_PER_S = 100_000.0
OFAC_SECONDS = 5.0
CHANGES_SECONDS = 2.0
SDN_FULL = Path("ofac/sdn_full_2021-07")
SDN_BIG = Path("ofac/sdn_snapshots/2024-05-01")
SDN_BEFORE = Path("ofac/sdn_snapshots/2024-04-26")
OFAC_FILES = ("sdn.csv", "add.csv", "alt.csv", "sdn_comments.csv")


def _record(
    lookups: Lookups, r: int, p: int, flow: str, code: str, period: int, value: float, kg: float
) -> dict[str, Any]:
    rep, par = lookups.by_code.get(r), lookups.by_code.get(p)
    return {
        "typeCode": "C", "freqCode": "M", "refPeriodId": period * 100 + 1, "refYear": period // 100,
        "refMonth": period % 100, "period": str(period), "reporterCode": r, "reporterISO": rep.iso3 if rep else None,
        "reporterDesc": rep.name if rep else None, "flowCode": flow, "flowDesc": "Export" if flow == "X" else "Import",
        "partnerCode": p, "partnerISO": par.iso3 if par else None, "partnerDesc": par.name if par else None,
        "partner2Code": 0, "partner2ISO": "W00", "partner2Desc": "World", "classificationCode": "H6",
        "classificationSearchCode": "HS", "isOriginalClassification": True, "cmdCode": code,
        "cmdDesc": "SYNTHETIC", "aggrLevel": 6, "isLeaf": True, "customsCode": "C00", "customsDesc": "TOTAL CPC",
        "mosCode": "0", "motCode": 0, "motDesc": "TOTAL MOT", "qtyUnitCode": 8, "qtyUnitAbbr": "kg", "qty": kg,
        "isQtyEstimated": False, "altQtyUnitCode": -1, "altQtyUnitAbbr": "N/A", "altQty": 0,
        "isAltQtyEstimated": False, "netWgt": kg, "isNetWgtEstimated": False, "grossWgt": 0,
        "isGrossWgtEstimated": False, "cifvalue": value if flow == "M" else None,
        "fobvalue": value if flow == "X" else None, "primaryValue": value, "legacyEstimationFlag": 0,
        "isReported": True, "isAggregate": False,
    }  # fmt: skip


def write_comtrade_file(chunks: Sequence[TradeChunk], shape: TradeShape, lookups: Lookups, rows: int) -> Path:
    """A Comtrade v1 JSON response holding the first `rows` generated rows (labelled synthetic in `url`)."""
    path = data_dir() / f"comtrade-synthetic-{rows}.json"
    if path.exists():
        return path
    records: list[dict[str, Any]] = []
    for c in chunks:
        take = min(len(c), rows - len(records))
        cols = zip(c.reporter[:take].tolist(), c.partner[:take].tolist(), c.flow[:take].tolist(),
                   shape.codes[c.code[:take]].tolist(), c.period[:take].tolist(), c.value[:take].tolist(),
                   c.net_kg[:take].tolist(), strict=True)  # fmt: skip
        records += [
            _record(lookups, r, p, "X" if f == 0 else "M", code, per, v, kg)
            for r, p, f, code, per, v, kg in cols
        ]
        if len(records) >= rows:
            break
    payload = {
        "url": "SYNTHETIC benchmark data (bench/gen_trade.py), not a UN Comtrade response",
        "count": len(records),
        "data": records,
    }
    data_dir().mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(payload))
    return path


def naive_comtrade_load(path: Path) -> int:
    """Baseline: orjson + pandas DataFrame + to_sql into an unindexed in-memory SQLite table."""
    records = orjson.loads(path.read_bytes())["data"]
    df = pd.DataFrame.from_records(records, columns=["reporterCode", "partnerCode", "flowCode", "cmdCode", "period",
                                                     "freqCode", "aggrLevel", "primaryValue", "netWgt"])  # fmt: skip
    with sqlite3.connect(":memory:") as conn:
        df.to_sql("flows", conn, index=False)
    return len(df)


REPO = Path(__file__).resolve().parents[1]


async def _in_fresh_process(request: dict[str, Any]) -> dict[str, Any]:
    """Run one timed import or baseline in a new interpreter (bench/import_process.py says why)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.import_process", json.dumps(request, default=str),
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"bench.import_process failed ({proc.returncode}): {err.decode()[-2000:]}")
    answer: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return answer


async def _timed_import(
    backend: str, label: str, steps: Sequence[tuple[str, Path, dict[str, Any]]]
) -> tuple[float, dict[str, Any]]:
    """A fresh database; every step but the last untimed, the last timed, in a fresh process. Returns
    (seconds, details: rows_loaded and changes of the last report)."""
    url = await create_database(backend, label)
    try:
        answer = await _in_fresh_process(
            {"kind": "import", "url": url, "steps": [list(step) for step in steps]}
        )
        CPU.append(answer["cpu"])
        return answer["seconds"], answer
    finally:
        await drop_database(url, delete_sqlite=True)


async def _timed_baseline(kind: str, paths: Sequence[Path], repeats: int) -> tuple[list[float], Any]:
    """A baseline function of this module, `repeats` times, each in a fresh process: seconds, its result."""
    runs, result = [], None
    for _ in range(repeats):
        answer = await _in_fresh_process({"kind": kind, "args": [str(p) for p in paths]})
        runs.append(answer["seconds"])
        result = answer["result"]
    return runs, result


CPU: list[float] = []  # CPU seconds per timed import (its process and the children it reaped)


def _cpu(runs: int) -> dict[str, float]:
    """CPU ms of the last `runs` timed imports, each in its own process (not the PostgreSQL server's work)."""
    last = [c * 1000 for c in CPU[-runs:]]
    return {
        "cpu_ms_median": round(float(np.median(last)), 1),
        "cpu_ms_p95": round(float(np.percentile(last, 95)), 1),
    }


async def measure(backend: str, comtrade_file: Path, shared_data: Path, repeats: int) -> list[Figure]:
    """Every import figure on one backend (each import `repeats` times, a fresh database each time)."""
    figures: list[Figure] = []
    rates, rows = [], 0
    for i in range(repeats):
        seconds, report = await _timed_import(
            backend, f"import-comtrade-{i}", [("comtrade", comtrade_file, {})]
        )
        rows = report["rows_loaded"]
        rates.append(rows / seconds)
    runs, n = await _timed_baseline("naive_comtrade_load", [comtrade_file], repeats)
    naive = [n / seconds for seconds in runs]
    figures.append(
        Figure("Comtrade-shaped import (v1 JSON file)", "import", backend, "rows/s", float(np.median(rates)),
               float(np.percentile(rates, 5)), repeats, "orjson + pandas DataFrame.to_sql, no indexes",
               float(np.median(naive)), float(np.percentile(naive, 5)),
               Target(COMTRADE_ROWS_PER_S, ">=", "median") if backend == "sqlite" else None,
               f"db.ingest.comtrade into a fresh database, in a fresh process; {rows:,} rows; 'p95' column = 5th "
               "percentile rate",
               {"rows": rows, "file_mb": round(comtrade_file.stat().st_size / 2**20, 1), **_cpu(repeats)})
    )  # fmt: skip
    figures += await _ofac(backend, shared_data, repeats)
    return figures


def pandas_read(folder: Path) -> int:
    rows = 0
    for name in OFAC_FILES:
        if (folder / name).exists():
            rows += len(
                pd.read_csv(folder / name, header=None, encoding="utf-8", dtype=str, on_bad_lines="skip")
            )
    return rows


def pandas_diff(before: Path, after: Path) -> tuple[int, int, int]:
    a = pd.read_csv(before / "sdn.csv", header=None, dtype=str, encoding="utf-8").dropna(subset=[0])
    b = pd.read_csv(after / "sdn.csv", header=None, dtype=str, encoding="utf-8").dropna(subset=[0])
    merged = a.merge(b, on=0, how="outer", indicator=True, suffixes=("_a", "_b"))
    both = merged[merged["_merge"] == "both"]
    left = both[[c for c in merged.columns if str(c).endswith("_a")]].fillna("").to_numpy()
    right = both[[c for c in merged.columns if str(c).endswith("_b")]].fillna("").to_numpy()
    changed = int((left != right).any(axis=1).sum())
    return (
        int((merged["_merge"] == "right_only").sum()),
        int((merged["_merge"] == "left_only").sum()),
        changed,
    )


async def _ofac(backend: str, shared_data: Path, repeats: int) -> list[Figure]:
    figures = []
    for folder, label, target in (
        (SDN_FULL, "Full OFAC SDN import (sdn, add, alt, comments; 2021-07)", Target(OFAC_SECONDS)),
        (SDN_BIG, "Largest OFAC SDN file import (sdn.csv 2024-05-01, 14,966 entries)", Target(OFAC_SECONDS)),
    ):
        runs, report = [], None
        for i in range(repeats):
            seconds, report = await _timed_import(
                backend, f"import-ofac-{i}", [("ofac", shared_data / folder, {})]
            )
            runs.append(seconds)
        base, rows = await _timed_baseline("pandas_read", [shared_data / folder], repeats)
        figures.append(Figure(label, "import", backend, "s", float(np.median(runs)), float(np.percentile(runs, 95)),
                              repeats, "pandas.read_csv of the same files (parse only)", float(np.median(base)),
                              float(np.percentile(base, 95)), target, "db.ingest.ofac into a fresh database",
                              {"rows_loaded": report["rows_loaded"] if report else None, "csv_rows": rows, **_cpu(repeats)}))  # fmt: skip
    runs, report = [], None
    for i in range(repeats):
        steps = [("ofac", shared_data / SDN_BEFORE, {"data_date": "2024-04-26"}),
                 ("ofac", shared_data / SDN_BIG, {"data_date": "2024-05-01"})]  # fmt: skip
        seconds, report = await _timed_import(backend, f"import-changes-{i}", steps)
        runs.append(seconds)
    base, diff = await _timed_baseline(
        "pandas_diff", [shared_data / SDN_BEFORE, shared_data / SDN_BIG], repeats
    )
    diff = tuple(diff)
    figures.append(Figure("Change detection, SDN 2024-04-26 -> 2024-05-01 (import of the second)", "import", backend,
                          "s", float(np.median(runs)), float(np.percentile(runs, 95)), repeats,
                          f"pandas merge on ent_num (added/removed/changed {diff})", float(np.median(base)),
                          float(np.percentile(base, 95)), Target(CHANGES_SECONDS),
                          "db.ingest.ofac with change detection, second snapshot",
                          {"changes": (report["changes"] if report else None), **_cpu(repeats)}))  # fmt: skip
    return figures
