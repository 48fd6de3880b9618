"""/compare figures: the whole command (resolve, every line's source choice and series from both sides, chart
PNG, CSV, reply) for 4 partners over 3 years, against pandas doing the same selections over the same rows.

Parameter sets come from the generated rows (SYNTHETIC, bench/gen_trade.py): a random row gives the reporter,
flow and HS-4 heading; the partners are that row's partner and the partners of three other random rows of the
same reporter, so the lines are mostly real flows of different sizes (and some partners report the mirror flow).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bench.gen_trade import TradeChunk, TradeShape
from bench.stats import Figure, Target, from_timings, time_async, time_calls
from commands.compare import CompareParams, run_compare
from commands.context import Context
from db.engine import make_engine, make_sessionmaker
from db.lookups import Lookups

COMMAND_P95_MS = 300.0
PARTNERS = 4
FIRST_YEAR, LAST_YEAR = 2021, 2023


@dataclass(frozen=True)
class CompareQuestion:
    reporter: int
    flow: str
    hs4: str
    partners: tuple[int, ...]


def draw_questions(
    chunks: Sequence[TradeChunk], shape: TradeShape, n: int, seed: int = 7
) -> list[CompareQuestion]:
    """`n` questions; rows are drawn uniformly, so bigger reporters are asked about more often."""
    rng = random.Random(seed)
    sizes = np.cumsum([len(c) for c in chunks])
    out = []
    for _ in range(n):
        chunk = chunks[int(np.searchsorted(sizes, rng.randrange(int(sizes[-1])), side="right"))]
        i = rng.randrange(len(chunk))
        partners = [int(chunk.partner[i])]
        for _ in range(50 * PARTNERS):  # a reporter with fewer partners gets fewer lines
            p = int(chunk.partner[rng.randrange(len(chunk))])
            if p not in partners and p != int(chunk.reporter[i]):
                partners.append(p)
            if len(partners) == PARTNERS:
                break
        flow = "X" if chunk.flow[i] == 0 else "M"
        hs4 = str(shape.codes[chunk.code[i]])[:4]
        out.append(CompareQuestion(int(chunk.reporter[i]), flow, hs4, tuple(partners)))
    return out


def pandas_compare(df: pd.DataFrame, q: CompareQuestion) -> tuple[pd.Series, pd.Series]:
    """The same selections with boolean masks: each partner's series, and each partner's mirror report."""
    lo, hi = int(q.hs4) * 100, int(q.hs4) * 100 + 100
    flow = 0 if q.flow == "X" else 1
    common = (
        (df.hs >= lo) & (df.hs < hi) & (df.period >= FIRST_YEAR * 100) & (df.period <= LAST_YEAR * 100 + 12)
    )
    asked = df[common & (df.reporter == q.reporter) & (df.flow == flow) & df.partner.isin(q.partners)]
    mirror = df[common & df.reporter.isin(q.partners) & (df.partner == q.reporter) & (df.flow == 1 - flow)]
    return (
        asked.groupby(["partner", "period"]).value.sum(),
        mirror.groupby(["reporter", "period"]).value.sum(),
    )


async def measure(
    url: str, backend: str, questions: Sequence[CompareQuestion], lookups: Lookups, df: pd.DataFrame | None
) -> list[Figure]:
    """The whole /compare command on one backend, with its pandas baseline measured in the same run."""
    baseline = (
        ("pandas boolean masks", time_calls(lambda q: pandas_compare(df, q), questions)[0])
        if df is not None
        else None
    )
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)

    async def compare(q: CompareQuestion) -> Any:
        params = CompareParams.build(
            commodity=q.hs4, countries=[str(p) for p in q.partners], reporter=str(q.reporter), flow=q.flow,
            years=f"{FIRST_YEAR}-{LAST_YEAR}", lookups=lookups,
        )  # fmt: skip
        async with sessions() as session:
            return await run_compare(Context(session=session, lookups=lookups), params)

    try:
        await time_async(compare, questions[:3])  # the first chart pays matplotlib's font cache
        timings, replies = await time_async(compare, questions)
    finally:
        await engine.dispose()
    agree = _agreement(replies, questions, df)
    lines = [len(r.numbers.get("lines", [])) for r in replies]
    charts = sum(1 for r in replies if any(a.filename.endswith(".png") for a in r.attachments))
    return [
        from_timings(
            f"/compare whole command ({PARTNERS} partners, {FIRST_YEAR}-{LAST_YEAR}, both sides; chart PNG, CSV)",
            "trade", backend, timings, baseline=baseline, target=Target(COMMAND_P95_MS),
            note="commands.compare.run_compare", replies_with_chart=charts,
            lines_median=int(np.median(lines)) if lines else 0, agree_with_pandas=agree,
        )
    ]  # fmt: skip


def _agreement(replies: Sequence[Any], questions: Sequence[CompareQuestion], df: pd.DataFrame | None) -> str:
    """How many of the first 20 replies hold, for every line of either side, pandas' total over the years."""
    if df is None:
        return "not checked"
    checked = questions[:20]
    same = 0
    for reply, q in zip(replies[: len(checked)], checked, strict=True):
        asked, mirror = pandas_compare(df, q)
        expected = {
            (q.reporter, p, False): float(asked.get(p, pd.Series(dtype=float)).sum()) for p in q.partners
        }
        expected |= {
            (p, q.reporter, True): float(mirror.get(p, pd.Series(dtype=float)).sum()) for p in q.partners
        }
        got = {}
        for line in reply.numbers.get("lines", []):
            total = sum(y["figure"] or 0.0 for y in line["years"])
            got[(line["reporter_code"], line["partner_code"], line["other_side"])] = total
        ok = all(abs(got.get(k, 0.0) - v) <= 1e-6 * max(1.0, v) for k, v in expected.items())
        same += ok and all(k in expected for k in got)
    return f"{same}/{len(checked)}"
