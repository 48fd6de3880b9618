"""/brief figures: the whole command (list changes, the movers of the focus commodities to the focus partners,
the /sources judgement, chart PNG, CSV, reply) against pandas computing the same movers over the same rows.

The rows are SYNTHETIC (bench/gen_trade.py). The focus is the default one (commands/focus.py) with the biggest
generated reporter as the reporter when China is not among them; the partners are the focus countries the
generated data holds.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bench.stats import Figure, Target, from_timings, time_async, time_calls
from commands.anomalies import SPAN_MONTHS
from commands.basis import shift
from commands.brief import BriefParams, run_brief
from commands.context import Context
from commands.focus import Focus
from commands.movers import focus_groups
from db.engine import make_engine, make_sessionmaker
from db.lookups import Lookups

COMMAND_P95_MS = 1000.0


def bench_focus(df: pd.DataFrame, lookups: Lookups) -> Focus:
    """The default focus commodities; the reporter China if the generated rows hold it (else the biggest), and
    as partners the ten countries it exports most rows of the focus commodities to (the generated partners are
    not the real focus countries)."""
    reporters = df.reporter.value_counts()
    code = 156 if 156 in reporters.index else int(reporters.index[0])
    country = lookups.by_code.get(code)
    reporter = country.iso2 if country and country.iso2 else str(code)
    groups, _ = focus_groups(Focus(), lookups)
    prefixes = tuple(p for g in groups for p in g.prefixes)
    rows = df[(df.reporter == code) & (df.flow == 0)]
    rows = rows[rows.hs.astype(str).str.zfill(6).str.startswith(prefixes)]
    partners = [lookups.by_code.get(int(p)) for p in rows.partner.value_counts().index]
    iso2 = [c.iso2 for c in partners if c is not None and c.iso2][:10]
    return Focus(reporter=reporter, countries=tuple(iso2) or Focus().countries)


def pandas_movers(df: pd.DataFrame, focus: Focus, lookups: Lookups) -> dict[tuple[str, int], float]:
    """The same movers with boolean masks: per commodity and partner, the span's average month over the
    average of the 12 months before (months with data), on the latest month of the focus rows."""
    groups, _ = focus_groups(focus, lookups)
    reporter = lookups.country(focus.reporter)
    assert reporter is not None
    partners = [
        c.code for code in focus.countries if (c := lookups.country(code)) and c.code != reporter.code
    ]
    rows = df[(df.reporter == reporter.code) & (df.flow == 0) & df.partner.isin(partners)]
    out: dict[tuple[str, int], float] = {}
    if rows.empty:
        return out
    text = rows.hs.astype(str).str.zfill(6)
    latest = int(rows.period.max())
    first = max(latest // 100 * 100 + 1, shift(latest, -(SPAN_MONTHS - 1)))
    trailing = [shift(first, -k) for k in range(1, 13)]
    for group in groups:
        picked = rows[text.str.startswith(tuple(group.prefixes))]
        by = picked.groupby(["partner", "period"]).value.sum()
        for partner in picked.partner.unique():
            series = by.loc[partner]
            now = series[(series.index >= first) & (series.index <= latest)]
            before = series[series.index.isin(trailing)]
            if len(now) and len(before) and before.mean() > 0:
                out[(group.key, int(partner))] = float(now.mean() / before.mean())
    return out


async def measure(url: str, backend: str, queries: int, lookups: Lookups, df: pd.DataFrame) -> list[Figure]:
    """The whole /brief on one backend, with its pandas baseline measured in the same run."""
    focus = bench_focus(df, lookups)
    asks = [f"{1 + i % 30}d" for i in range(queries)]
    baseline = (
        "pandas boolean masks (movers only)",
        time_calls(lambda _: pandas_movers(df, focus, lookups), asks)[0],
    )
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)

    async def brief(since: str) -> Any:
        async with sessions() as session:
            return await run_brief(Context(session=session, lookups=lookups, focus=focus), BriefParams(since))

    try:
        await time_async(brief, asks[:2])  # the first chart pays matplotlib's font cache
        timings, replies = await time_async(brief, asks)
    finally:
        await engine.dispose()
    return [
        from_timings(
            "/brief whole command (list changes, movers, sources; chart PNG, CSV)", "brief", backend, timings,
            baseline=baseline, target=Target(COMMAND_P95_MS), note="commands.brief.run_brief",
            agree_with_pandas=_agreement(replies[0], pandas_movers(df, focus, lookups)),
            focus_reporter=focus.reporter, focus_partners=",".join(focus.countries),
        )
    ]  # fmt: skip


def _agreement(reply: Any, expected: dict[tuple[str, int], float]) -> str:
    """Whether every mover the reply shows has pandas' multiple (the min-base rule may leave some out)."""
    shown = [*reply.numbers["movers"]["rises"], *reply.numbers["movers"]["falls"]]
    same = sum(
        1
        for m in shown
        if abs(expected.get((m["commodity"], m["partner_code"]), -1.0) - m["multiple_of_trailing_average"])
        <= 1e-6 * max(1.0, m["multiple_of_trailing_average"])
    )
    return f"{same}/{len(shown)} movers"
