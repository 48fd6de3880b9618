"""The shapes trade queries take and return: the question's scope, a source's coverage, and amounts.

Plain frozen dataclasses (and the sum of amounts), apart from the queries in `db.queries.trade` so that the
command modules that only handle figures need not read the SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class TradeScope:
    """What a question asks about: reporter, flow ("X"/"M"), HS prefixes and optionally one partner.

    An empty `prefixes` tuple means every HS code (the all-goods `TOTAL` rows excluded); the prefix
    `db.queries.trade.ALL_GOODS_CODE` ("TOTAL") means the all-goods rows themselves.
    """

    reporter: int
    flow: str
    prefixes: tuple[str, ...] = ()
    partner: int | None = None


@dataclass(frozen=True)
class SourceCoverage:
    """How much of a year one source holds for a scope, at one frequency."""

    source_id: int
    source_key: str
    source_title: str
    freq: str
    periods: int  # distinct months (freq M) or 1 (freq A)
    rows: int

    @property
    def complete(self) -> bool:
        return self.freq == "A" or self.periods >= 12


@dataclass(frozen=True)
class Amount:
    """What the rows of one period (and one key) add up to, for every measure.

    `weight_kg` is None unless every row has a weight (net weight, or a quantity in kg); `qty` is None unless
    every row has a quantity and all share one unit. A partial sum is never passed off as the period's figure.
    """

    value_usd: float | None
    weight_kg: float | None = None
    qty: float | None = None
    qty_unit: str | None = None
    weight_from_qty: bool = False  # some weights are quantities in kg (no net weight reported)

    def __add__(self, other: Amount) -> Amount:
        value = (
            None
            if self.value_usd is None and other.value_usd is None
            else (self.value_usd or 0.0) + (other.value_usd or 0.0)
        )
        weight = (
            None if self.weight_kg is None or other.weight_kg is None else self.weight_kg + other.weight_kg
        )
        same_unit = self.qty_unit == other.qty_unit
        qty = None if self.qty is None or other.qty is None or not same_unit else self.qty + other.qty
        return Amount(
            value,
            weight,
            qty,
            self.qty_unit if qty is not None else None,
            self.weight_from_qty or other.weight_from_qty,
        )


def add_amounts(amounts: Iterable[Amount]) -> Amount | None:
    """The sum of several amounts (None for none)."""
    total: Amount | None = None
    for amount in amounts:
        total = amount if total is None else total + amount
    return total


@dataclass(frozen=True)
class CodeValue:
    """The value of one HS code in one period (one snapshot), with its weight and quantity in `amount`."""

    hs_code: str
    period: int
    value_usd: float | None
    snapshot_id: int
    amount: Amount | None = None

    @property
    def totals(self) -> Amount:
        return self.amount or Amount(self.value_usd)


@dataclass(frozen=True)
class KeyAmount:
    """One key's (a partner, or an HS group at one level) amount in one period, from one snapshot."""

    key: str
    level: int
    period: int
    amount: Amount
    snapshot_id: int
