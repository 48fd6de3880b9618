"""`tradewatch sync` as a real process against a local source server: exit codes, output, a delisting."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import ListChange, Snapshot
from tests.db.sync.source_server import SourceServer

REPO = Path(__file__).resolve().parents[2]
CONS = "/ofac/downloads/"


def write_config(tmp_path: Path, db_url: str, server: SourceServer) -> Path:
    urls = [server.url(CONS + name) for name in ("cons_prim.csv", "cons_add.csv")]
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{db_url}"\n[data]\ndata_dir = "{tmp_path / "var"}"\n'
        f"[sync]\ntimeout_seconds = 5.0\n[sync.ofac_cons]\nurls = {json.dumps(urls)}\n"
    )
    return path


def serve_cons(server: SourceServer, shared_data: Path, folder: str, date: str) -> None:
    for name in ("cons_prim.csv", "cons_add.csv"):
        server.serve_file(CONS + name, shared_data / "ofac" / folder / name, last_modified=date)


async def tradewatch(config: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADEWATCH_", "DISCORD_"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(config),
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_sync_cli_baseline_delisting_and_failure(
    tmp_path: Path,
    db_url: str,
    sessions: async_sessionmaker[AsyncSession],
    source_server: SourceServer,
    shared_data: Path,
) -> None:
    config = write_config(tmp_path, db_url, source_server)
    serve_cons(source_server, shared_data, "nonsdn_consolidated_2025-04", "Tue, 15 Apr 2025 12:00:00 GMT")
    code, out, err = await tradewatch(config, "sync", "ofac_cons")
    assert code == 0, err
    assert "ofac_cons: imported" in out and "0 list changes" in out

    code, out, _ = await tradewatch(config, "sync", "ofac_cons", "--json")
    assert code == 0 and json.loads(out)["outcome"] == "unchanged"

    serve_cons(source_server, shared_data, "nonsdn_consolidated_2025-12", "Mon, 01 Dec 2025 12:00:00 GMT")
    code, out, err = await tradewatch(config, "sync", "ofac_cons")
    assert code == 0, err
    async with sessions() as session:
        removed = (
            (await session.execute(select(ListChange).where(ListChange.change == "removed"))).scalars().all()
        )
    assert [(c.entity_key, c.name) for c in removed] == [("26182", "KAYAKIRAN, Evren")]

    source_server.set_mode(CONS + "cons_add.csv", "html")
    source_server.routes[CONS + "cons_prim.csv"].body += b" "  # a new version, so the set is refetched
    code, out, err = await tradewatch(config, "sync", "ofac_cons")
    assert code == 1
    assert "ofac_cons: failed" in err and "HTML page" in err and "Traceback" not in err
    async with sessions() as session:  # cons_prim.csv arrived fine, but a set is imported whole or not at all
        assert len((await session.execute(select(Snapshot.id))).all()) == 2


async def test_unknown_source_is_a_usage_error(
    tmp_path: Path, db_url: str, source_server: SourceServer
) -> None:
    code, _, err = await tradewatch(write_config(tmp_path, db_url, source_server), "sync", "ofac")
    assert code == 2 and "unknown source ofac; known: ofac_sdn, ofac_cons" in err
