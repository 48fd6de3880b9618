"""End to end on real files: the real importers load the HS nomenclature and the China monthly exports table,
then `/exports graphite RU 2023` and `/top partners graphite 2023` answer with numbers equal to a direct
pandas computation on the source file (the issue's "done when"), in-process and through `tradewatch ask`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commands.context import Context
from commands.errors import NoData
from commands.registry import run_text
from commands.replies import Reply
from db.engine import make_engine, make_sessionmaker, upgrade
from db.lookups import Lookups
from db.sources import load_importer

pytestmark = pytest.mark.e2e

TABLE = Path("trade/china_exports_hs6_monthly_derived/deep_dive_hs6_monthly.csv")
NOW = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
REPO = Path(__file__).resolve().parents[2]


async def load_real_files(sessions: async_sessionmaker[AsyncSession], shared_data: Path) -> None:
    """The two real files through the real importers, as `make demo` loads them."""
    await load_importer("hs")(sessions, shared_data / "hs/harmonized-system.csv", now=NOW)
    await load_importer("trade-csv")(
        sessions, shared_data / TABLE, now=NOW, mapping="china_exports_hs6_monthly"
    )


def graphite(shared_data: Path, lookups: Lookups) -> pd.DataFrame:
    """Graphite rows (HS 2504.., 380110) of the source file, with Comtrade partner codes and years."""
    frame = pd.read_csv(shared_data / TABLE, dtype={"hs6": str})
    frame = frame[frame.hs6.str.startswith(("2504", "380110"))].copy()
    frame["partner"] = frame.partner_name.map(lambda name: lookups.country(name).code)  # type: ignore[union-attr]
    frame["year"] = frame.period_dt.str[:4].astype(int)
    frame["month"] = frame.period_dt.str[5:7].astype(int)
    return frame


def check_exports(numbers: dict, frame: pd.DataFrame) -> None:  # type: ignore[type-arg]
    russia = frame[frame.partner == 643]
    now = russia[russia.year == 2023].groupby("month").val.sum()
    before = russia[russia.year == 2022].groupby("month").val.sum()
    assert [m["value_usd"] for m in numbers["months"]] == pytest.approx([now.get(m) for m in range(1, 13)])
    assert [m["base_figure"] for m in numbers["months"]] == pytest.approx(
        [before.get(m) for m in range(1, 13)]
    )
    assert numbers["total"] == pytest.approx(now.sum())
    assert numbers["base_total"] == pytest.approx(before.sum())
    assert numbers["change_pct"] == pytest.approx((now.sum() / before.sum() - 1) * 100)
    assert numbers["peak"]["period"] == f"2023-{now.idxmax():02d}"
    # the 12 months before the peak: the end of 2022 and the start of 2023
    peak = int(now.idxmax())
    trailing = [*before.loc[peak:].tolist(), *now.loc[: peak - 1].tolist()]
    assert numbers["peak"]["trailing_average"] == pytest.approx(sum(trailing) / len(trailing))
    assert numbers["codes"] == ["250410", "380110"] and numbers["level"] == 6


def check_top_partners(numbers: dict, frame: pd.DataFrame) -> None:  # type: ignore[type-arg]
    now = frame[frame.year == 2023].groupby("partner").val.sum().sort_values(ascending=False)
    before = frame[frame.year == 2022].groupby("partner").val.sum()
    top = numbers["top"]
    assert [int(t["code"]) for t in top] == list(now.index[:10])
    assert [t["figure"] for t in top] == pytest.approx(list(now.iloc[:10]))
    assert [t["share_pct"] for t in top] == pytest.approx(list(now.iloc[:10] / now.sum() * 100))
    # growth over the months with data in both years (the one rule), per partner
    monthly = frame.groupby(["partner", "year", "month"]).val.sum().unstack("year")[[2023, 2022]].dropna()
    both = monthly.groupby(level="partner").sum()
    assert [t["growth_pct"] for t in top] == pytest.approx(
        [(both.loc[p, 2023] / both.loc[p, 2022] - 1) * 100 for p in now.index[:10]]
    )
    assert [t["base_figure"] for t in top] == pytest.approx([before[p] for p in now.index[:10]])
    assert numbers["total"] == pytest.approx(now.sum())


async def ask(sessions: async_sessionmaker[AsyncSession], lookups: Lookups, text: str) -> Reply:
    async with sessions() as session:
        return await run_text(Context(session=session, lookups=lookups, now=lambda: NOW), text)


async def test_real_importers_then_questions(
    sessions: async_sessionmaker[AsyncSession], shared_data: Path, lookups: Lookups
) -> None:
    await load_real_files(sessions, shared_data)
    frame = graphite(shared_data, lookups)
    exports = await ask(sessions, lookups, "/exports graphite RU 2023")
    check_exports(exports.numbers, frame)
    assert exports.citations[0].data_date == "2024-12"
    assert "reported by China" in exports.citations[0].text() and "mirror" not in exports.citations[0].text()
    check_top_partners((await ask(sessions, lookups, "/top partners graphite 2023")).numbers, frame)
    with pytest.raises(NoData) as chips:
        await ask(sessions, lookups, "/exports chips RU 2022")
    assert "tradewatch import comtrade" in chips.value.user_text()


class ComtradeStandIn:
    """A local UN Comtrade API on 127.0.0.1 that has no records for anything, and remembers what was asked."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.runner: web.AppRunner | None = None
        self.base = ""

    async def answer(self, request: web.Request) -> web.Response:
        self.requests.append({"path": request.path, **request.query})
        return web.json_response({"elapsed": "0.01", "count": 0, "data": [], "error": ""})

    async def __aenter__(self) -> ComtradeStandIn:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.answer)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


async def tradewatch(
    args: list[str], db_url: str, cwd: Path, comtrade: str
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess (in a thread, so the stand-in keeps serving)."""
    env = {
        **os.environ,
        "TRADEWATCH_DATABASE_URL": db_url,
        "COMTRADE_API_BASE": comtrade,
        "TRADEWATCH_DATA_DIR": str(cwd / "var"),
    }
    env.pop("COMTRADE_API_KEY", None)
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_tradewatch_ask_cli(tmp_path: Path, shared_data: Path, lookups: Lookups) -> None:
    db_url = f"sqlite:///{tmp_path / 'tw.sqlite3'}"
    engine = make_engine(db_url)
    await upgrade(engine)
    await load_real_files(make_sessionmaker(engine), shared_data)
    await engine.dispose()
    frame = graphite(shared_data, lookups)

    async with ComtradeStandIn() as comtrade:
        await run_cli_questions(tmp_path, db_url, comtrade, frame)
    assert comtrade.requests, "the missing chips data was asked of (the stand-in) UN Comtrade first"
    asked = comtrade.requests[0]
    assert asked["path"] == "/public/v1/preview/C/M/HS"
    assert (asked["reporterCode"], asked["partnerCode"], asked["cmdCode"]) == ("156", "643", "8542")


async def run_cli_questions(
    tmp_path: Path, db_url: str, comtrade: ComtradeStandIn, frame: pd.DataFrame
) -> None:
    out = tmp_path / "out"
    result = await tradewatch(
        ["ask", "/exports graphite RU 2023", "--json", "--out", str(out)], db_url, tmp_path, comtrade.base
    )
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    check_exports(reply["numbers"], frame)
    files = sorted(p.name for p in out.iterdir())
    assert files == ["x-cn-ru-2504-380110-2023.csv", "x-cn-ru-2504-380110-2023.png"]
    assert (out / files[1]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    text = await tradewatch(["ask", "/top partners graphite 2023"], db_url, tmp_path, comtrade.base)
    assert (
        text.returncode == 0
        and "Top partners: China's exports of graphite, natural and artificial (HS 2504, 380110), 2023"
        in text.stdout
    )
    ranked = await tradewatch(
        ["ask", "/top partners graphite 2023", "--json"], db_url, tmp_path, comtrade.base
    )
    check_top_partners(json.loads(ranked.stdout)["numbers"], frame)

    missing = await tradewatch(["ask", "/exports chips RU 2022"], db_url, tmp_path, comtrade.base)
    assert missing.returncode != 0 and missing.stdout == ""
    assert missing.stderr.startswith("error: No data for chips (HS 8542)") and missing.stderr.count("\n") == 1
    assert "UN Comtrade was asked and returned no rows" in missing.stderr
    assert "tradewatch import comtrade" in missing.stderr and "Traceback" not in missing.stderr
    # The command the answer suggests is a valid `tradewatch import` call (here against the stand-in).
    suggested = re.search(r"`tradewatch (import comtrade --api [^`]+)`", missing.stderr)
    assert suggested is not None
    ran = await tradewatch(suggested.group(1).split(), db_url, tmp_path, comtrade.base)
    assert ran.returncode == 0, ran.stderr
    assert "UN Comtrade has no data for this request; nothing was changed" in ran.stdout
