"""The benchmark at a tiny scale, so it cannot rot: it runs end to end on both backends and writes its reports.

No figure is checked against a target here (speed is the benchmark's job, not the tests'): only that every
figure is measured, carries its baseline and target, and that the pieces agree with each other.
"""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.gen_names import make_entities, make_queries, normalise_all, transliterate, typo
from bench.gen_trade import generate, make_shape
from bench.imports import SDN_BEFORE, SDN_BIG, pandas_diff, write_comtrade_file
from bench.name_parts import load_parts
from bench.serve import write_config
from bench.stats import Figure, Target, percentile
from bot.config import load_config
from db.ingest.base import IngestReport
from db.ingest.comtrade import parse
from db.names import normalize_name

FIELDS = {"name", "area", "backend", "unit", "median", "p95", "n", "baseline", "ratio", "target", "met"}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_bench_runs_end_to_end_at_tiny_scale(backend: str, tmp_path: Path, shared_data: Path) -> None:
    argv = ["--scale", "0.0002", "--backend", backend, "--only", "trade,entity", "--queries", "3",
            "--small-names", "0", "--repeats", "1", "--data-dir", str(tmp_path / "data"),
            "--out", str(tmp_path / "out"), "--shared-data", str(shared_data)]  # fmt: skip
    assert asyncio.run(main(argv)) == 0
    data = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    figures = {f["name"]: f for f in data["figures"]}
    assert all(FIELDS <= set(f) for f in figures.values())
    assert all(f["backend"] == backend for f in figures.values())
    exports = figures["/exports query (monthly series, one pair)"]
    assert exports["n"] == 3 and exports["baseline"]["name"] == "pandas boolean masks"
    assert exports["ratio"] == pytest.approx(exports["median"] / exports["baseline"]["median"])
    assert exports["extra"]["agree_with_pandas"] == "3/3"  # the product and pandas summed the same rows
    assert exports["target"]["text"] == "p95 <= 5" and exports["met"] in (True, False)
    command = figures["/exports whole command (reply, chart PNG, CSV)"]
    assert command["extra"]["replies_with_chart"] == 3
    recall = [f for name, f in figures.items() if name.startswith("/entity recall@10")]
    assert len(recall) == 1 and all(0 <= f["median"] <= 1 for f in recall)
    assert any(name.startswith("autocomplete") for name in figures)
    report = (tmp_path / "out" / "RESULTS.md").read_text(encoding="utf-8")
    assert "Reproduce: `python -m bench --scale 0.0002" in report and "## Machine" in report
    speed = data["meta"]["machine"]["python_speed_ms"]
    assert 1 < speed < 10_000 and f"- Python speed at start {speed} ms" in report
    assert "SYNTHETIC" in report
    assert list(Path(tmp_path / "data").glob("*.sqlite3")) or backend == "postgresql"


def test_import_figures_run_each_import_in_a_fresh_process(tmp_path: Path, shared_data: Path) -> None:
    """The import area end to end (SQLite): every import and baseline measured in a process of its own."""
    argv = ["--scale", "0.0002", "--backend", "sqlite", "--only", "import", "--repeats", "1",
            "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--shared-data", str(shared_data)]  # fmt: skip
    assert asyncio.run(main(argv)) == 0
    data = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    figures = {f["name"]: f for f in data["figures"]}
    comtrade = figures["Comtrade-shaped import (v1 JSON file)"]
    assert comtrade["extra"]["rows"] > 1000 and comtrade["extra"]["cpu_ms_median"] > 0
    assert comtrade["baseline"]["median"] > 0 and "in a fresh process" in comtrade["note"]
    changes = figures["Change detection, SDN 2024-04-26 -> 2024-05-01 (import of the second)"]
    assert "(298, 0, 0)" in changes["baseline"]["name"] and changes["extra"]["changes"]
    full = figures["Full OFAC SDN import (sdn, add, alt, comments; 2021-07)"]
    assert full["extra"]["rows_loaded"] > 0 and full["extra"]["csv_rows"] > full["extra"]["rows_loaded"] / 2


def test_generated_trade_is_shaped_like_comtrade(shared_data: Path, lookups: object) -> None:
    shape = make_shape(lookups, shared_data, 0.001)  # type: ignore[arg-type]
    chunks = list(generate(shape))
    rows = sum(len(c) for c in chunks)
    assert abs(rows - 20_000) < 4_000  # about 20M x scale
    first = chunks[0]
    keys = list(
        zip(
            first.partner.tolist(),
            first.flow.tolist(),
            first.code.tolist(),
            first.period.tolist(),
            strict=True,
        )
    )
    assert keys == sorted(keys) and len(set(keys)) == len(keys)  # natural-key order, no duplicates
    assert first.value.min() > 0 and first.value.max() > 100 * float(sorted(first.value)[len(first) // 2])


def test_comtrade_file_goes_through_the_real_parser(
    tmp_path: Path, shared_data: Path, lookups: object
) -> None:
    from bench import databases

    databases.set_data_dir(tmp_path)
    try:
        shape = make_shape(lookups, shared_data, 0.001)  # type: ignore[arg-type]
        path = write_comtrade_file(list(generate(shape)), shape, lookups, 500)  # type: ignore[arg-type]
    finally:
        databases.set_data_dir(databases.DATA_DIR)
    report = IngestReport("comtrade", path.name)
    parsed = parse(path, report)
    assert report.rows_read == 500 and len(parsed.flows) == 500 and not report.skipped


def test_noisy_queries_have_known_answers(shared_data: Path) -> None:
    entities = make_entities(load_parts(shared_data), 2_000, seed=3)
    names = sorted({n for e in entities for n, _ in e.names})
    keys = {n: k for n, (k, _) in zip(names, normalise_all(names, workers=1), strict=True)}
    queries = make_queries(entities, keys, 60, seed=4)
    by_id = {e.entity_id: e for e in entities}
    for q in queries:
        assert q.entity_id in q.accepted and q.base in [n for n, _ in by_id[q.entity_id].names]
        assert q.text.casefold() != q.base.casefold()
    assert {"typo", "swapped words", "transliteration"} <= {q.variant for q in queries}
    scripts = {keys_script for _, keys_script in normalise_all(names, workers=1)}
    assert {"Latin", "Cyrillic", "Han"} <= scripts


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ИВАХА Денис Владимирович", "Ivakha Denis Vladimirovich"),
        ("深圳保利科技有限公司", "shen zhen bao li ke ji"),
    ],
)
def test_transliteration_variants(name: str, expected: str) -> None:
    assert transliterate(random.Random(1), name) == expected
    assert normalize_name(typo(random.Random(2), name))  # a typo never empties a name


def test_pandas_diff_baseline_finds_the_298_additions(shared_data: Path) -> None:
    assert pandas_diff(shared_data / SDN_BEFORE, shared_data / SDN_BIG) == (298, 0, 0)


def test_serve_config_is_a_valid_tradewatch_config(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path / "c.toml", "sqlite:///x.sqlite3", 11, 22), env={})
    assert config.database_url == "sqlite:///x.sqlite3" and not config.sync.enabled
    assert [g.guild_id for g in config.discord.guilds] == [11]


@pytest.mark.parametrize(
    ("target", "median", "p95", "met"),
    [
        (Target(5.0), 1.0, 4.9, True),
        (Target(5.0), 1.0, 5.1, False),
        (Target(0.97, ">=", "value"), 0.96, 0.96, False),
    ],
)
def test_targets_and_percentiles(target: Target, median: float, p95: float, met: bool) -> None:
    figure = Figure("x", "trade", "sqlite", "ms", median, p95, 1, target=target)
    assert figure.met is met
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 50) == 6
    assert percentile(list(range(101)), 95) == 95
