"""Trade figures: /exports (the query alone, all its queries, the whole command with chart and CSV) and
/top partners (query and command), against pandas (and DuckDB if installed) over the same rows.

Parameter sets are drawn from the generated rows (a random row gives reporter, partner, flow, its HS-4
heading and its year), so every question has data, and bigger flows are asked about more often.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bench.gen_trade import TradeChunk, TradeShape
from bench.stats import Figure, Target, Timings, from_timings, time_async, time_calls
from commands.context import Context
from commands.exports import ExportsParams, run_exports
from commands.top import TopPartnersParams, run_top_partners
from db.engine import make_engine, make_sessionmaker
from db.lookups import Lookups
from db.queries import trade as tq
from db.queries import trade_sources
from db.queries.trade import TradeScope

EXPORTS_QUERY_P95_MS = 5.0
COMMAND_P95_MS = 300.0


@dataclass(frozen=True)
class Question:
    """One /exports (and /top partners) parameter set."""

    reporter: int
    partner: int
    flow: str
    hs4: str
    year: int

    @property
    def periods(self) -> tuple[int, int]:
        return (self.year - 1) * 100, self.year * 100 + 12


def draw_questions(chunks: Sequence[TradeChunk], shape: TradeShape, n: int, seed: int = 5) -> list[Question]:
    """`n` questions from uniformly drawn rows (years 2021-2023 so a previous year exists)."""
    rng = random.Random(seed)
    sizes = np.array([len(c) for c in chunks])
    out = []
    for _ in range(n):
        c = chunks[int(np.searchsorted(np.cumsum(sizes), rng.randrange(int(sizes.sum())), side="right"))]
        i = rng.randrange(len(c))
        year = max(2021, int(c.period[i]) // 100)
        flow = "X" if c.flow[i] == 0 else "M"
        out.append(
            Question(int(c.reporter[i]), int(c.partner[i]), flow, str(shape.codes[c.code[i]])[:4], year)
        )
    return out


def frame(chunks: Sequence[TradeChunk], shape: TradeShape) -> pd.DataFrame:
    """The same rows as a pandas DataFrame (HS code as an integer, flow 0 = X / 1 = M)."""
    codes = shape.codes.astype(np.int32)
    return pd.DataFrame(
        {
            "reporter": np.concatenate([c.reporter for c in chunks]),
            "partner": np.concatenate([c.partner for c in chunks]),
            "flow": np.concatenate([c.flow for c in chunks]),
            "hs": np.concatenate([codes[c.code] for c in chunks]),
            "period": np.concatenate([c.period for c in chunks]),
            "value": np.concatenate([c.value for c in chunks]),
        }
    )


def _hs_range(q: Question) -> tuple[int, int]:
    return int(q.hs4) * 100, int(q.hs4) * 100 + 100


def pandas_exports(df: pd.DataFrame, q: Question) -> pd.Series:
    lo, hi = _hs_range(q)
    p0, p1 = q.periods
    mask = (
        (df.reporter == q.reporter) & (df.partner == q.partner) & (df.flow == (0 if q.flow == "X" else 1))
        & (df.hs >= lo) & (df.hs < hi) & (df.period >= p0) & (df.period <= p1)
    )  # fmt: skip
    return df[mask].groupby(["hs", "period"]).value.sum()


def pandas_top(df: pd.DataFrame, q: Question) -> pd.Series:
    lo, hi = _hs_range(q)
    p0, p1 = q.periods
    mask = (
        (df.reporter == q.reporter) & (df.flow == (0 if q.flow == "X" else 1))
        & (df.hs >= lo) & (df.hs < hi) & (df.period >= p0) & (df.period <= p1)
    )  # fmt: skip
    sub = df[mask]
    return sub.groupby([sub.partner, sub.period // 100]).value.sum()


class DuckBaseline:
    """The same rows in DuckDB, sorted by (reporter, partner, flow, hs, period); None if duckdb is missing."""

    def __init__(self, df: pd.DataFrame) -> None:
        import duckdb

        self.con = duckdb.connect()
        self.con.register("frame", df)
        self.con.execute("CREATE TABLE t AS SELECT * FROM frame ORDER BY reporter, partner, flow, hs, period")
        self.con.unregister("frame")

    def exports(self, q: Question) -> list[Any]:
        lo, hi = _hs_range(q)
        return self.con.execute(
            "SELECT hs, period, sum(value) FROM t WHERE reporter = ? AND partner = ? AND flow = ? AND hs >= ? "
            "AND hs < ? AND period BETWEEN ? AND ? GROUP BY hs, period",
            [q.reporter, q.partner, 0 if q.flow == "X" else 1, lo, hi, *q.periods],
        ).fetchall()

    def top(self, q: Question) -> list[Any]:
        lo, hi = _hs_range(q)
        return self.con.execute(
            "SELECT partner, period // 100, sum(value) FROM t WHERE reporter = ? AND flow = ? AND hs >= ? "
            "AND hs < ? AND period BETWEEN ? AND ? GROUP BY 1, 2",
            [q.reporter, 0 if q.flow == "X" else 1, lo, hi, *q.periods],
        ).fetchall()


def duck_baseline(df: pd.DataFrame) -> DuckBaseline | None:
    try:
        return DuckBaseline(df)
    except ImportError:
        return None


@dataclass
class Baselines:
    """Baseline timings per figure name, measured once per run (they do not depend on the backend)."""

    timings: dict[str, tuple[str, Timings]]


def measure_baselines(df: pd.DataFrame, questions: Sequence[Question]) -> Baselines:
    """pandas (and DuckDB) over the same rows and questions."""
    out: dict[str, tuple[str, Timings]] = {}
    out["exports"] = ("pandas boolean masks", time_calls(lambda q: pandas_exports(df, q), questions)[0])
    out["top"] = ("pandas boolean masks", time_calls(lambda q: pandas_top(df, q), questions)[0])
    duck = duck_baseline(df)
    if duck is not None:
        out["exports.duckdb"] = ("DuckDB, sorted table", time_calls(duck.exports, questions)[0])
        out["top.duckdb"] = ("DuckDB, sorted table", time_calls(duck.top, questions)[0])
        duck.con.close()
    return Baselines(out)


async def measure(
    url: str, backend: str, questions: Sequence[Question], lookups: Lookups, source_id: int,
    baselines: Baselines, df: pd.DataFrame | None,
) -> list[Figure]:  # fmt: skip
    """Every trade figure on one backend."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    figures: list[Figure] = []
    try:
        async with sessions() as session:

            async def series(q: Question) -> list[tq.CodeValue]:
                scope = TradeScope(q.reporter, q.flow, (q.hs4,), q.partner)
                return await tq.series_by_code(session, scope, source_id, "M", {q.hs4: 6}, q.periods)

            async def partners(q: Question) -> list[tq.KeyAmount]:
                scope = TradeScope(q.reporter, q.flow, (q.hs4,))
                return await tq.partner_amounts(session, scope, source_id, "M", {q.hs4: 6}, q.periods)

            async def all_exports_queries(q: Question) -> Any:
                scope = TradeScope(q.reporter, q.flow, (q.hs4,), q.partner)
                ctx = Context(session=session, lookups=lookups)
                from commands.exports import load_series

                coverage = await tq.source_coverage(session, scope, q.year)
                loaded = await load_series(ctx, scope, q.year, coverage)
                return await trade_sources.snapshot_infos(session, {r.snapshot_id for r in loaded.rows})

            await time_async(series, questions[:20])  # warm the caches (both backends) before timing
            t_series, results = await time_async(series, questions)
            t_all, _ = await time_async(all_exports_queries, questions)
            t_partners, _ = await time_async(partners, questions)
        agree = _agreement(results, questions, df)
        figures += [
            from_timings("/exports query (monthly series, one pair)", "trade", backend, t_series,
                         baseline=baselines.timings.get("exports"), target=Target(EXPORTS_QUERY_P95_MS),
                         note="db.queries.trade.series_by_code", agree_with_pandas=agree),
            from_timings("/exports all queries (source choice, levels, series, citations)", "trade", backend, t_all,
                         baseline=baselines.timings.get("exports")),
            from_timings("/top partners query (one reporter, all partners)", "trade", backend, t_partners,
                         baseline=baselines.timings.get("top"), note="db.queries.trade.partner_amounts"),
        ]  # fmt: skip
        for key, name in (("exports.duckdb", "/exports query"), ("top.duckdb", "/top partners query")):
            if key in baselines.timings:
                t = t_series if key.startswith("exports") else t_partners
                figures.append(
                    from_timings(f"{name} vs DuckDB", "trade", backend, t, baseline=baselines.timings[key])
                )
        figures += await _commands(sessions, backend, questions, lookups, baselines)
    finally:
        await engine.dispose()
    return figures


async def _commands(
    sessions: Any, backend: str, questions: Sequence[Question], lookups: Lookups, baselines: Baselines
) -> list[Figure]:
    """The whole commands as the bot runs them: a session each, resolve, query, chart, CSV, reply."""

    async def exports(q: Question) -> Any:
        params = ExportsParams.build(commodity=q.hs4, partner=str(q.partner), reporter=str(q.reporter),
                                     flow=q.flow, year=q.year, lookups=lookups)  # fmt: skip
        async with sessions() as session:
            return await run_exports(Context(session=session, lookups=lookups), params)

    async def top(q: Question) -> Any:
        params = TopPartnersParams.build(
            commodity=q.hs4, reporter=str(q.reporter), flow=q.flow, year=q.year, lookups=lookups
        )
        async with sessions() as session:
            return await run_top_partners(Context(session=session, lookups=lookups), params)

    await time_async(exports, questions[:3])  # first chart pays matplotlib's font cache
    t_exports, replies = await time_async(exports, questions)
    t_top, top_replies = await time_async(top, questions)
    charts = sum(1 for r in replies if any(a.filename.endswith(".png") for a in r.attachments))
    return [
        from_timings("/exports whole command (reply, chart PNG, CSV)", "trade", backend, t_exports,
                     baseline=baselines.timings.get("exports"), target=Target(COMMAND_P95_MS),
                     note="commands.exports.run_exports", replies_with_chart=charts),
        from_timings("/top partners whole command (reply, chart PNG, CSV)", "trade", backend, t_top,
                     baseline=baselines.timings.get("top"), target=Target(COMMAND_P95_MS),
                     note="commands.top.run_top_partners", replies=len(top_replies)),
    ]  # fmt: skip


def _agreement(
    results: Sequence[list[tq.CodeValue]], questions: Sequence[Question], df: pd.DataFrame | None
) -> str:
    """How many of the first 20 answers equal pandas' sums (a check that both did the same work)."""
    if df is None:
        return "not checked"
    same = 0
    checked = questions[:20]
    for rows, q in zip(results[: len(checked)], checked, strict=True):
        expected = pandas_exports(df, q)
        got = sum(r.value_usd or 0 for r in rows)
        same += abs(got - float(expected.sum())) <= 1e-6 * max(1.0, abs(got)) and len(rows) == len(expected)
    return f"{same}/{len(checked)}"
