"""Helpers for the watch end-to-end tests: real processes (`tradewatch serve`, imports) against the stand-in.

- `ServeProcess`: `python -m bot --config FILE serve` as a subprocess, killed with SIGKILL when a test says so.
- `run_import`: an import in its own process (the same library call as `tradewatch import`), killable.
- `posted_entries`: what the stand-in's channel record shows, parsed back into (change, entry) pairs: a single
  alert names its entry in "What changed", a digest lists every entry in its CSV.
- `ofac_rows` / `diff_rows`: the expected changes, computed from the source files themselves.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import signal
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.discord_standin import Driver, Message

REPO = Path(__file__).resolve().parents[2]
ENTRY = re.compile(r"^(?:New entry|Entry) (\S+) ")
KIND_BY_TITLE = {"Newly listed": "added", "Delisted": "removed", "Listing amended": "amended"}


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The parent environment without Tradewatch/Discord settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADEWATCH_", "DISCORD_", "COMTRADE_"))}
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def write_config(path: Path, db_url: str, guild_id: int, *, sync: str | None = None, **alerts: Any) -> Path:
    """A config file for the test processes: the database, one guild, fast alerts.

    The sync schedule is off unless `sync` gives its TOML (tests never fetch from the internet).
    """
    settings = {"poll_seconds": 0.2, "lease_seconds": 4.0, "digest_threshold": 5, **alerts}
    lines = [
        "[database]",
        f'url = "{db_url}"',
        "[data]",
        f'data_dir = "{path.parent / "var"}"',
        "[discord]",
        f"guilds = [{{ id = {guild_id} }}]",
        "[alerts]",
        *(f"{k} = {v}" for k, v in settings.items()),
        *(sync.strip().splitlines() if sync else ["[sync]", "enabled = false"]),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class ServeProcess:
    """One `tradewatch serve` process; `logs` keeps each run's stderr (for failure messages)."""

    config: Path
    env: dict[str, str]
    log_dir: Path
    name: str = "serve"
    proc: asyncio.subprocess.Process | None = None
    runs: int = 0
    kills: int = 0
    logs: list[Path] = field(default_factory=list)

    async def start(self) -> None:
        self.runs += 1
        log = self.log_dir / f"{self.name}-{self.runs}.log"
        self.logs.append(log)
        handle = log.open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "--config",
            str(self.config),
            "serve",
            "--log-level",
            "info",
            cwd=REPO,
            env=self.env,
            stdout=handle,
            stderr=asyncio.subprocess.STDOUT,
        )
        handle.close()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def kill(self) -> bool:
        """SIGKILL (no cleanup at all, as in a crash); True when it was running."""
        if not self.alive:
            return False
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.kills += 1
        return True

    async def wait_dead(self) -> None:
        if self.proc is not None:
            await self.proc.wait()

    async def stop(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.kill()
                await self.wait_dead()

    def tail(self, lines: int = 40) -> str:
        if not self.logs:
            return ""
        text = self.logs[-1].read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


async def start_import(
    config: Path, env: dict[str, str], source: str, path: Path, data_date: str | None = None
) -> asyncio.subprocess.Process:
    """Start `tradewatch import SOURCE PATH [--data-date D]` as its own process."""
    args = [
        "--config",
        str(config),
        "import",
        source,
        str(path),
        *(["--data-date", data_date] if data_date else []),
    ]
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run_import(
    config: Path, env: dict[str, str], source: str, path: Path, data_date: str | None = None
) -> str:
    """Run an import to the end; its output, or AssertionError with its stderr."""
    proc = await start_import(config, env, source, path, data_date)
    out, err = await proc.communicate()
    assert proc.returncode == 0, f"import of {path} failed:\n{err.decode()[-3000:]}"
    return out.decode()


# --- what the channel shows --------------------------------------------------------------------------


def entries_of(message: Message) -> list[tuple[str, str]]:
    """The (change, entry) pairs one alert or digest message states."""
    digests = [
        a for a in message.attachments if a.filename.startswith("changes-") and a.filename.endswith(".csv")
    ]
    if digests:
        rows = csv.DictReader(io.StringIO(digests[0].data.decode("utf-8-sig")))
        return [(row["change"], row["entry"]) for row in rows]
    embed = message.embeds[0]
    title = embed.get("title", "")
    kind = next((k for prefix, k in KIND_BY_TITLE.items() if title.startswith(prefix)), None)
    what = next((f["value"] for f in embed.get("fields", []) if f["name"] == "What changed"), "")
    match = ENTRY.match(what)
    assert kind and match, f"cannot read the alert: {title!r} / {what[:200]!r}"
    return [(kind, match.group(1).replace("\\", ""))]


def posted_entries(discord: Driver, channel: str) -> Counter[tuple[str, str]]:
    """Every (change, entry) the channel's alert messages state, counted (a repeat would count twice)."""
    counts: Counter[tuple[str, str]] = Counter()
    for message in alert_messages(discord, channel):
        counts.update(entries_of(message))
    return counts


def alert_messages(discord: Driver, channel: str) -> list[Message]:
    """The alert and digest messages in a channel (not interaction replies, not /watch test samples)."""
    return [
        m
        for m in discord.messages(channel)
        if m.interaction_id is None
        and m.webhook_id is None
        and m.embeds
        and not m.embeds[0].get("title", "").startswith("[TEST]")
    ]


# --- what the files say --------------------------------------------------------------------------------


def ofac_rows(path: Path) -> dict[str, list[str]]:
    """OFAC legacy CSV rows by ent_num (no header; the trailing 0x1A line is skipped)."""
    rows: dict[str, list[str]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            if len(row) >= 2 and row[0].strip().isdigit():
                rows[row[0].strip()] = row
    return rows


def ofac_multi(path: Path) -> dict[str, list[tuple[str, ...]]]:
    """Rows of an OFAC side file (add/alt/comments) grouped by ent_num."""
    out: dict[str, list[tuple[str, ...]]] = {}
    for key, row in (
        (r[0].strip(), tuple(r))
        for r in csv.reader(path.open(encoding="utf-8", newline=""))
        if len(r) >= 2 and r[0].strip().isdigit()
    ):
        out.setdefault(key, []).append(row)
    return out


def diff_rows(before: dict[str, Any], after: dict[str, Any]) -> dict[str, set[str]]:
    """Added, removed and changed keys between two keyed snapshots."""
    return {
        "added": set(after) - set(before),
        "removed": set(before) - set(after),
        "amended": {k for k in set(before) & set(after) if before[k] != after[k]},
    }


def as_counter(changes: dict[str, set[str]]) -> Counter[tuple[str, str]]:
    return Counter((kind, key) for kind, keys in changes.items() for key in keys)
