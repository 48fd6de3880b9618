"""What a trade answer measures: value (US$), weight (kg), quantity (in its unit) or unit value ($/kg).

A `Measure` reads one figure from an `Amount` (the sums of one period's rows) and adds up several periods.
A period whose rows lack the measure (no weight reported, quantities in several units) has no figure: it is
named as missing, never counted as zero. Weight is the reported net weight, or the reported quantity when
its unit is kilograms (the WCO standard unit of many headings, e.g. graphite and unwrought metals).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from commands.errors import InvalidInput
from db.queries.trade import Amount

_ALIASES = {
    "value": "value",
    "usd": "value",
    "$": "value",
    "weight": "weight",
    "kg": "weight",
    "tonnes": "weight",
    "t": "weight",
    "volume": "weight",
    "quantity": "quantity",
    "qty": "quantity",
    "unit-value": "unit-value",
    "unit value": "unit-value",
    "unitvalue": "unit-value",
    "unit_value": "unit-value",
    "price": "unit-value",
    "uv": "unit-value",
}


def fmt_usd(value: float | None) -> str:
    """`$8.41M`, `$512.3K`, `$1.23B`; `no data` for None."""
    if value is None:
        return "no data"
    size = abs(value)
    if size >= 1e9:
        return f"${value / 1e9:,.2f}B"
    if size >= 1e6:
        return f"${value / 1e6:,.2f}M"
    if size >= 1e3:
        return f"${value / 1e3:,.1f}K"
    return f"${value:,.0f}"


def fmt_kg(kg: float | None) -> str:
    """`512 kg`, `12.3 t`, `4,567 t`, `1.23 million t`; `no data` for None."""
    if kg is None:
        return "no data"
    tonnes = kg / 1000
    if abs(tonnes) < 1:
        return f"{kg:,.0f} kg"
    if abs(tonnes) < 100:
        return f"{tonnes:,.1f} t"
    if abs(tonnes) < 1e6:
        return f"{tonnes:,.0f} t"
    return f"{tonnes / 1e6:,.2f} million t"


@dataclass(frozen=True)
class Measure:
    """One measure: its key, the words answers use, and how to read and add it."""

    key: str
    noun: str  # "value", "weight", "quantity", "unit value"
    unit: str | None = None  # the quantity's unit (set by `with_unit`)

    @property
    def by(self) -> str:
        """`by value`, `by weight`: how an answer quotes a multiple."""
        return f"by {self.noun}"

    @property
    def additive(self) -> bool:
        return self.key != "unit-value"

    def of(self, amount: Amount | None) -> float | None:
        """The figure of one period, or None when its rows lack the measure."""
        if amount is None:
            return None
        if self.key == "value":
            return amount.value_usd
        if self.key == "weight":
            return amount.weight_kg
        if self.key == "quantity":
            return amount.qty if self.unit is None or amount.qty_unit == self.unit else None
        if amount.value_usd is None or not amount.weight_kg:
            return None
        return amount.value_usd / amount.weight_kg

    def total(self, amounts: Iterable[Amount]) -> float | None:
        """The figure of several periods: a sum, or for unit value total value over total weight."""
        usable = [a for a in amounts if self.of(a) is not None]
        if not usable:
            return None
        if self.additive:
            return sum(self.of(a) or 0.0 for a in usable)
        weight = sum(a.weight_kg or 0.0 for a in usable)
        return sum(a.value_usd or 0.0 for a in usable) / weight if weight else None

    def average(self, amounts: Sequence[Amount]) -> float | None:
        """The monthly average over the periods with the measure (unit value: the weighted average price)."""
        usable = [a for a in amounts if self.of(a) is not None]
        total = self.total(usable)
        if total is None:
            return None
        return total / len(usable) if self.additive else total

    def fmt(self, figure: float | None) -> str:
        """The figure in words: `$8.41M`, `1,234 t`, `5,000 kg` (quantity), `$4.19/kg`; `no data` for None."""
        if figure is None or (isinstance(figure, float) and not math.isfinite(figure)):
            return "no data"
        if self.key == "value":
            return fmt_usd(figure)
        if self.key == "weight":
            return fmt_kg(figure)
        if self.key == "quantity":
            return f"{figure:,.0f} {self.unit or '(unit not stated)'}"
        return f"${figure:,.2f}/kg"

    @property
    def column(self) -> str:
        """The CSV column name: `value_usd`, `weight_kg`, `quantity_<unit>`, `unit_value_usd_per_kg`."""
        if self.key == "quantity":
            return f"quantity_{self.unit or 'unit_not_stated'}".replace(" ", "_")
        return {"value": "value_usd", "weight": "weight_kg", "unit-value": "unit_value_usd_per_kg"}[self.key]

    @property
    def axis(self) -> str:
        """The chart's axis label (the chart picks the scale for values)."""
        return {
            "value": "US$",
            "weight": "net weight, tonnes",
            "quantity": f"quantity, {self.unit or 'unit not stated'}",
            "unit-value": "unit value, US$ per kg",
        }[self.key]

    @property
    def needs_volumes(self) -> bool:
        """True when the query must read weights and quantities (not only values)."""
        return self.key != "value"

    def with_unit(self, amounts: Iterable[Amount]) -> Measure:
        """For quantity: the one unit of the periods' quantities.

        Raises:
            InvalidInput: the quantities come in several units (they cannot be added).
        """
        if self.key != "quantity":
            return self
        units = sorted({a.qty_unit for a in amounts if a.qty is not None and a.qty_unit})
        if len(units) > 1:
            raise InvalidInput(
                f"The quantities are in several units ({', '.join(units)}) and cannot be added.",
                "Ask for measure=weight or measure=value, or for one HS code.",
            )
        return Measure(self.key, self.noun, units[0] if units else None)


VALUE = Measure("value", "value")


def parse_measure(value: str | None) -> Measure:
    """`value` (default), `weight`, `quantity` or `unit-value` (also kg, t, qty, price, uv).

    Raises:
        InvalidInput: anything else, with the accepted words.
    """
    if value is None or not str(value).strip():
        return VALUE
    key = _ALIASES.get(" ".join(str(value).lower().split()))
    if key is None:
        raise InvalidInput(
            f"Unknown measure {value!r}.", "Use measure=value, weight, quantity or unit-value."
        )
    return Measure(key, key.replace("-", " "))
