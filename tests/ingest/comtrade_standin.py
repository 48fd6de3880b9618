"""A local stand-in for the UN Comtrade API v1, on 127.0.0.1, whose answers are built from REAL rows.

The response format is Comtrade's own (the v1 `data/v1/get` and `public/v1/preview` bodies, field for field
as in ../shared/data/trade/comtrade_api_samples/india_exports_2022_single_partner.json). The numbers come
from the real China monthly exports table (../shared/data/trade/china_exports_hs6_monthly_derived/
deep_dive_hs6_monthly.csv): each of its rows becomes one Comtrade record (China 156 as reporter, flow X,
HS-6 cmdCode, period YYYYMM, primaryValue = `val`, qty = `qty`). Fields the table does not have (weights,
descriptions of flags) are copied from the real India record, so nothing is invented except that copying.

Like the real API, a call returns at most `maxRecords` records (and at most 500 on the preview endpoint),
silently cut: the client must notice and split. `data/v1/get` requires the subscription key header.
"""

from __future__ import annotations

import copy
import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from db.lookups import Lookups
from tests.local_http import start_local

INDIA_SAMPLE = Path("trade/comtrade_api_samples/india_exports_2022_single_partner.json")
CHINA_TABLE = Path("trade/china_exports_hs6_monthly_derived/deep_dive_hs6_monthly.csv")
PREVIEW_MAX = 500


def india_record(shared_data: Path) -> dict[str, Any]:
    """The one real record of the India sample (a template for the fields the China table lacks)."""
    payload = json.loads((shared_data / INDIA_SAMPLE).read_text(encoding="utf-8"))
    record: dict[str, Any] = payload["data"][0]
    return record


def china_records(shared_data: Path, lookups: Lookups) -> list[dict[str, Any]]:
    """Every row of the real China table as a Comtrade v1 monthly record."""
    template = india_record(shared_data)
    out = []
    with (shared_data / CHINA_TABLE).open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            country = lookups.country(row["partner_name"])
            assert country is not None, row["partner_name"]
            period = row["period_dt"][:4] + row["period_dt"][5:7]
            rec = copy.deepcopy(template)
            rec.update(
                freqCode="M",
                refPeriodId=int(period + "01"),
                refYear=int(period[:4]),
                refMonth=int(period[4:]),
                period=period,
                reporterCode=156,
                reporterISO="CHN",
                reporterDesc="China",
                flowCode="X",
                flowDesc="Export",
                partnerCode=country.code,
                partnerISO=country.iso3 or "",
                partnerDesc=country.name,
                cmdCode=row["hs6"],
                cmdDesc="",
                aggrLevel=6,
                isLeaf=True,
                qtyUnitCode=8,
                qtyUnitAbbr="kg",
                qty=float(row["qty"]),
                netWgt=None,
                fobvalue=float(row["val"]),
                primaryValue=float(row["val"]),
                isAggregate=False,
            )
            out.append(rec)
    return out


@dataclass
class ComtradeStandIn:
    """Serves `records` under the v1 paths; records every request's parameters and headers."""

    records: list[dict[str, Any]]
    api_key: str = "test-key-not-a-secret"
    base: str = ""
    calls: list[dict[str, str]] = field(default_factory=list)
    keys_seen: list[str | None] = field(default_factory=list)
    fail_with: int | None = None  # answer every call with this HTTP status

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/public/v1/preview/C/{freq}/HS", self.preview)
        app.router.add_get("/data/v1/get/C/{freq}/HS", self.get)
        return app

    async def preview(self, request: web.Request) -> web.Response:
        return self.answer(request, PREVIEW_MAX)

    async def get(self, request: web.Request) -> web.Response:
        key = request.headers.get("Ocp-Apim-Subscription-Key")
        if key != self.api_key:
            self.calls.append(dict(request.query))
            body = {"statusCode": 401, "message": "Access denied due to missing subscription key."}
            return web.json_response(body, status=401)
        return self.answer(request, 250_000)

    def answer(self, request: web.Request, cap: int) -> web.Response:
        query = dict(request.query)
        self.calls.append(query)
        self.keys_seen.append(request.headers.get("Ocp-Apim-Subscription-Key"))
        if self.fail_with:
            return web.Response(status=self.fail_with, text="upstream trouble")
        data = [r for r in self.records if matches(r, request.match_info["freq"], query)]
        limit = min(int(query.get("maxRecords", cap)), cap)
        data = data[:limit]  # cut silently, as the API does
        return web.json_response({"elements": len(data), "count": len(data), "data": data, "error": ""})


def _values(query: dict[str, str], name: str) -> set[str] | None:
    return set(query[name].split(",")) if query.get(name) else None


def matches(rec: dict[str, Any], freq: str, query: dict[str, str]) -> bool:
    """Whether a record answers the query (codes, periods, flows and partners as comma lists)."""
    checks = [
        (rec["freqCode"], {freq}),
        (str(rec["reporterCode"]), _values(query, "reporterCode")),
        (str(rec["partnerCode"]), _values(query, "partnerCode")),
        (rec["cmdCode"], _values(query, "cmdCode")),
        (str(rec["period"]), _values(query, "period")),
        (rec["flowCode"], _values(query, "flowCode")),
    ]
    return all(allowed is None or value in allowed for value, allowed in checks)


async def start(standin: ComtradeStandIn) -> web.AppRunner:
    """Run the stand-in on 127.0.0.1 (random port); sets `standin.base`."""
    runner, standin.base = await start_local(standin.app())
    return runner
