"""Entity figures: /entity search (and recall@10 on noisy queries), the whole /entity command, autocomplete,
and the name index build; against a full rapidfuzz scan over every name (its recall and its time).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.process import cdist

from bench.gen_names import Query
from bench.stats import Figure, Target, Timings, from_timings, time_async
from commands.context import Context
from commands.entity import EntityParams, run_entity
from commands.errors import CommandError
from db.engine import make_engine, make_sessionmaker
from db.lookups import Lookups
from db.names import normalize_name
from db.search import service

ENTITY_P95_MS = 20.0  # whole /entity at 1M names (issue 17)
ENTITY_SMALL_P95_MS = 20.0
RECALL_TARGET = 0.97
AUTOCOMPLETE_P95_MS = 30.0


@dataclass
class ScanBaseline:
    """A full rapidfuzz scan (WRatio) over every normalised name, best 10 entities."""

    keys: list[str]
    owners: np.ndarray

    def search(self, query: str) -> list[int]:
        key = normalize_name(query)
        scores = cdist(self.keys, [key], scorer=fuzz.WRatio, workers=-1, dtype=np.uint8)[:, 0]
        top = np.argpartition(-scores.astype(np.int16), 60)[:60]
        ordered = top[np.argsort(-scores[top], kind="stable")]
        return list(dict.fromkeys(self.owners[ordered].tolist()))[:10]


def recall(found: Sequence[Sequence[int]], queries: Sequence[Query]) -> float:
    """Share of queries with an accepted entity among the first 10 found."""
    hits = sum(1 for ids, q in zip(found, queries, strict=True) if set(ids[:10]) & q.accepted)
    return hits / len(queries) if queries else float("nan")


def measure_baseline(baseline: ScanBaseline, queries: Sequence[Query]) -> tuple[Timings, float]:
    timings = Timings()
    found = []
    for q in queries:
        started = time.perf_counter()
        found.append(baseline.search(q.text))
        timings.samples.append((time.perf_counter() - started) * 1000)
    return timings, recall(found, queries)


def _by_variant(found: Sequence[Sequence[int]], queries: Sequence[Query]) -> dict[str, str]:
    out: dict[str, list[bool]] = {}
    for ids, q in zip(found, queries, strict=True):
        out.setdefault(q.variant, []).append(bool(set(ids[:10]) & q.accepted))
    return {k: f"{sum(v)}/{len(v)}" for k, v in sorted(out.items())}


async def measure(
    url: str, backend: str, queries: Sequence[Query], prefixes: Sequence[tuple[str, str]], lookups: Lookups,
    baseline: tuple[Timings, float, int] | None, *, label: str, p95_target: float, whole_command: bool = True,
) -> list[Figure]:  # fmt: skip
    """Search, recall, command and autocomplete figures on one database."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    figures: list[Figure] = []
    try:
        started = time.perf_counter()
        names = await service.warm_index(sessions)
        build_s = time.perf_counter() - started
        async with sessions() as session:
            index, _ = await service.get_index(session)
            nbytes = index.nbytes

            async def search(q: Query) -> list[int]:
                result = await service.search_entities(session, q.text, limit=10)
                return [h.entity_id for h in result.hits]

            t_search, found = await time_async(search, queries)
            t_suggest, suggested = await time_async(lambda p: service.suggest_names(session, p[0]), prefixes)
        got = recall(found, queries)
        base = (
            (f"rapidfuzz WRatio full scan ({baseline[2]} queries, recall {baseline[1]:.3f})", baseline[0])
            if baseline
            else None
        )
        figures += [
            from_timings(f"/entity search, {label}", "entity", backend, t_search, baseline=base,
                         target=Target(p95_target), note="db.search.service.search_entities, limit 10",
                         recall_at_10=round(got, 4), names=names, by_variant=_by_variant(found, queries)),
            Figure(f"/entity recall@10, {label}", "entity", backend, "fraction", got, got, len(queries),
                   base[0] if base else None, baseline[1] if baseline else None, baseline[1] if baseline else None,
                   Target(RECALL_TARGET, ">=", "value"), "noisy queries with known answers"),
            from_timings(f"autocomplete (entity names), {label}", "entity", backend, t_suggest,
                         target=Target(AUTOCOMPLETE_P95_MS), note="db.search.service.suggest_names, 25 names",
                         typed_name_in_suggestions=f"{sum(n in s for (_, n), s in zip(prefixes, suggested, strict=True))}/{len(prefixes)}"),
            Figure(f"name index build at start, {label}", "entity", backend, "s", build_s, build_s, 1,
                   note=f"warm_index: read {names:,} names + build; index {nbytes / 2**20:.0f} MiB"),
        ]  # fmt: skip
        if whole_command:
            figures.append(await _command(sessions, backend, queries, lookups, label, p95_target, base))
    finally:
        service.forget_index(engine)
        await engine.dispose()
    return figures


async def _command(sessions: Any, backend: str, queries: Sequence[Query], lookups: Lookups, label: str,
                   p95_target: float, base: tuple[str, Timings] | None) -> Figure:  # fmt: skip
    """The whole /entity command: search, records, grouping, links, the card."""
    failures = 0

    async def command(q: Query) -> Any:
        nonlocal failures
        try:
            params = EntityParams.build(q.text, lookups)
            async with sessions() as session:
                return await run_entity(Context(session=session, lookups=lookups), params)
        except CommandError:  # "not found" answers are answers too (and cost the same search)
            failures += 1
            return None

    t_command, _ = await time_async(command, queries)
    return from_timings(f"/entity whole command, {label}", "entity", backend, t_command, baseline=base,
                        target=Target(p95_target), note="commands.entity.run_entity",
                        not_found_or_invalid=failures)  # fmt: skip
