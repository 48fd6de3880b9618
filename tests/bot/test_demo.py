"""`tradewatch demo` on a machine without a local sources folder: every source fetched from a publisher stand-in.

The stand-ins on 127.0.0.1 serve files built from the real snapshots in the publishers' formats and URL shapes:
OFAC's sdn.csv, trade.gov's consolidated.json (the API's `results` form of the real CSL excerpt), the HS table,
an OpenSanctions dataset index with its targets.simple.csv export, and the UN Comtrade preview API answering
from the real China monthly table. The demo must take every URL from the config, say where each source came
from, and give the answers the real rows imply.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commands.context import Context
from commands.registry import run_text
from db.lookups import Lookups
from tests.db.sync.source_server import SourceServer
from tests.ingest.comtrade_standin import CHINA_TABLE, ComtradeStandIn, china_records, start
from tests.ingest.test_csl import to_api_json

REPO = Path(__file__).resolve().parents[2]
SDN = "/ofac/downloads/sdn.csv"
CSL = "/static/consolidated_screening_list/consolidated.json"
HS = "/datasets/harmonized-system/main/data/harmonized-system.csv"
OS_CONFIGURED = "/datasets/latest/sanctions/index.json"  # the collection a newsroom would configure
OS_INDEX = "/datasets/latest/ua_war_sanctions/index.json"  # the demo's small dataset beside it
OS_EXPORT = "/datasets/20260313/ua_war_sanctions/targets.simple.csv"


def serve_publishers(server: SourceServer, shared_data: Path) -> None:
    server.serve_file(SDN, shared_data / "ofac/sdn_snapshots/2024-05-01/sdn.csv")
    with (shared_data / "bis_csl/csl_excerpts/consolidated_2025-06_excerpt.csv").open(encoding="utf-8") as fh:
        csl = to_api_json(list(csv.DictReader(fh)))
    server.serve_bytes(CSL, json.dumps(csl).encode(), content_type="application/json")
    server.serve_file(HS, shared_data / "hs/harmonized-system.csv")
    index = {  # OpenSanctions' dataset index format; the export is the real file
        "name": "ua_war_sanctions",
        "title": "Ukraine War and Sanctions",
        "version": "20260313054101-abc",
        "updated_at": "2026-03-13T05:41:01",
        "last_export": "2026-03-13T05:41:01",
        "resources": [{"name": "targets.simple.csv", "url": OS_EXPORT, "mime_type": "text/csv"}],
    }
    server.serve_bytes(OS_INDEX, json.dumps(index).encode(), content_type="application/json")
    server.serve_file(OS_EXPORT, shared_data / "opensanctions/ua_war_sanctions_2026-03-13/targets.simple.csv")


def write_config(tmp_path: Path, db_url: str, server: SourceServer, comtrade_base: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{db_url}"\n[data]\ndata_dir = "{tmp_path / "var"}"\n'
        f'[comtrade]\napi_base = "{comtrade_base}"\n[sync]\ntimeout_seconds = 30.0\n'
        f'[sync.ofac_sdn]\nurls = ["{server.url(SDN)}"]\n[sync.csl]\nurls = ["{server.url(CSL)}"]\n'
        f'[sync.hs]\nurls = ["{server.url(HS)}"]\n[sync.opensanctions]\nurls = ["{server.url(OS_CONFIGURED)}"]\n'
    )
    return path


async def demo(config: Path, out: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADEWATCH_", "DISCORD_", "COMTRADE_"))}
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "--config", str(config), "demo", "--fetch", "--out", str(out)),
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, stdout.decode(), stderr.decode()


def china_exports(shared_data: Path, lookups: Lookups, partner: str, codes: set[str], year: str) -> float:
    """The sum of the real table's values for one partner, codes and year (what the answer must say)."""
    total = 0.0
    with (shared_data / CHINA_TABLE).open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            country = lookups.country(row["partner_name"])
            if country and country.iso2 == partner and row["hs6"] in codes and row["period_dt"][:4] == year:
                total += float(row["val"])
    return total


async def test_demo_fetches_every_source_from_its_publisher(
    tmp_path: Path,
    db_url: str,
    sessions: async_sessionmaker[AsyncSession],
    source_server: SourceServer,
    shared_data: Path,
    lookups: Lookups,
) -> None:
    serve_publishers(source_server, shared_data)
    comtrade = ComtradeStandIn(china_records(shared_data, lookups))
    runner = await start(comtrade)
    try:
        code, out, err = await demo(
            write_config(tmp_path, db_url, source_server, comtrade.base), tmp_path / "out"
        )
    finally:
        await runner.cleanup()
    assert code == 0, err

    for path in (SDN, CSL, HS, OS_INDEX, OS_EXPORT):  # each fetched once, from the configured place
        assert source_server.fetched(path) == [200], path
        assert source_server.url(path.rsplit("/", 1)[0]) in out, path  # and the output says where from
    assert f"{comtrade.base}/public/v1/preview/C/M/HS" in out
    assert comtrade.calls and all(c["reporterCode"] == "156" and c["flowCode"] == "X" for c in comtrade.calls)
    assert set(comtrade.keys_seen) == {None}  # the key-less preview endpoint
    chips = out.split(">>> /exports chips RU 2022")[1].split(">>>")[0]
    assert "No data for chips (HS 8542)" in chips and "tradewatch import comtrade --api" in chips  # honest
    assert "SINNO ELECTRONICS CO., LIMITED" in out.split(">>> /entity sinno electronic")[1]
    compare = out.split(">>> /compare graphite")[1].split(">>>")[0]  # the three years it compares
    assert "(answered with an error)" not in compare and "2021" in compare
    charts = list((tmp_path / "out").glob("x-cn-ru-2504-380110-2023*.png"))  # /exports graphite RU 2023
    assert len(charts) == 1 and charts[0].stat().st_size > 10_000

    async with sessions() as session:  # the answers are the real rows' sums, now cited to UN Comtrade
        reply = await run_text(Context(session=session, lookups=lookups), "/exports graphite RU 2023")
    numbers = reply.numbers
    assert numbers["source"]["key"] == "comtrade"
    for key, year in (("total", "2023"), ("base_total", "2022")):
        expected = china_exports(shared_data, lookups, "RU", {"250410", "380110"}, year)
        assert abs(numbers[key] - expected) < 0.01, (key, numbers[key], expected)


async def test_demo_says_which_publisher_failed(
    tmp_path: Path, db_url: str, source_server: SourceServer
) -> None:
    # Nothing is served: every list answers 404, and so does the Comtrade endpoint.
    code, out, err = await demo(
        write_config(tmp_path, db_url, source_server, source_server.base), tmp_path / "o"
    )
    assert code == 1
    assert "the demo could not fetch every source" in err
    for key in ("hs", "ofac_sdn", "csl", "opensanctions", "UN Comtrade"):
        assert f"  {key}: " in err, key
    assert "TRADEWATCH_SOURCES_DIR" in err and "Traceback" not in err


async def test_demo_names_a_missing_local_source_file(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADEWATCH_", "DISCORD_", "COMTRADE_"))}
    env |= {"TRADEWATCH_SOURCES_DIR": str(tmp_path / "nowhere"), "TRADEWATCH_DATA_DIR": str(tmp_path / "var")}
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "demo", "--out", str(tmp_path / "out")),
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await proc.communicate()
    err = stderr.decode()
    assert proc.returncode == 1
    assert f"{tmp_path / 'nowhere'}/hs/harmonized-system.csv does not exist" in err
    assert "--fetch" in err and "database" not in err and "Traceback" not in err
