"""Thresholds for calling a trade figure unusual, and the anomaly flags: the one place they are written.

Used by /brief's trade movers (commands/movers.py) and the flags on /exports, /top and /compare. The rule: a month
(or the average month of a span) is a mover when it is at least `RISE_MULTIPLE` times, or at most `FALL_MULTIPLE`
times, its base: the average of the 12 months before it (commands.basis.TRAILING_MONTHS), or the same months of the
base year under the one missing-months rule (commands.basis). A base under `MIN_BASE_USD_PER_MONTH` is too small to
multiply: a jump from $2,000 to $900,000 a month is news only if someone checks it by hand, so no multiple is
ranked on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from commands.basis import MONTH_NAMES, TRAILING_MONTHS, fmt_times, shift
from commands.measures import VALUE
from db.queries.movers import monthly_history
from db.queries.trade import TradeScope

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

MIN_BASE_USD_PER_MONTH = 100_000.0
RISE_MULTIPLE = 2.0
FALL_MULTIPLE = 0.5
SPAN_MONTHS = 3  # the latest months a mover is judged on (within the latest year of data)
TOP_MOVERS = 5  # rises and falls each
FLAG_TRAILING_MULTIPLE = 3.0  # "N× the trailing 12-month average" from this multiple
GAP_MONTHS = 24  # "first trade since YEAR": no month with trade for at least this long before
MIN_HISTORY_MONTHS = 24  # "highest month on record" needs records going back at least this far
FLAGS_RULE = (
    f"Flags: the highest month since records began ({MIN_HISTORY_MONTHS}+ months back), "
    f"{FLAG_TRAILING_MULTIPLE:g}× or more the trailing 12-month average, the first trade after {GAP_MONTHS}+ months "
    f"without; never on a month or an average under ${MIN_BASE_USD_PER_MONTH:,.0f}."
)


def rule_words() -> str:
    """The rule in a sentence, for replies and docs."""
    return (
        f"Movers: the average month of the latest {SPAN_MONTHS} months of data against the average of the "
        f"12 months before them and against the same months of the base year; ranked only where the base is at "
        f"least ${MIN_BASE_USD_PER_MONTH:,.0f} a month; the biggest rises and falls against the trailing average "
        f"first, flagged when {RISE_MULTIPLE:g}× or more, or {FALL_MULTIPLE:g}× or less."
    )


def _month(period: int) -> str:
    return f"{MONTH_NAMES[period % 100 - 1]} {period // 100}"


def anomaly_flags(history: Mapping[int, float], span: Sequence[int]) -> list[str]:
    """The flags for the months `span` (YYYYMM) of one monthly series, against `history` (every month's value
    the source holds up to the span's end; a month it does not hold had no trade reported). See FLAGS_RULE."""
    flags: list[str] = []
    in_span = [(p, history[p]) for p in span if history.get(p) is not None]
    if not in_span:
        return flags
    first_data = min(history)
    top_period, top = max(in_span, key=lambda pv: (pv[1], -pv[0]))
    if top >= MIN_BASE_USD_PER_MONTH:
        earlier = [v for p, v in history.items() if p < top_period]
        months_back = (top_period // 100 - first_data // 100) * 12 + top_period % 100 - first_data % 100
        if earlier and top > max(earlier) and months_back >= MIN_HISTORY_MONTHS:
            flags.append(
                f"{_month(top_period)} was the highest month on record at the time ({VALUE.fmt(top)}; records from "
                f"{_month(first_data)})."
            )
        # The months with data among the 12 before, as /exports' peak line (commands.basis.peak) counts them.
        before = [
            v for k in range(1, TRAILING_MONTHS + 1) if (v := history.get(shift(top_period, -k))) is not None
        ]
        average = sum(before) / len(before) if before else 0.0
        if average >= MIN_BASE_USD_PER_MONTH and top / average >= FLAG_TRAILING_MULTIPLE:
            flags.append(
                f"{_month(top_period)} is {fmt_times(top / average)} the trailing 12-month average "
                f"({VALUE.fmt(average)} a month)."
            )
    for period, value in in_span:
        if value <= 0:
            continue
        previous = [p for p, v in history.items() if p < period and v > 0]
        if previous:
            last = max(previous)
            gap = (period // 100 - last // 100) * 12 + period % 100 - last % 100 - 1
            if gap >= GAP_MONTHS and value >= MIN_BASE_USD_PER_MONTH:
                flags.append(
                    f"{_month(period)}: the first trade since {last // 100} ({VALUE.fmt(value)}; none recorded "
                    f"from {_month(shift(last, 1))} to {_month(shift(period, -1))})."
                )
        break  # only the span's first month with trade can be a first
    return flags


async def flags_by_partner(
    session: AsyncSession,
    scope: TradeScope,
    source_id: int,
    levels: dict[str, int],
    span: Sequence[int],
    partners: Sequence[int] | None = None,
) -> dict[int, list[str]]:
    """The flags of each partner's series over `span` (a monthly source only), read from its whole history."""
    if not span:
        return {}
    history = await monthly_history(session, scope, source_id, levels, max(span), partners)
    series: dict[int, dict[int, float]] = {}
    for (partner, period), value in history.items():
        series.setdefault(partner, {})[period] = value
    return {p: flags for p, values in series.items() if (flags := anomaly_flags(values, span))}
