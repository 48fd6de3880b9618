"""Staleness by the data date against the publisher's cadence (never by import time)."""

from __future__ import annotations

import datetime as dt

from commands.freshness import data_end, data_staleness

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def test_data_end_reads_the_last_date() -> None:
    assert data_end("2024") == dt.date(2024, 12, 31)
    assert data_end("2024-02") == dt.date(2024, 2, 29)
    assert data_end("2024-05-01") == dt.date(2024, 5, 1)
    assert data_end("periods 2017-01 to 2024-12") == dt.date(2024, 12, 31)
    assert data_end(None) is None and data_end("unknown") is None and data_end("2024-13") is None


def test_monthly_data_two_years_old_is_stale_and_last_months_is_not() -> None:
    stale = data_staleness("2024-12", every_days=31, lag_days=90, now=NOW)
    assert stale is not None and stale.due == dt.date(2025, 5, 1)
    assert "data to 2024-12-31" in stale.words("monthly")
    assert data_staleness("2026-08", every_days=31, lag_days=90, now=NOW) is None


def test_annual_and_unknown() -> None:
    assert data_staleness("2024", every_days=366, lag_days=180, now=NOW) is not None  # 2025 was due mid-2026
    assert data_staleness("2025", every_days=366, lag_days=180, now=NOW) is None
    assert data_staleness(None, every_days=1, lag_days=0, now=NOW) is None
