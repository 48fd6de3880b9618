"""Thresholds for calling a trade figure unusual: the one place they are written.

Used by /brief's trade movers (commands/movers.py). The rule: a month (or the average month of a span) is a
mover when it is at least `RISE_MULTIPLE` times, or at most `FALL_MULTIPLE` times, its base: the average of the
12 months before it (commands.basis.TRAILING_MONTHS), or the same months of the base year under the one
missing-months rule (commands.basis). A base under `MIN_BASE_USD_PER_MONTH` is too small to multiply: a jump
from $2,000 to $900,000 a month is news only if someone checks it by hand, so no multiple is ranked on it.
"""

from __future__ import annotations

MIN_BASE_USD_PER_MONTH = 100_000.0
RISE_MULTIPLE = 2.0
FALL_MULTIPLE = 0.5
SPAN_MONTHS = 3  # the latest months a mover is judged on (within the latest year of data)
TOP_MOVERS = 5  # rises and falls each


def rule_words() -> str:
    """The rule in a sentence, for replies and docs."""
    return (
        f"Movers: the average month of the latest {SPAN_MONTHS} months of data against the average of the "
        f"12 months before them and against the same months of the base year; ranked only where the base is at "
        f"least ${MIN_BASE_USD_PER_MONTH:,.0f} a month; the biggest rises and falls against the trailing average "
        f"first, flagged when {RISE_MULTIPLE:g}× or more, or {FALL_MULTIPLE:g}× or less."
    )
