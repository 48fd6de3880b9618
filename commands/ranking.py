"""Rankings for /top: the year and source compared (`Window`), values per item (partner or HS group) this
year and last, shares and growth, and the reply: monospace table, bar chart, CSV and machine-readable numbers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from commands.charts import ranking_chart
from commands.context import Context
from commands.errors import InvalidInput, NoData
from commands.replies import Attachment, Citation, Field, Reply
from commands.tables import csv_bytes, monospace_table
from commands.trade_common import (
    chart_source_line,
    fetch_if_possible,
    fmt_pct,
    fmt_usd,
    no_data_error,
    pct_change,
    period_label,
)
from db.queries import trade as tq
from db.queries.trade import SourceCoverage, TradeScope

TOP_N = 10


@dataclass(frozen=True)
class RankedItem:
    """One line of a ranking."""

    rank: int
    key: str  # partner code or HS code, as text
    name: str
    value_usd: float
    previous_value_usd: float | None
    share_pct: float | None
    growth_pct: float | None


@dataclass(frozen=True)
class Ranking:
    """A full ranking with its totals; `total_basis` says what shares are shares of."""

    items: list[RankedItem]
    total_usd: float
    previous_total_usd: float | None
    total_basis: str
    dropped: list[tuple[str, str, float]]  # (key, name, previous value) for items with no value this year

    @property
    def top(self) -> list[RankedItem]:
        return self.items[:TOP_N]

    def to_numbers(self) -> dict[str, object]:
        """Top 10, totals and counts (the CSV has the full ranking)."""
        return {
            "total_usd": self.total_usd,
            "previous_total_usd": self.previous_total_usd,
            "total_change_pct": pct_change(self.total_usd, self.previous_total_usd),
            "total_basis": self.total_basis,
            "count": len(self.items),
            "top": [
                {
                    "rank": i.rank,
                    "code": i.key,
                    "name": i.name,
                    "value_usd": i.value_usd,
                    "share_pct": i.share_pct,
                    "previous_value_usd": i.previous_value_usd,
                    "growth_pct": i.growth_pct,
                }
                for i in self.top
            ],
        }


def rank(
    current: Mapping[str, float | None],
    previous: Mapping[str, float | None],
    names: Mapping[str, str],
    *,
    total: float | None = None,
    previous_total: float | None = None,
    total_basis: str,
) -> Ranking:
    """Rank items by this year's value (largest first; ties by key so the order is stable).

    Args:
        current, previous: values per item key; None or absent = no data (never treated as zero).
        names: display names per key.
        total: the denominator of shares when the source has one (e.g. an all-goods TOTAL row);
            default the sum of the items.
    """
    present = {k: v for k, v in current.items() if v is not None and v > 0}
    ordered = sorted(present.items(), key=lambda kv: (-kv[1], kv[0]))
    denominator = total if total else sum(present.values())
    prev_sum = [v for k, v in previous.items() if v is not None]
    prev_denominator = previous_total if previous_total else (sum(prev_sum) if prev_sum else None)
    items = [
        RankedItem(
            rank=i + 1,
            key=key,
            name=names.get(key, key),
            value_usd=value,
            previous_value_usd=previous.get(key),
            share_pct=value / denominator * 100 if denominator else None,
            growth_pct=pct_change(value, previous.get(key)),
        )
        for i, (key, value) in enumerate(ordered)
    ]
    dropped = sorted(
        ((k, names.get(k, k), v) for k, v in previous.items() if v and k not in present), key=lambda t: -t[2]
    )
    return Ranking(items, denominator, prev_denominator, total_basis, dropped)


def growth_text(item: RankedItem) -> str:
    return "new" if item.previous_value_usd in (None, 0) else fmt_pct(item.growth_pct)


def ranking_table(ranking: Ranking, year: int, label: str, name_width: int = 22) -> str:
    """Top 10 as a monospace table: rank, name, value, share, previous value, growth."""
    rows = [
        [
            str(i.rank),
            i.name if len(i.name) <= name_width else i.name[: name_width - 1] + "…",
            fmt_usd(i.value_usd),
            f"{i.share_pct:.1f}%" if i.share_pct is not None else "n/a",
            fmt_usd(i.previous_value_usd),
            growth_text(i),
        ]
        for i in ranking.top
    ]
    header = ["#", label, str(year), "Share", str(year - 1), "Growth"]
    return monospace_table(header, rows, right=[True, False, True, True, True, True])


def ranking_csv(ranking: Ranking, year: int, key_name: str, extra: Mapping[str, object]) -> bytes:
    """The full ranking (and items that had value only last year), with constant context columns."""
    header = [
        "rank",
        key_name,
        "name",
        f"value_usd_{year}",
        "share_pct",
        f"value_usd_{year - 1}",
        "growth_pct",
        *extra,
    ]
    rows: list[list[object]] = [
        [
            i.rank,
            i.key,
            i.name,
            i.value_usd,
            _round(i.share_pct),
            i.previous_value_usd,
            _round(i.growth_pct),
            *extra.values(),
        ]
        for i in ranking.items
    ]
    rows += [["", key, name, None, None, prev, None, *extra.values()] for key, name, prev in ranking.dropped]
    return csv_bytes(header, rows)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def chart(
    ranking: Ranking, *, title: str, subtitle: str, source: str, labels: Iterable[str] | None = None
) -> bytes:
    """The top-10 bar chart (CPU-bound; run in a thread)."""
    top = ranking.top
    names = list(labels) if labels is not None else [i.name for i in top]
    notes = [
        (f"{i.share_pct:.1f}%" if i.share_pct is not None else "") + f" · {growth_text(i)} y/y" for i in top
    ]
    return ranking_chart(
        title=title,
        subtitle=subtitle,
        source=source,
        labels=names,
        values=[i.value_usd for i in top],
        notes=notes,
    )


def short(name: str, width: int = 40) -> str:
    """A name cut to `width` characters with an ellipsis."""
    return name if len(name) <= width else name[: width - 1] + "…"


@dataclass(frozen=True)
class Window:
    """What a ranking compares: the year, the one source, the other candidates and the periods used."""

    year: int
    chosen: SourceCoverage
    coverage: list[SourceCoverage]
    periods: list[int]  # the year's periods with data, and the same periods a year earlier

    def text(self) -> str:
        """`full year 2023 vs 2022`, or which months were compared when the year is incomplete."""
        year = self.year
        if self.chosen.freq == "A":
            return f"annual totals, {year} vs {year - 1}"
        months = sorted(p for p in self.periods if p // 100 == year)
        if len(months) == 12:
            return f"full year {year} vs {year - 1}"
        listed = ", ".join(period_label(p)[5:] for p in months) or "none"
        return (
            f"the {len(months)} months of {year} with data (months {listed}) vs the same months of {year - 1}"
        )


async def pick_window(
    ctx: Context, scope: TradeScope, what: str, requested: int | None, *, fetch: bool
) -> Window:
    """Pick the year (default: the latest with data), the one source (a complete year first), and the periods.

    Raises:
        InvalidInput: a future year. NoData: nothing loaded (after asking the fetcher, if `fetch`).
    """
    year = requested
    if year is not None and year > ctx.now().year:
        raise InvalidInput(f"{year} is in the future.", f"Ask for {ctx.now().year} or earlier.")
    if year is None:
        latest = await tq.latest_period(ctx.session, scope)
        if latest is None:
            raise await no_data_error(ctx, scope, what)
        year = latest // 100
    coverage = await tq.source_coverage(ctx.session, scope, year)
    note = None
    if not coverage and fetch:
        loaded, note = await fetch_if_possible(ctx, scope, [year - 1, year])
        coverage = await tq.source_coverage(ctx.session, scope, year) if loaded else []
    chosen = tq.choose_source(coverage, prefer_monthly=False)
    if chosen is None:
        raise await no_data_error(ctx, scope, what, year=year, fetch_note=note)
    if chosen.freq == "A":
        return Window(year, chosen, coverage, [year * 100, (year - 1) * 100])
    months = await tq.periods_present(ctx.session, scope, chosen.source_id, chosen.freq, year)
    return Window(year, chosen, coverage, [*months, *(p - 100 for p in months)])


@dataclass(frozen=True)
class ReplySpec:
    """What differs between /top partners and /top goods replies."""

    title: str
    subtitle: str
    fields: list[Field]
    numbers: dict[str, object]
    key_name: str
    stem: str
    labels: list[str] | None = None


def summary_lines(ranking: Ranking, window: Window) -> list[str]:
    """Totals, what was compared, the top 3, and caveats about shares and dropped items."""
    year, top = window.year, ranking.top
    change = fmt_pct(pct_change(ranking.total_usd, ranking.previous_total_usd))
    lines = [
        f"{year} total: {fmt_usd(ranking.total_usd)} ({ranking.total_basis}); {year - 1}: "
        f"{fmt_usd(ranking.previous_total_usd)} ({change}).",
        f"Compared: {window.text()}.",
        "Top 3: "
        + "; ".join(f"{short(i.name)} {fmt_usd(i.value_usd)} ({i.share_pct or 0:.1f}%)" for i in top[:3])
        + ".",
    ]
    if ranking.total_basis.startswith("sum of the goods"):
        lines.append(
            f"This source holds only {len(ranking.items)} HS codes for this pair: shares are of those, "
            "not of all trade between the two."
        )
    elif ranking.total_basis.startswith("sum of the"):
        lines.append(
            f"Shares are of the sum of the {len(ranking.items)} partners this source holds for the year "
            "(it has no World total)."
        )
    if ranking.dropped:
        lines.append(f"{len(ranking.dropped)} with value in {year - 1} but none in {year} (in the CSV).")
    return lines


async def ranking_reply(
    ranking: Ranking, window: Window, citations: list[Citation], spec: ReplySpec
) -> Reply:
    """The common shape of both rankings: summary, fields, chart (drawn in a thread), CSV and numbers.

    Raises:
        NoData: no item has a positive value in the year.
    """
    chosen, year = window.chosen, window.year
    if not ranking.items:
        raise NoData(f"No positive values for {year} in {chosen.source_title}.")
    source_line = chart_source_line(citations, chosen.source_title)
    png = await asyncio.to_thread(
        chart, ranking, title=spec.title, subtitle=spec.subtitle, source=source_line, labels=spec.labels
    )
    numbers = {
        **spec.numbers,
        "year": year,
        **ranking.to_numbers(),
        "source": {
            "key": chosen.source_key,
            "title": chosen.source_title,
            "freq": chosen.freq,
            "data_date": citations[0].data_date if citations else None,
        },
        "periods": [period_label(p) for p in sorted(window.periods)],
    }
    table = ranking_csv(ranking, year, spec.key_name, {"source": chosen.source_title, "freq": chosen.freq})
    stem = spec.stem.lower()
    return Reply(
        title=spec.title,
        summary=summary_lines(ranking, window),
        fields=spec.fields,
        citations=citations,
        numbers=numbers,
        attachments=[
            Attachment(f"{stem}.png", png, f"Top {len(ranking.top)}, {year}"),
            Attachment(f"{stem}.csv", table, "The full ranking"),
        ],
    )
