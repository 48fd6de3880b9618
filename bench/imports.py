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
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from bench.databases import create_database, data_dir, drop_database, import_file
from bench.gen_trade import TradeChunk, TradeShape
from bench.stats import Figure, Target
from db.lookups import Lookups

COMTRADE_ROWS_PER_S = 200_000.0
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


async def _timed_import(
    backend: str, label: str, steps: Sequence[tuple[str, Path, dict[str, Any]]]
) -> tuple[float, Any]:
    """A fresh database; every step but the last untimed, the last timed. Returns (seconds, last report)."""
    url = await create_database(backend, label)
    try:
        for source, path, options in steps[:-1]:
            await import_file(url, source, path, **options)
        source, path, options = steps[-1]
        cpu, started = _cpu_seconds(), time.perf_counter()
        report = await import_file(url, source, path, **options)
        CPU.append(_cpu_seconds() - cpu)
        return time.perf_counter() - started, report
    finally:
        await drop_database(url, delete_sqlite=True)


CPU: list[float] = []  # CPU seconds of this process (all threads) per timed import, for the figure's extra


def _cpu_seconds() -> float:
    """CPU time of this process and of its children once they ended (the Comtrade importer forks a child
    that decodes half of a big file: db/ingest/comtrade_split.py)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _cpu(runs: int) -> dict[str, float]:
    """CPU ms of the last `runs` timed imports, forked children included (not the PostgreSQL server's work)."""
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
        rows = report.rows_loaded
        rates.append(rows / seconds)
    naive = []
    for _ in range(repeats):
        started = time.perf_counter()
        n = await asyncio.to_thread(naive_comtrade_load, comtrade_file)
        naive.append(n / (time.perf_counter() - started))
    figures.append(
        Figure("Comtrade-shaped import (v1 JSON file)", "import", backend, "rows/s", float(np.median(rates)),
               float(np.percentile(rates, 5)), repeats, "orjson + pandas DataFrame.to_sql, no indexes",
               float(np.median(naive)), float(np.percentile(naive, 5)),
               Target(COMTRADE_ROWS_PER_S, ">=", "median") if backend == "sqlite" else None,
               f"db.ingest.comtrade into a fresh database; {rows:,} rows; 'p95' column = 5th percentile rate",
               {"rows": rows, "file_mb": round(comtrade_file.stat().st_size / 2**20, 1), **_cpu(repeats)})
    )  # fmt: skip
    figures += await _ofac(backend, shared_data, repeats)
    return figures


def _pandas_read(folder: Path) -> int:
    rows = 0
    for name in OFAC_FILES:
        if (folder / name).exists():
            rows += len(
                pd.read_csv(folder / name, header=None, encoding="utf-8", dtype=str, on_bad_lines="skip")
            )
    return rows


def _pandas_diff(before: Path, after: Path) -> tuple[int, int, int]:
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


def _time(fn: Any, repeats: int) -> tuple[list[float], Any]:
    out, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        out.append(time.perf_counter() - started)
    return out, result


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
        base, rows = _time(lambda folder=folder: _pandas_read(shared_data / folder), repeats)
        figures.append(Figure(label, "import", backend, "s", float(np.median(runs)), float(np.percentile(runs, 95)),
                              repeats, "pandas.read_csv of the same files (parse only)", float(np.median(base)),
                              float(np.percentile(base, 95)), target, "db.ingest.ofac into a fresh database",
                              {"rows_loaded": report.rows_loaded if report else None, "csv_rows": rows, **_cpu(repeats)}))  # fmt: skip
    runs, report = [], None
    for i in range(repeats):
        steps = [("ofac", shared_data / SDN_BEFORE, {"data_date": "2024-04-26"}),
                 ("ofac", shared_data / SDN_BIG, {"data_date": "2024-05-01"})]  # fmt: skip
        seconds, report = await _timed_import(backend, f"import-changes-{i}", steps)
        runs.append(seconds)
    base, diff = _time(lambda: _pandas_diff(shared_data / SDN_BEFORE, shared_data / SDN_BIG), repeats)
    figures.append(Figure("Change detection, SDN 2024-04-26 -> 2024-05-01 (import of the second)", "import", backend,
                          "s", float(np.median(runs)), float(np.percentile(runs, 95)), repeats,
                          f"pandas merge on ent_num (added/removed/changed {diff})", float(np.median(base)),
                          float(np.percentile(base, 95)), Target(CHANGES_SECONDS),
                          "db.ingest.ofac with change detection, second snapshot",
                          {"changes": (report.extra.get("changes") if report else None), **_cpu(repeats)}))  # fmt: skip
    return figures
