"""Trade flows as stored: the natural key, the HS code levels and TOTAL, and one file's flows by key.

Representation rules (the commands rely on them):

- One row per (reporter, partner, flow, hs_code, period, freq, source). Countries are UN Comtrade numeric
  codes; `flow` is "X" or "M" as the reporter reports it; `period` is YYYYMM (freq "M") or YYYY00 (freq "A").
- `hs_code` holds digits only (2, 4 or 6; national 8/10-digit lines are rolled up to HS-6 by the importers
  before they get here), or "TOTAL" for all goods together, with `hs_level` 0. "TOTAL" sorts after every
  digit string, so an HS range filter (`hs_code >= '8542' AND hs_code < '8543'`) never picks it up.
- `hs_level` is the number of digits (0 for TOTAL). A source may hold rows at several levels for the same
  pair and month (Comtrade answers per requested code): a level-n row already includes its subheadings, so
  a query sums rows of ONE level for a code prefix, never a heading and its own subheadings.
- Missing months are missing rows. Nothing here invents a zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter

from db.ingest.base import ImportFailed, IngestReport
from db.ingest.trade_write import Flow, FlowKey

TOTAL = "TOTAL"  # hs_code of all-goods totals (hs_level 0)


def hs_level(code: str) -> int:
    """The level of a stored HS code: its number of digits, 0 for TOTAL."""
    return 0 if code == TOTAL else len(code)


def period_label(period: int, freq: str) -> str:
    """`202412` -> "2024-12"; `202400` (annual) -> "2024"."""
    year, month = divmod(period, 100)
    return f"{year}" if freq == "A" or month == 0 else f"{year}-{month:02d}"


def describe_key(key: FlowKey) -> str:
    reporter, partner, flow, code, period, freq = key
    return (
        f"reporter {reporter}, partner {partner}, flow {flow}, HS {code}, period {period_label(period, freq)}"
    )


@dataclass
class FlowSet:
    """The flows of one file, by natural key. A key seen twice with different values is an error."""

    rows: dict[FlowKey, Flow] = field(default_factory=dict)

    def add(self, flow: Flow, *, where: str, report: IngestReport) -> None:
        key: FlowKey = flow[:6]
        previous = self.rows.get(key)
        if previous is None:
            self.rows[key] = flow
        elif previous == flow:
            report.skip("duplicate record (the same flow twice in the file)", where=where)
        else:
            raise ImportFailed(f"{where}: a second, different record for the same flow ({describe_key(key)})")

    def __len__(self) -> int:
        return len(self.rows)

    def data_date(self) -> str | None:
        """The last period in the set ("2024-12", or "2024" for annual data)."""
        if not self.rows:
            return None
        last = max(self.rows, key=itemgetter(4))  # the period
        return period_label(last[4], last[5])
