"""Helpers for the bot end-to-end tests: a database loaded from the real files, and `tradewatch serve` as a process.

The database is loaded once per backend through the real importers (the same calls as `tradewatch import`);
the bot is the real console entry point, pointed at the Discord stand-in by DISCORD_API_BASE and
DISCORD_GATEWAY_URL, exactly as an operator would run it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import signal
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from db.engine import make_engine, make_sessionmaker, upgrade
from db.sources import load_importer

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
CHINA_TABLE = "trade/china_exports_hs6_monthly_derived/deep_dive_hs6_monthly.csv"

# (importer, path under ../shared/data or absolute, options): the real files the assertions rely on.
REAL_IMPORTS: list[tuple[str, str, dict[str, object]]] = [
    ("hs", "hs/harmonized-system.csv", {}),
    ("trade-csv", CHINA_TABLE, {"mapping": "china_exports_hs6_monthly"}),
    ("ofac", "ofac/sdn_snapshots/2022-09-30", {"data_date": "2022-09-30"}),
    ("ofac", "ofac/sdn_snapshots/2024-05-01", {"data_date": "2024-05-01"}),  # KING-PAI TECHNOLOGY HK
    (
        "opensanctions",
        "opensanctions/ua_war_sanctions_2026-03-13/targets.simple.csv",
        {"dataset": "ua_war_sanctions"},
    ),
    ("curated", str(REPO / "db" / "curated"), {}),  # the cited Poly Group starter file
]


async def load_real_files(url: str, shared_data: Path) -> None:
    """Migrate the database at `url` and load REAL_IMPORTS into it."""
    engine = make_engine(url)
    try:
        await upgrade(engine)
        sessions = make_sessionmaker(engine)
        for source, relative, options in REAL_IMPORTS:
            path = Path(relative) if relative.startswith("/") else shared_data / relative
            await load_importer(source)(sessions, path, now=NOW, **options)
    finally:
        await engine.dispose()


async def create_pg_database(admin_url: str) -> str:
    """A new, empty PostgreSQL database of its own (the shared test database is truncated by other tests)."""
    import asyncpg

    url = make_url(admin_url)
    name = f"tradewatch_bot_e2e_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(database=name).render_as_string(hide_password=False)


async def drop_pg_database(admin_url: str, db_url: str) -> None:
    import asyncpg

    url = make_url(admin_url)
    name = make_url(db_url).database
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def write_config(path: Path, db_url: str, guild_id: int, allowed_role: int) -> Path:
    """One guild where only `allowed_role` may query; no fetching from the internet, no sync schedule."""
    lines = [
        "[database]",
        f'url = "{db_url}"',
        "[data]",
        f'data_dir = "{path.parent / "var"}"',
        "[comtrade]",
        "fetch_on_demand = false",
        "[sync]",
        "enabled = false",
        "[discord]",
        f"guilds = [{{ id = {guild_id}, roles = [{allowed_role}] }}]",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def process_env(extra: dict[str, str]) -> dict[str, str]:
    """The parent environment without Tradewatch/Discord settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADEWATCH_", "DISCORD_", "COMTRADE_"))}
    return env | extra | {"PYTHONUNBUFFERED": "1"}


@dataclass
class ServeProcess:
    """`python -m bot --config FILE serve` (the `tradewatch serve` entry point) with its log in a file."""

    config: Path
    env: dict[str, str]
    log: Path
    proc: asyncio.subprocess.Process | None = None
    args: tuple[str, ...] = ()  # after `serve`, e.g. ("--log-level", "debug")

    async def start(self) -> None:
        with self.log.open("wb") as handle:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "--config",
                str(self.config),
                "serve",
                *self.args,
                cwd=REPO,
                env=self.env,
                stdout=handle,
                stderr=asyncio.subprocess.STDOUT,
            )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def events(self, name: str) -> list[str]:
        """Log lines of one structured event (`event=name`)."""
        return [line for line in self.text().splitlines() if re.search(rf"\bevent={re.escape(name)}\b", line)]

    async def wait_event(self, name: str, timeout: float = 30.0) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            found = self.events(name)
            if found:
                return found[0]
            if self.proc is not None and self.proc.returncode is not None:
                break
            await asyncio.sleep(0.1)
        raise AssertionError(f"no event={name} in the serve log:\n{self.text()[-4000:]}")

    async def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send `sig` and wait for the exit code."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise AssertionError(
                f"serve did not stop within {timeout} s after {sig.name}:\n{self.text()[-3000:]}"
            ) from None
