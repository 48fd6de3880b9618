"""The /compare benchmark at a tiny scale, so it cannot rot: it runs on both backends, measures the whole
command with its pandas baseline from the same run, and its replies hold the same sums as pandas."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bench.__main__ import main


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_compare_bench_runs_at_tiny_scale(backend: str, tmp_path: Path, shared_data: Path) -> None:
    argv = ["--scale", "0.0002", "--backend", backend, "--only", "compare", "--queries", "3",
            "--small-names", "0", "--repeats", "1", "--data-dir", str(tmp_path / "data"),
            "--out", str(tmp_path / "out"), "--shared-data", str(shared_data)]  # fmt: skip
    assert asyncio.run(main(argv)) == 0
    data = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    [figure] = [f for f in data["figures"] if f["name"].startswith("/compare whole command")]
    assert figure["backend"] == backend and figure["n"] == 3
    assert figure["baseline"]["name"] == "pandas boolean masks"
    assert figure["target"]["text"] == "p95 <= 300" and figure["met"] in (True, False)
    assert figure["extra"]["replies_with_chart"] == 3
    assert figure["extra"]["agree_with_pandas"] == "3/3"  # every line of both sides summed the same rows
