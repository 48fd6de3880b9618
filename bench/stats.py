"""Timing helpers and the `Figure` every measurement produces (one row of RESULTS.md / results.json)."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (numpy's default method), without numpy for tiny inputs."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Timings:
    """Wall-clock samples in milliseconds, and the CPU time this process spent on each call (all threads).

    The CPU time is the contention-free view on a shared machine: wall time includes waiting for a core.
    It leaves out other processes' work (the PostgreSQL server's, for queries on PostgreSQL).
    """

    samples: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return percentile(self.samples, 50)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 95)

    def __len__(self) -> int:
        return len(self.samples)


def time_calls(fn: Callable[[Any], Any], params: Iterable[Any]) -> tuple[Timings, list[Any]]:
    """Call `fn(p)` for each parameter set; return the timings (ms) and the results."""
    timings, results = Timings(), []
    for p in params:
        cpu, started = time.process_time(), time.perf_counter()
        results.append(fn(p))
        timings.samples.append((time.perf_counter() - started) * 1000)
        timings.cpu.append((time.process_time() - cpu) * 1000)
    return timings, results


async def time_async(fn: Callable[[Any], Awaitable[Any]], params: Iterable[Any]) -> tuple[Timings, list[Any]]:
    """The async twin of `time_calls`."""
    timings, results = Timings(), []
    for p in params:
        cpu, started = time.process_time(), time.perf_counter()
        results.append(await fn(p))
        timings.samples.append((time.perf_counter() - started) * 1000)
        timings.cpu.append((time.process_time() - cpu) * 1000)
    return timings, results


@dataclass
class Target:
    """A target from the issue: `value` with `op` ("<=" or ">="), applied to the figure's `on` statistic."""

    value: float
    op: str = "<="
    on: str = "p95"  # "p95", "median" or "value"

    def met(self, figure: Figure) -> bool | None:
        observed = {"p95": figure.p95, "median": figure.median, "value": figure.median}[self.on]
        if observed is None or math.isnan(observed):
            return None
        return observed <= self.value if self.op == "<=" else observed >= self.value

    def text(self) -> str:
        stat = "" if self.on == "value" else f"{self.on} "
        return f"{stat}{self.op} {self.value:g}"


@dataclass
class Figure:
    """One measured figure and its baseline from the same run on the same data.

    `ratio` is figure / baseline on the median (for times: < 1 means the product is faster than the
    baseline; for throughput, > 1 means it is faster). `extra` holds per-figure facts (recall, n, notes).
    """

    name: str
    area: str
    backend: str
    unit: str
    median: float | None
    p95: float | None
    n: int
    baseline_name: str | None = None
    baseline_median: float | None = None
    baseline_p95: float | None = None
    target: Target | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.median is None or not self.baseline_median:
            return None
        return self.median / self.baseline_median

    @property
    def met(self) -> bool | None:
        return self.target.met(self) if self.target else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["target"] = (
            {
                "value": self.target.value,
                "op": self.target.op,
                "on": self.target.on,
                "text": self.target.text(),
            }
            if self.target
            else None
        )
        data["baseline"] = (
            {"name": self.baseline_name, "median": self.baseline_median, "p95": self.baseline_p95}
            if self.baseline_name
            else None
        )
        for key in ("baseline_name", "baseline_median", "baseline_p95"):
            data.pop(key)
        data["ratio"] = self.ratio
        data["met"] = self.met
        return data


def from_timings(
    name: str,
    area: str,
    backend: str,
    timings: Timings,
    *,
    baseline: tuple[str, Timings] | None = None,
    target: Target | None = None,
    unit: str = "ms",
    note: str = "",
    **extra: Any,
) -> Figure:
    """A latency figure from samples, with an optional baseline measured on the same parameter sets."""
    if timings.cpu:
        extra = {
            "cpu_ms_median": round(percentile(timings.cpu, 50), 3),
            "cpu_ms_p95": round(percentile(timings.cpu, 95), 3),
            **extra,
        }
    return Figure(
        name,
        area,
        backend,
        unit,
        timings.median if len(timings) else None,
        timings.p95 if len(timings) else None,
        len(timings),
        baseline[0] if baseline else None,
        baseline[1].median if baseline and len(baseline[1]) else None,
        baseline[1].p95 if baseline and len(baseline[1]) else None,
        target,
        note,
        dict(extra),
    )
