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


def test_sources_judges_data_dates_not_import_times() -> None:
    """A 2024 table imported today is stale; a synced list confirmed an hour ago is current whatever its date."""
    from commands.sources import SourceStatus, stale_reason
    from db.sources import cadence_of

    derived = SourceStatus("china_customs_derived", "t", data_date="2024-12", rows_label="6,442 rows")
    reason = stale_reason(derived, None, None, cadence_of("china_customs_derived"), NOW)
    assert reason is not None and reason.startswith("data to 2024-12-31; the publisher releases monthly data")
    imf = SourceStatus("imf_imts", "t", data_date="2024", rows_label="3,295 rows")
    assert "annual totals" in (stale_reason(imf, None, None, cadence_of("imf_imts"), NOW) or "")
    sdn = SourceStatus(
        "ofac_sdn", "t", data_date="2024-05-01", rows_label="x", scheduled=True, sync_enabled=True
    )
    assert stale_reason(sdn, NOW - dt.timedelta(hours=1), 48, cadence_of("ofac_sdn"), NOW) is None
    imported = stale_reason(sdn, None, 48, cadence_of("ofac_sdn"), NOW)
    assert imported is not None and imported.endswith("loaded from a file, not confirmed by a sync")
    assert (
        stale_reason(SourceStatus("curated", "t", rows_label="x"), None, None, cadence_of("curated"), NOW)
        is None
    )
