"""The screening benchmark at a tiny scale, so it cannot rot: it screens a sheet of noisy listed names through
the command's whole path on both backends, with its full-scan baseline from the same run."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bench.__main__ import main


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_screen_bench_runs_at_tiny_scale(backend: str, tmp_path: Path, shared_data: Path) -> None:
    argv = ["--scale", "0.002", "--backend", backend, "--only", "screen", "--screen-rows", "40",
            "--screen-baseline", "3", "--small-names", "0", "--repeats", "2", "--data-dir", str(tmp_path / "data"),
            "--out", str(tmp_path / "out"), "--shared-data", str(shared_data)]  # fmt: skip
    assert asyncio.run(main(argv)) == 0
    data = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    figure, in_process = [f for f in data["figures"] if f["area"] == "screen"]
    assert figure["backend"] == backend and figure["name"].startswith("screen 40 names against ")
    assert figure["baseline"]["name"].startswith("rapidfuzz process.extract WRatio full scan per name")
    assert figure["target"]["text"] == "<= 30" and figure["met"] in (True, False)
    extra = figure["extra"]
    assert sum(extra["verdicts"].values()) == 40 and extra["rows"] == 40
    assert figure["n"] == 2 and len(extra["runs_s"]) == 2  # two runs of the command, the same results file
    assert extra["found_share"] >= 0.8  # noisy variants of listed names: most are found with the right entity
    assert in_process["name"] == "/screen 40 names in the bot's process" and in_process["target"] is None
    assert in_process["extra"]["found_share"] == extra["found_share"]  # the same search either way
