"""`tradewatch import hs|comtrade|trade-csv|imf` and the on-demand Comtrade fetch, as real processes.

The Comtrade stand-in (tests/ingest/comtrade_standin.py) answers in Comtrade's v1 format with the real rows of
the China monthly exports table; the expected numbers are computed here with pandas from the same file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import load_config
from bot.trade_fetch import OnDemandFetcher, comtrade_params, trade_fetcher
from db.engine import make_engine, make_sessionmaker
from db.lookups import Lookups
from tests.ingest.comtrade_standin import ComtradeStandIn, china_records, start
from tests.ingest.conftest import read_china_frame

REPO = Path(__file__).resolve().parents[2]
CHINA = "trade/china_exports_hs6_monthly_derived/deep_dive_hs6_monthly.csv"


@pytest.fixture
async def standin(shared_data: Path, lookups: Lookups) -> AsyncIterator[ComtradeStandIn]:
    """The Comtrade v1 stand-in serving the real China rows."""
    server = ComtradeStandIn(china_records(shared_data, lookups))
    runner = await start(server)
    yield server
    await runner.cleanup()


@pytest.fixture(scope="module")
def china_frame(shared_data: Path, lookups: Lookups) -> pd.DataFrame:
    """The real China table with Comtrade partner codes and YYYYMM periods (pandas)."""
    return read_china_frame(shared_data, lookups)


async def tradewatch(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run `python -m bot ARGS` on a SQLite file in tmp_path; returns (exit code, stdout, stderr)."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("TRADEWATCH_", "COMTRADE_", "DISCORD_"))
    }
    clean.update({"TRADEWATCH_DATA_DIR": str(tmp_path / "var"), **(env or {})})
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=REPO,
        env=clean,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_every_importer_from_the_command_line(tmp_path: Path, shared_data: Path) -> None:
    hs = str(shared_data / "hs/harmonized-system.csv")
    code, out, _ = await tradewatch(tmp_path, "import", "hs", hs)
    assert code == 0 and "rows read 6,940, loaded 6,940" in out
    code, out, _ = await tradewatch(tmp_path, "import", "hs", hs)
    assert code == 0 and "already loaded (same sha256); nothing changed" in out
    code, out, _ = await tradewatch(
        tmp_path, "import", "trade-csv", str(shared_data / CHINA), "--mapping", "china_exports_hs6_monthly"
    )
    assert code == 0 and "china_customs_derived" in out and "loaded 6,442" in out
    code, out, _ = await tradewatch(
        tmp_path, "import", "imf", str(shared_data / "trade/imf_imts_russia_bilateral/RU_trade.csv")
    )
    assert code == 0 and "aggregate counterpart" in out
    sample = str(shared_data / "trade/comtrade_api_samples/india_exports_2022_single_partner.json")
    code, out, _ = await tradewatch(tmp_path, "import", "comtrade", sample, "--dry-run")
    assert code == 0 and "dry run: nothing was written" in out
    code, out, _ = await tradewatch(tmp_path, "import", "comtrade", sample)
    assert code == 0 and "loaded 1" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["import", "trade-csv", "{imf}", "--mapping", "china_exports_hs6_monthly"],
            "Error: trade-csv: RU_trade.csv has no column 'period_dt'",
        ),
        (["import", "imf", "{hs}"], "Error: imf: harmonized-system.csv is missing column(s) COUNTRY.ID"),
        (
            ["import", "comtrade", "{hs}"],
            "Error: comtrade: harmonized-system.csv line 1 column 1: not valid JSON",
        ),
        (["import", "hs", "{missing}"], "Error: hs: no such file"),
        (["import", "comtrade"], "give a FILE, or --api"),
        (["import", "comtrade", "--api", "--reporter", "CN"], "--api needs --reporter, --cmd and --period"),
        (
            ["import", "comtrade", "--api", "--reporter", "CN", "--cmd", "85423", "--period", "2022"],
            "--cmd 85423: HS codes have 2, 4 or 6 digits",
        ),
        (
            ["import", "comtrade", "--api", "--reporter", "Atlantis", "--cmd", "8542", "--period", "2022"],
            "unknown reporter 'Atlantis'",
        ),
        (["import", "trade-csv", "{hs}"], "give --mapping NAME|FILE or the column options"),
    ],
)
def test_bad_input_is_one_clear_line(
    tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    paths = {
        "imf": shared_data / "trade/imf_imts_russia_bilateral/RU_trade.csv",
        "hs": shared_data / "hs/harmonized-system.csv",
        "missing": tmp_path / "nope.csv",
    }
    for name in [k for k in os.environ if k.startswith(("TRADEWATCH_", "COMTRADE_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TRADEWATCH_DATA_DIR", str(tmp_path / "var"))
    result = CliRunner().invoke(cli, [a.format(**paths) for a in args])
    assert result.exit_code != 0 and message in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


async def test_comtrade_api_import(
    tmp_path: Path, standin: ComtradeStandIn, china_frame: pd.DataFrame
) -> None:
    want = china_frame[
        (china_frame.partner == 643) & (china_frame.hs6 == "250410") & (china_frame.period // 100 == 2023)
    ]
    env = {"COMTRADE_API_BASE": standin.base}
    code, out, err = await tradewatch(
        tmp_path,
        "import",
        "comtrade",
        "--api",
        "--reporter",
        "CN",
        "--partner",
        "RU",
        "--cmd",
        "250410",
        "--period",
        "2023",
        "--freq",
        "M",
        "--flow",
        "X",
        env=env,
    )
    assert code == 0, err
    assert (
        f"loaded {len(want)}" in out
        and "public/v1/preview (no API key, 500 records per call): 1 call(s)" in out
    )
    assert standin.calls[0]["reporterCode"] == "156" and standin.calls[0]["partnerCode"] == "643"
    code, out, _ = await tradewatch(
        tmp_path,
        "import",
        "comtrade",
        "--api",
        "--reporter",
        "CN",
        "--partner",
        "RU",
        "--cmd",
        "250410",
        "--period",
        "2023",
        "--flow",
        "X",
        env=env,
    )
    assert code == 0 and "already loaded" in out


async def test_ask_fetches_missing_data_on_demand(
    tmp_path: Path, standin: ComtradeStandIn, china_frame: pd.DataFrame
) -> None:
    """An empty database: `/exports gallium RU 2023` asks the stand-in, stores the rows, answers with them."""
    rows = china_frame[(china_frame.partner == 643) & (china_frame.hs6 == "811292")]
    by_month = rows[rows.period // 100 == 2023].groupby("period").val.sum()
    env = {"COMTRADE_API_BASE": standin.base}
    assert (await tradewatch(tmp_path, "db", "upgrade", env=env))[
        0
    ] == 0  # `ask` reads, never creates, a database
    code, out, err = await tradewatch(tmp_path, "ask", "/exports gallium RU 2023", "--json", env=env)
    assert code == 0, err
    numbers = json.loads(out)["numbers"]
    assert numbers["total"] == pytest.approx(by_month.sum())
    assert numbers["source"]["key"] == "comtrade"
    assert {c["cmdCode"] for c in standin.calls} == {"811292"}

    off = tmp_path / "off.toml"
    off.write_text("[comtrade]\nfetch_on_demand = false\n")
    calls = len(standin.calls)
    assert (await tradewatch(tmp_path / "other", "db", "upgrade", env=env))[0] == 0
    code, out, err = await tradewatch(
        tmp_path / "other", "--config", str(off), "ask", "/exports gallium RU 2023", env=env
    )
    assert code != 0 and "No data" in err and len(standin.calls) == calls


def test_trade_fetcher_follows_the_config(tmp_path: Path) -> None:
    off = tmp_path / "off.toml"
    off.write_text("[comtrade]\nfetch_on_demand = false\n")
    assert trade_fetcher(load_config(off, env={})) is None
    config = load_config(
        None,
        env={
            "COMTRADE_API_KEY": "sekret-123",
            "COMTRADE_API_BASE": "http://127.0.0.1:1",
            "TRADEWATCH_DATA_DIR": str(tmp_path),
        },
    )
    params = comtrade_params(config)
    assert (params.api_base, params.api_key) == ("http://127.0.0.1:1", "sekret-123")
    assert params.cache_dir == tmp_path / "cache" / "comtrade"
    assert "sekret-123" not in repr(params) and "data/v1/get" in params.endpoint("M")
    assert isinstance(trade_fetcher(config), OnDemandFetcher)


async def test_an_empty_answer_is_not_asked_again_for_a_while(
    tmp_path: Path, standin: ComtradeStandIn, db_url: str
) -> None:
    engine = make_engine(db_url)
    try:
        fetcher = OnDemandFetcher(
            comtrade_params(
                load_config(
                    None, env={"COMTRADE_API_BASE": standin.base, "TRADEWATCH_DATA_DIR": str(tmp_path)}
                )
            )
        )
        fetcher.params = dataclasses.replace(fetcher.params, pause=0)
        async with make_sessionmaker(engine)() as session:
            assert await fetcher(session, 156, 643, "X", ["8542"], [2022]) == 0
            calls = len(standin.calls)
            assert calls == 1
            assert await fetcher(session, 156, 643, "X", ["8542"], [2022]) == 0
            assert len(standin.calls) == calls
    finally:
        await engine.dispose()
