"""Rankings for /top: the basis and source compared (`Window`), each item's (partner or HS group) figure over
the span in the measure asked for, its share, and its change against the base under the one missing-months
rule of commands.basis (so /top and /exports give the same change for the same flow), and the reply:
monospace table, bar chart, CSV and machine-readable numbers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from commands.basis import MISSING_MONTHS_RULE, Basis, Comparison, Peak, compare, make_basis, peak
from commands.charts import measure_unit, ranking_chart
from commands.context import Context
from commands.errors import InvalidInput, NoData
from commands.measures import Measure
from commands.replies import Attachment, Citation, Field, Reply
from commands.tables import csv_bytes, monospace_table
from commands.trade_common import (
    NOTES_FIELD,
    chart_source_line,
    fetch_if_possible,
    fmt_pct,
    no_data_error,
    period_label,
)
from db.queries import trade as tq
from db.queries.trade import Amount, KeyAmount, SourceCoverage, TradeScope

TOP_N = 10


@dataclass(frozen=True)
class RankedItem:
    """One line of a ranking: the span's figure, its share, and the comparison with the base (one rule)."""

    rank: int
    key: str  # partner code or HS code, as text
    name: str
    figure: float
    share_pct: float | None
    comparison: Comparison

    @property
    def base_figure(self) -> float | None:
        return self.comparison.base_total

    @property
    def growth_pct(self) -> float | None:
        return self.comparison.change_pct

    @property
    def partial(self) -> bool:
        """True when the growth rests on fewer months than the span (the rule left some out)."""
        return not self.comparison.all_months_compared


@dataclass(frozen=True)
class Ranking:
    """A full ranking with its total series; `total_basis` says what shares are shares of."""

    items: list[RankedItem]
    total: Comparison
    total_basis: str
    dropped: list[tuple[str, str, float]]  # (key, name, base figure) for items with no figure this span
    peak: Peak | None = None

    @property
    def top(self) -> list[RankedItem]:
        return self.items[:TOP_N]

    def to_numbers(self) -> dict[str, object]:
        """Top 10, totals and counts (the CSV has the full ranking)."""
        return {
            "measure": self.total.measure.key,
            "unit": self.total.measure.unit,
            "total": self.total.total,
            "base_total": self.total.base_total,
            "total_comparison": self.total.to_numbers(),
            "total_basis": self.total_basis,
            "peak": self.peak.to_numbers() if self.peak else None,
            "count": len(self.items),
            "top": [
                {
                    "rank": i.rank,
                    "code": i.key,
                    "name": i.name,
                    "figure": i.figure,
                    "share_pct": i.share_pct,
                    "base_figure": i.base_figure,
                    "growth_pct": i.growth_pct,
                    "months_compared": list(i.comparison.compared),
                }
                for i in self.top
            ],
        }


def by_key(rows: Iterable[KeyAmount]) -> dict[str, dict[int, Amount]]:
    """Per key, per period: the amounts added up (several snapshots of one period are one figure)."""
    out: dict[str, dict[int, Amount]] = {}
    for row in rows:
        periods = out.setdefault(row.key, {})
        periods[row.period] = periods[row.period] + row.amount if row.period in periods else row.amount
    return out


def sum_keys(series: Mapping[str, Mapping[int, Amount]]) -> dict[int, Amount]:
    """The total series: per period, every key's amount added."""
    out: dict[int, Amount] = {}
    for periods in series.values():
        for period, amount in periods.items():
            out[period] = out[period] + amount if period in out else amount
    return out


def rank(
    series: Mapping[str, Mapping[int, Amount]],
    names: Mapping[str, str],
    basis: Basis,
    measure: Measure,
    freq: str,
    *,
    total_series: Mapping[int, Amount] | None = None,
    total_basis: str,
) -> Ranking:
    """Rank items by their figure over the span (largest first; ties by key so the order is stable).

    Args:
        series: per item key, its amounts per period; an absent period is no data (never zero).
        names: display names per key.
        total_series: the denominator of shares when the source has one (a World or all-goods TOTAL row);
            default the items added up.
    """
    comparisons = {k: compare(v, basis, measure, freq) for k, v in series.items()}
    present = {k: c.total for k, c in comparisons.items() if c.total is not None and c.total > 0}
    ordered = sorted(present.items(), key=lambda kv: (-kv[1], kv[0]))
    totals = dict(total_series) if total_series else sum_keys(series)
    total = compare(totals, basis, measure, freq)
    denominator = total.total if measure.additive else None
    items = [
        RankedItem(
            i + 1,
            key,
            names.get(key, key),
            figure,
            figure / denominator * 100 if denominator else None,
            comparisons[key],
        )
        for i, (key, figure) in enumerate(ordered)
    ]
    dropped = sorted(
        (
            (k, names.get(k, k), c.base_total)
            for k, c in comparisons.items()
            if c.base_total and k not in present
        ),
        key=lambda t: -t[2],
    )
    top = peak(totals, basis, measure) if freq == "M" else None
    return Ranking(items, total, total_basis, dropped, top)


def growth_text(item: RankedItem) -> str:
    if item.comparison.base_compared in (None, 0):
        return "new" if not item.base_figure else "n/a"
    return fmt_pct(item.growth_pct) + ("*" if item.partial else "")


def ranking_table(ranking: Ranking, basis: Basis, label: str, name_width: int = 22) -> str:
    """Top 10 as a monospace table: rank, name, figure, share, base figure, growth (* = fewer months)."""
    measure = ranking.total.measure
    rows = [
        [
            str(i.rank),
            i.name if len(i.name) <= name_width else i.name[: name_width - 1] + "…",
            measure.fmt(i.figure),
            f"{i.share_pct:.1f}%" if i.share_pct is not None else "n/a",
            measure.fmt(i.base_figure),
            growth_text(i),
        ]
        for i in ranking.top
    ]
    header = ["#", label, basis.span(), "Share", basis.span(basis.base_year), "Growth"]
    table = monospace_table(header, rows, right=[True, False, True, True, True, True])
    if any(i.partial for i in ranking.top):
        table += "\n* over the months with data in both years only (the comparison rule)"
    return table


def ranking_csv(ranking: Ranking, basis: Basis, key_name: str, extra: Mapping[str, object]) -> bytes:
    """The full ranking (and items that had a figure only in the base year), with constant context columns."""
    column = ranking.total.measure.column
    header = [
        "rank",
        key_name,
        "name",
        f"{column}_{basis.year}",
        "share_pct",
        f"{column}_{basis.base_year}",
        "growth_pct",
        "months_compared",
        *extra,
    ]
    rows: list[list[object]] = [
        [
            i.rank,
            i.key,
            i.name,
            i.figure,
            _round(i.share_pct),
            i.base_figure,
            _round(i.growth_pct),
            " ".join(str(m) for m in i.comparison.compared),
            *extra.values(),
        ]
        for i in ranking.items
    ]
    rows += [
        ["", key, name, None, None, base, None, "", *extra.values()] for key, name, base in ranking.dropped
    ]
    return csv_bytes(header, rows)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def chart(
    ranking: Ranking, *, title: str, subtitle: str, source: str, labels: Iterable[str] | None = None
) -> bytes:
    """The top-10 bar chart (CPU-bound; run in a thread)."""
    top = ranking.top
    names = list(labels) if labels is not None else [i.name for i in top]
    notes = [(f"{i.share_pct:.1f}%" if i.share_pct is not None else "") + f" · {growth_text(i)}" for i in top]
    measure = ranking.total.measure
    values = [i.figure for i in top]
    return ranking_chart(
        title=title,
        subtitle=subtitle,
        source=source,
        labels=names,
        values=values,
        notes=notes,
        unit=measure_unit(measure.key, values, measure.unit),
    )


def short(name: str, width: int = 40) -> str:
    """A name cut to `width` characters with an ellipsis."""
    return name if len(name) <= width else name[: width - 1] + "…"


@dataclass(frozen=True)
class Window:
    """What a ranking compares: the basis, the one source, the other candidates and the periods read."""

    basis: Basis
    chosen: SourceCoverage
    coverage: list[SourceCoverage]

    @property
    def year(self) -> int:
        return self.basis.year

    @property
    def periods(self) -> list[int]:
        return self.basis.periods(self.chosen.freq)

    def text(self) -> str:
        """`2023 vs 2022, annual totals` / `Jan–May 2023 vs Jan–May 2021, monthly`."""
        b = self.basis
        kind = "annual totals" if self.chosen.freq == "A" else "monthly data"
        return f"{b.span()} vs {b.span(b.base_year)}, {kind}"


async def pick_window(
    ctx: Context,
    scope: TradeScope,
    what: str,
    requested: int | None,
    *,
    fetch: bool,
    vs: int | None = None,
    months: tuple[int, int] | None = None,
) -> Window:
    """Pick the year (default: the latest with data), the basis and the one source (a complete year first).

    Raises:
        InvalidInput: a future year, or a base equal to the year. NoData: nothing loaded (after asking the
            fetcher, if `fetch`), or months asked of a source with annual totals only.
    """
    year = requested
    if year is not None and year > ctx.now().year:
        raise InvalidInput(f"{year} is in the future.", f"Ask for {ctx.now().year} or earlier.")
    if year is None:
        latest = await tq.latest_period(ctx.session, scope)
        if latest is None:
            raise await no_data_error(ctx, scope, what)
        year = latest // 100
    basis = make_basis(year, vs, months)
    coverage = await tq.source_coverage(ctx.session, scope, year)
    note = None
    if not coverage and fetch:
        loaded, note = await fetch_if_possible(ctx, scope, sorted({basis.base_year, year}))
        coverage = await tq.source_coverage(ctx.session, scope, year) if loaded else []
    chosen = tq.choose_source(coverage, prefer_monthly=False)
    if chosen is None:
        raise await no_data_error(ctx, scope, what, year=year, fetch_note=note)
    if chosen.freq == "A" and months is not None:
        raise NoData(
            f"{chosen.source_title} holds only annual totals for {what}: months= cannot be answered from it.",
            "Ask for the whole year (leave out months=), or load monthly data.",
        )
    return Window(basis, chosen, coverage)


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
    chart_title: str | None = None  # a shorter title for the chart (default `title`)


def summary_lines(ranking: Ranking, window: Window) -> list[str]:
    """Totals and the quotable multiple, the peak month, the top 3, and caveats about shares and dropped items."""
    basis, total, top = window.basis, ranking.total, ranking.top
    measure = total.measure
    lines = [
        f"{basis.span()} total: {measure.fmt(total.total)} ({ranking.total_basis}); "
        f"{basis.span(basis.base_year)}: {measure.fmt(total.base_total)}.",
        f"{basis.span()} = {total.quote()}"
        + (f", {fmt_pct(total.change_pct)}." if total.change_pct is not None else "."),
    ]
    if ranking.peak is not None:
        lines.append(ranking.peak.words(measure))
    lines.append(
        "Top 3: "
        + "; ".join(
            f"{short(i.name)} {measure.fmt(i.figure)}"
            + (f" ({i.share_pct:.1f}%)" if i.share_pct is not None else "")
            for i in top[:3]
        )
        + "."
    )
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
        lines.append(
            f"{len(ranking.dropped)} with a figure in {basis.span(basis.base_year)} but none in {basis.span()} "
            "(in the CSV)."
        )
    return lines


async def ranking_reply(
    ranking: Ranking, window: Window, citations: list[Citation], spec: ReplySpec, notes: Sequence[str] = ()
) -> Reply:
    """The common shape of both rankings: summary, fields, chart (drawn in a thread), CSV and numbers.
    `notes`: extra lines (e.g. anomaly flags) for one "Notes" field after the comparison rule.

    Raises:
        NoData: no item has a positive value in the year.
    """
    chosen, year, basis = window.chosen, window.year, window.basis
    if not ranking.items:
        measure = ranking.total.measure
        hint = (
            None
            if measure.key == "value"
            else f"The source reports no {measure.noun} here; try measure=value."
        )
        raise NoData(f"No positive {measure.noun} figures for {basis.span()} in {chosen.source_title}.", hint)
    source_line = chart_source_line(citations, chosen.source_title)
    png = await asyncio.to_thread(
        chart,
        ranking,
        title=spec.chart_title or spec.title,
        subtitle=spec.subtitle,
        source=source_line,
        labels=spec.labels,
    )
    numbers = {
        **spec.numbers,
        "year": year,
        "base_year": basis.base_year,
        "months": [basis.first, basis.last],
        **ranking.to_numbers(),
        "source": {
            "key": chosen.source_key,
            "title": chosen.source_title,
            "freq": chosen.freq,
            "data_date": citations[0].data_date if citations else None,
        },
        "periods": [period_label(p) for p in sorted(window.periods)],
    }
    table = ranking_csv(ranking, basis, spec.key_name, {"source": chosen.source_title, "freq": chosen.freq})
    stem = spec.stem.lower()
    return Reply(
        title=spec.title,
        summary=summary_lines(ranking, window),
        fields=[
            *spec.fields,
            Field("Comparison rule", MISSING_MONTHS_RULE),
            *([Field(NOTES_FIELD, "\n".join(f"• {n}" for n in notes))] if notes else []),
        ],
        citations=citations,
        numbers=numbers,
        attachments=[
            Attachment(f"{stem}.png", png, f"Top {len(ranking.top)}, {basis.span()}"),
            Attachment(f"{stem}.csv", table, "The full ranking"),
        ],
    )
