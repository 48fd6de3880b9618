"""Rankings for /top: values per item (partner or HS group) this year and last, shares and growth, as a
monospace table, a bar chart, a CSV and machine-readable numbers. Pure functions on plain numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from commands.charts import ranking_chart
from commands.tables import csv_bytes, monospace_table
from commands.trade_common import fmt_pct, fmt_usd, pct_change

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
