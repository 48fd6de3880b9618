"""UN Comtrade API v1 client: fetch records, never lose any to the per-call limit, cache them, load them.

Endpoints (base URL configurable: [comtrade] api_base / COMTRADE_API_BASE):
- with a subscription key (COMTRADE_API_KEY, sent as the `Ocp-Apim-Subscription-Key` header, never
  logged): `{base}/data/v1/get/C/{freq}/HS`, up to 100,000 records per call;
- without one: the key-less `{base}/public/v1/preview/C/{freq}/HS`, at most 500 records per call and no
  offset parameter to page with.

No record is silently lost: a call that returns as many records as the limit may have been cut short, so
the request is split in two (by periods first, then commodity codes, partners, flows, reporters) and each
half is asked again; the report says how often that happened. A request that cannot be split further, or
that would need more than `max_calls` calls, fails with a message saying how to narrow it.

The records of all calls are saved as one response-shaped JSON file in the cache folder (the raw data we
loaded, with its sha256) and loaded by the file importer, so an API fetch and `import comtrade FILE`
follow exactly the same rules. Fetching the same data again changes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ingest import comtrade
from db.ingest.base import ImportFailed, IngestReport
from db.ingest.fetch import FetchFailed, client_session, get_json, safe_url, write_bytes_atomic

log = logging.getLogger(__name__)

PREVIEW_LIMIT = 500
KEY_LIMIT = 100_000
MAX_PERIODS_PER_CALL = 12


@dataclass(frozen=True)
class ComtradeParams:
    """How to reach the API. Built by the bot from Config; tests point `api_base` at a local stand-in."""

    api_base: str = "https://comtradeapi.un.org"
    api_key: str = field(default="", repr=False)
    timeout: float = 20.0
    max_calls: int = 20
    cache_dir: Path = Path("var/cache/comtrade")
    pause: float = 1.0  # seconds between calls; the key-less preview allows about one call per second
    retries: int = 2
    backoff: float = 2.0
    page_limit: int = 0  # records asked per call; 0: the endpoint's own maximum (tests use small pages)

    @property
    def limit(self) -> int:
        """Most records one call returns (a call that returns this many may have been cut short)."""
        endpoint_max = KEY_LIMIT if self.api_key else PREVIEW_LIMIT
        return min(self.page_limit, endpoint_max) if self.page_limit > 0 else endpoint_max

    def endpoint(self, freq: str) -> str:
        """The data URL for goods (C), `freq` (A or M), HS as reported."""
        base = self.api_base.rstrip("/")
        path = "data/v1/get" if self.api_key else "public/v1/preview"
        return f"{base}/{path}/C/{freq}/HS"

    def headers(self) -> dict[str, str]:
        return {"Ocp-Apim-Subscription-Key": self.api_key} if self.api_key else {}


@dataclass(frozen=True)
class ComtradeQuery:
    """One API request. Empty `partners` or `flows` means all of them."""

    freq: str
    reporters: tuple[int, ...]
    partners: tuple[int, ...]
    cmd_codes: tuple[str, ...]
    periods: tuple[str, ...]
    flows: tuple[str, ...] = ("X", "M")

    def params(self, limit: int) -> dict[str, str]:
        """Query parameters: totals only (no second-partner, customs or transport breakdown)."""
        out = {
            "reporterCode": ",".join(map(str, self.reporters)),
            "cmdCode": ",".join(self.cmd_codes),
            "period": ",".join(self.periods),
            "partner2Code": "0",
            "customsCode": "C00",
            "motCode": "0",
            "maxRecords": str(limit),
            "format": "JSON",
            "breakdownMode": "classic",
            "includeDesc": "true",
        }
        if self.partners:
            out["partnerCode"] = ",".join(map(str, self.partners))
        if self.flows:
            out["flowCode"] = ",".join(self.flows)
        return out

    def describe(self) -> str:
        partners = ",".join(map(str, self.partners)) or "all"
        return (
            f"{self.freq} reporter={','.join(map(str, self.reporters))} partner={partners} "
            f"cmd={','.join(self.cmd_codes)} period={_span(self.periods)} flow={','.join(self.flows) or 'all'}"
        )

    def split(self) -> tuple[str, ComtradeQuery, ComtradeQuery] | None:
        """Halve the first dimension with more than one value; None when every dimension has one."""
        for dim in ("periods", "cmd_codes", "partners", "flows", "reporters"):
            values: tuple[Any, ...] = getattr(self, dim)
            if len(values) > 1:
                mid = len(values) // 2
                first: dict[str, Any] = {dim: values[:mid]}
                second: dict[str, Any] = {dim: values[mid:]}
                return dim, replace(self, **first), replace(self, **second)
        return None

    def chunks(self) -> list[ComtradeQuery]:
        """The query cut into calls of at most MAX_PERIODS_PER_CALL periods."""
        step = MAX_PERIODS_PER_CALL
        return [replace(self, periods=self.periods[i : i + step]) for i in range(0, len(self.periods), step)]


def _span(periods: Sequence[str]) -> str:
    return periods[0] if len(periods) == 1 else f"{periods[0]}..{periods[-1]}({len(periods)})"


def expand_periods(freq: str, periods: Sequence[str | int]) -> tuple[str, ...]:
    """Years or months as the API wants them: for monthly data a year "2022" becomes 202201..202212.

    Raises:
        ImportFailed: a period that is not YYYY (or YYYYMM for monthly data).
    """
    out: list[str] = []
    for raw in periods:
        text = str(raw).strip()
        if len(text) == 4 and text.isdigit():
            out.extend([f"{text}{m:02d}" for m in range(1, 13)] if freq == "M" else [text])
        elif freq == "M" and len(text) == 6 and text.isdigit() and 1 <= int(text[4:]) <= 12:
            out.append(text)
        else:
            raise ImportFailed(f"period {text!r}: use YYYY" + (" or YYYYMM" if freq == "M" else ""))
    return tuple(dict.fromkeys(out))


@dataclass
class FetchLog:
    """What the API calls did, for the report."""

    calls: int = 0
    splits: list[str] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)


async def fetch_records(
    query: ComtradeQuery, params: ComtradeParams, *, http: aiohttp.ClientSession | None = None
) -> tuple[list[Any], FetchLog]:
    """All records for `query`, splitting any call that hits the per-call limit.

    Raises:
        FetchFailed: the API failed, a single-value request hit the limit, or more than
            `params.max_calls` calls would be needed.
    """
    records: list[Any] = []
    fetch_log = FetchLog()
    pending = deque(query.chunks())
    async with client_session(http) as session:
        while pending:
            q = pending.popleft()
            if fetch_log.calls >= params.max_calls:
                raise FetchFailed(
                    f"UN Comtrade: this request needs more than {params.max_calls} API calls "
                    f"({'without an API key each call returns at most 500 records; ' if not params.api_key else ''}"
                    "narrow the periods, codes or partners, set COMTRADE_API_KEY, or raise [comtrade] max_pages)"
                )
            if fetch_log.calls and params.pause:
                await asyncio.sleep(params.pause)
            data = await _call(session, q, params)
            fetch_log.calls += 1
            if len(data) >= params.limit:
                halves = q.split()
                if halves is None:
                    raise FetchFailed(
                        f"UN Comtrade returned {len(data)} records, the most one call gives, for a single "
                        f"reporter/partner/code/period/flow ({q.describe()}): records would be lost"
                    )
                dim, first, second = halves
                note = f"{q.describe()} returned {len(data)} records (the per-call limit): split by {dim}"
                log.warning("%s", note)
                fetch_log.splits.append(note)
                pending.extendleft([second, first])
                continue
            fetch_log.queries.append(q.describe())
            records.extend(data)
    return records, fetch_log


async def _call(session: aiohttp.ClientSession, query: ComtradeQuery, params: ComtradeParams) -> list[Any]:
    url = params.endpoint(query.freq)
    payload, _ = await get_json(
        session,
        url,
        params=query.params(params.limit),
        headers=params.headers(),
        timeout=params.timeout,
        retries=params.retries,
        backoff=params.backoff,
    )
    try:
        data, _meta = comtrade.check_payload(payload, f"the answer of {safe_url(url)}")
    except ImportFailed as exc:
        raise FetchFailed(str(exc)) from None
    return data


def save_records(
    records: list[Any], query: ComtradeQuery, fetch_log: FetchLog, params: ComtradeParams
) -> Path:
    """Write the fetched records as one response-shaped JSON file in the cache; returns its path."""
    body = {
        "source": "UN Comtrade API v1",
        "endpoint": safe_url(params.endpoint(query.freq)),
        "request": query.describe(),
        "queries": fetch_log.queries,
        "count": len(records),
        "data": records,
    }
    data = json.dumps(body, sort_keys=True, ensure_ascii=False).encode()
    digest = hashlib.sha256(data).hexdigest()
    path = params.cache_dir / f"comtrade-{query.freq}-{digest[:16]}.json"
    write_bytes_atomic(path, data)
    return path


def _report_fetch(report: IngestReport, fetch_log: FetchLog, params: ComtradeParams, records: int) -> None:
    kind = (
        "data/v1/get (API key)" if params.api_key else "public/v1/preview (no API key, 500 records per call)"
    )
    report.extra["API"] = f"{kind}: {fetch_log.calls} call(s), {records:,} records"
    if fetch_log.splits:
        report.extra["calls split at the per-call limit"] = f"{len(fetch_log.splits)} (no record lost)"


async def import_from_api(
    sessions: async_sessionmaker[AsyncSession],
    query: ComtradeQuery,
    params: ComtradeParams,
    *,
    now: dt.datetime,
    http: aiohttp.ClientSession | None = None,
    dry_run: bool = False,
) -> IngestReport:
    """Fetch `query` from the API, keep the records in the cache, import them in one transaction.

    Raises:
        FetchFailed: the API could not be used (see `fetch_records`).
        ImportFailed: the records are malformed; nothing was changed.
    """
    records, fetch_log = await fetch_records(query, params, http=http)
    if not records:
        report = IngestReport(source=comtrade.SOURCE.key, file=query.describe())
        _report_fetch(report, fetch_log, params, 0)
        report.extra["result"] = "UN Comtrade has no data for this request; nothing was changed"
        return report
    path = save_records(records, query, fetch_log, params)
    report = await comtrade.run_import(sessions, path, now=now, dry_run=dry_run)
    _report_fetch(report, fetch_log, params, len(records))
    return report


async def fetch_on_demand(
    target: AsyncSession | async_sessionmaker[AsyncSession],
    reporter: int,
    partner: int | None,
    flow: str | None,
    hs_codes: Sequence[str],
    years: Sequence[int],
    *,
    params: ComtradeParams,
    now: dt.datetime | None = None,
    http: aiohttp.ClientSession | None = None,
) -> int:
    """Fetch monthly flows the database lacks from UN Comtrade, store them, return the rows written.

    This is `Context.fetch_trade` (bound with `params` by the bot): commands call it as
    `await ctx.fetch_trade(ctx.session, reporter, partner, flow, hs_codes, years)` when a query finds no rows.

    Args:
        target: the command's session (the fetched rows are committed in it) or a session factory.
        reporter: Comtrade reporter code (e.g. 156 China).
        partner: Comtrade partner code (e.g. 643 Russia), or None for every partner.
        flow: "X" or "M", or None for both.
        hs_codes: HS codes to fetch (2, 4 or 6 digits, or "TOTAL"), as the command will sum them.
        years: calendar years; every month of each is requested.
        params: API base, key, timeout, call limit and cache folder.
        now: the clock for the snapshot row.
        http: an aiohttp session to reuse.
    Returns:
        Rows inserted or updated (0 when Comtrade has nothing new).
    Raises:
        FetchFailed: the API is unreachable, refuses, or the request is too big for `max_calls`.
        ImportFailed: the API's answer is malformed (nothing was stored).
    """
    codes = tuple(dict.fromkeys(str(c) for c in hs_codes))
    if not codes or not years:
        return 0
    query = ComtradeQuery(
        freq="M",
        reporters=(int(reporter),),
        partners=(int(partner),) if partner is not None else (),
        cmd_codes=codes,
        periods=expand_periods("M", sorted(set(years))),
        flows=(flow,) if flow else ("X", "M"),
    )
    records, fetch_log = await fetch_records(query, params, http=http)
    if not records:
        return 0
    path = save_records(records, query, fetch_log, params)
    report = IngestReport(source=comtrade.SOURCE.key, file=path.name)
    when = now or dt.datetime.now(dt.UTC)
    if isinstance(target, AsyncSession):
        return await _load_in_session(target, path, when, report)
    async with target() as session:
        return await _load_in_session(session, path, when, report)


async def _load_in_session(session: AsyncSession, path: Path, now: dt.datetime, report: IngestReport) -> int:
    try:
        await comtrade.load_into_session(session, path, now=now, report=report)
        await session.commit()
    except IntegrityError:
        # Another process stored this very answer a moment ago (same snapshot checksum): nothing to add.
        await session.rollback()
        return 0
    except BaseException:
        await session.rollback()
        raise
    log.info("on-demand Comtrade fetch: %s", report.summary().replace("\n", "; "))
    return report.rows_loaded
