"""Faults under a running `tradewatch serve` with its sync schedule on (SQLite).

1. The publishers misbehave: one hangs, one cuts its body short, one answers an HTML error page with status
   200. Every sync fails with a clear reason and changes nothing; users keep getting correct answers; when
   the publishers recover, the schedule imports by itself.
2. The disk: the database lives on a small tmpfs. First its file is read-only (reads answered, a write gets
   "try again in a minute", and once writable again writes work without a restart); then the file system
   fills up (the same for writes, and a sync import fails and changes nothing); when space is freed the
   schedule imports by itself. Needs root and `mount` (a real full disk); test_sync_faults.py has the
   portable variants (chmod / PRAGMA max_page_count) that always run.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from db.engine import make_engine
from tests.conftest import SHARED_DATA
from tests.db.sync.source_server import SourceServer
from tests.db.sync.source_server import running_source_server as publisher
from tests.discord_standin import Driver
from tests.reliability.load_harness import check_reply
from tests.reliability.load_jobs import Expected, compute_expected, plan
from tests.reliability.stack import Stack, clone_database, running_stack
from tests.reliability.test_sync_faults import read_only

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

SOURCES = ("ofac_sdn", "ofac_cons", "ofac_changes", "csl", "opensanctions", "hs")
CONS = SHARED_DATA / "ofac/nonsdn_consolidated_2025-04"
CSL = SHARED_DATA / "bis_csl/csl_excerpts/consolidated_2025-06_excerpt.csv"
HS = SHARED_DATA / "hs/harmonized-system.csv"
TEMPORARY = "cannot reach its database right now"


def sync_config(synced: dict[str, list[str]], *, roles: bool = True) -> Callable[[Driver, Path], list[str]]:
    """serve with the schedule checking `synced` sources every few seconds (the others off)."""

    def lines(discord: Driver, folder: Path) -> list[str]:
        access = f", roles = [{discord.role('Researcher').id}]" if roles else ""
        out = [
            "[data]", f'data_dir = "{folder / "var"}"', "[comtrade]", "fetch_on_demand = false",
            "[sync]", "enabled = true", "jitter_seconds = 0.0", "timeout_seconds = 2.0",
        ]  # fmt: skip
        for key in SOURCES:
            out.append(f"[sync.{key}]")
            if key in synced:
                out += [f"urls = {json.dumps(synced[key])}", "interval_minutes = 0.05"]
            else:
                out.append("enabled = false")
        return [*out, "[discord]", f"guilds = [{{ id = {discord.guild.id}{access} }}]"]

    return lines


async def sync_states(url: str) -> dict[str, tuple[str | None, str | None]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT source_key, last_outcome, last_error FROM sync_state"))
            return {key: (outcome, error) for key, outcome, error in rows}
    finally:
        await engine.dispose()


async def snapshot_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT s.key, count(n.id) FROM sources s LEFT JOIN snapshots n ON n.source_id = s.id GROUP BY s.key"
                )
            )
            return {key: int(count) for key, count in rows}
    finally:
        await engine.dispose()


async def wait_until(check: Callable[[], object], what: str, stack: Stack, timeout: float = 60) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not await check():  # type: ignore[misc]
                await asyncio.sleep(0.25)
    except TimeoutError:
        raise AssertionError(
            f"timed out waiting for {what}\n--- serve log ---\n{stack.serve.text()[-3000:]}"
        ) from None


async def exports_answered(stack: Stack, expected: Expected, user: str) -> None:
    handle = await stack.discord.invoke(
        "exports", {"commodity": "graphite", "partner": "RU", "year": 2023}, user=user
    )
    assert (await handle.ack()).delay < 3
    assert check_reply(await handle.reply(timeout=60), expected) is None


async def expected_exports(url: str) -> Expected:
    job = next(j for j in plan(200) if j.text == "/exports graphite RU 2023")
    return (await compute_expected(url, [job]))[job]


def serve_misbehaving(source: SourceServer) -> dict[str, list[str]]:
    urls = {
        "ofac_cons": [
            source.serve_file(f"/{n}", CONS / n, mode="hang") for n in ("cons_prim.csv", "cons_add.csv")
        ],
        "csl": [source.serve_file("/consolidated.csv", CSL, mode="truncate")],
        "hs": [source.serve_file("/harmonized-system.csv", HS, mode="html")],
    }
    return urls


async def test_misbehaving_publishers_change_nothing_and_the_schedule_recovers_by_itself(
    loaded_url: str, tmp_path: Path
) -> None:
    if make_url(loaded_url).get_backend_name() != "sqlite":
        pytest.skip("the schedule's fetch failures do not depend on the database: run on SQLite")
    url = await clone_database(loaded_url, tmp_path / "db")
    expected = await expected_exports(url)
    before = await snapshot_counts(url)
    async with publisher() as source:
        config = sync_config(serve_misbehaving(source))
        async with running_stack(url, tmp_path / "serve", users=4, config=config) as stack:

            async def all_failed() -> bool:
                states = await sync_states(url)
                return all(states.get(k, (None,))[0] == "failed" for k in ("ofac_cons", "csl", "hs"))

            await wait_until(all_failed, "three failed syncs", stack)
            states = await sync_states(url)
            assert "did not answer within 2 s" in (states["ofac_cons"][1] or "")
            assert "truncated" in (states["csl"][1] or "")
            assert "HTML page instead of the data file" in (states["hs"][1] or "")
            assert await snapshot_counts(url) == before  # nothing half-imported
            await exports_answered(stack, expected, stack.users[0])

            for path in ("/cons_prim.csv", "/cons_add.csv", "/consolidated.csv", "/harmonized-system.csv"):
                source.set_mode(path, "ok")

            async def recovered() -> bool:
                # By snapshots, not by the last outcome: a source imported at one pass reads "unchanged" from
                # its next pass on, and the two lists need not recover at the same pass (their back-offs differ).
                counts, states = await snapshot_counts(url), await sync_states(url)
                return (
                    counts.get("ofac_cons", 0) > before.get("ofac_cons", 0)
                    and counts.get("csl", 0) > before.get("csl", 0)
                    and states["hs"][0] in ("imported", "unchanged")
                )

            await wait_until(recovered, "the schedule's next, successful syncs", stack)
            after = await snapshot_counts(url)
            assert (
                after["ofac_cons"] == before.get("ofac_cons", 0) + 1
                and after["csl"] == before.get("csl", 0) + 1
            )
            await exports_answered(stack, expected, stack.users[1])
            assert "Traceback" not in stack.serve.text()


@contextlib.contextmanager
def small_disk(path: Path, megabytes: int) -> Iterator[Path]:
    """A tmpfs of `megabytes` at `path` (root and mount needed; skipped otherwise)."""
    path.mkdir(parents=True)
    mounted = os.geteuid() == 0 and (
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(path)], capture_output=True).returncode == 0
    )  # fmt: skip
    if not mounted:
        pytest.skip(
            "a real full disk needs root and mount; test_sync_faults.py covers it with PRAGMA max_page_count"
        )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path) -> Path:
    """Write zeros until the file system is full; returns the filler file (delete it to free the space)."""
    filler = folder / "filler.bin"
    chunk = b"\0" * (1 << 20)
    with filler.open("wb") as fh:
        try:
            while True:
                fh.write(chunk)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


async def watch_add(stack: Stack, keywords: str) -> str:
    """/watch add as carol (Manage Channels); the private answer's text (content or embed)."""
    handle = await stack.discord.invoke("watch add", {"keywords": keywords}, user="carol")
    assert (await handle.ack()).delay < 3
    reply = await handle.reply(timeout=60)
    assert reply.ephemeral and not handle.rejections and "went wrong" not in reply.content
    return reply.content + json.dumps(reply.embeds, ensure_ascii=False)


async def test_read_only_then_full_disk_under_serve(loaded_url: str, tmp_path: Path) -> None:
    if make_url(loaded_url).get_backend_name() != "sqlite":
        pytest.skip("a disk of its own: SQLite")
    with small_disk(tmp_path / "disk", 80) as disk, contextlib.ExitStack() as writable_again:
        url = await clone_database(loaded_url, disk)
        database = Path(make_url(url).database or "")
        expected = await expected_exports(url)
        before = await snapshot_counts(url)
        writable_again.enter_context(read_only(database))  # read-only before serve opens it
        async with publisher() as source:
            cons = [
                source.serve_file(f"/{n}", CONS / n, mode="missing")
                for n in ("cons_prim.csv", "cons_add.csv")
            ]
            config = sync_config({"ofac_cons": cons}, roles=False)
            async with running_stack(url, tmp_path / "serve", users=2, config=config) as stack:
                # Read-only file: reads answered, a write refused politely; writable again: works, no restart.
                await exports_answered(stack, expected, stack.users[0])
                assert TEMPORARY in await watch_add(stack, "sinno")
                writable_again.close()
                assert "Watch" in await watch_add(stack, "sinno")

                # Full disk: the same for writes; the schedule's syncs fail and change nothing.
                filler = fill(disk)
                assert TEMPORARY in await watch_add(stack, "king pai")
                for name in ("cons_prim.csv", "cons_add.csv"):
                    source.set_mode(f"/{name}", "ok")
                failures = stack.serve.text().count("pass failed")

                async def failed_on_full_disk() -> bool:
                    return stack.serve.text().count("pass failed") > failures

                await wait_until(failed_on_full_disk, "a sync attempt on the full disk", stack)
                assert (await snapshot_counts(url)).get("ofac_cons", 0) == before.get("ofac_cons", 0)
                await exports_answered(stack, expected, stack.users[1])

                # Space freed: the schedule imports by itself and writes work again.
                filler.unlink()

                async def imported() -> bool:
                    return (await snapshot_counts(url)).get("ofac_cons", 0) == before.get("ofac_cons", 0) + 1

                await wait_until(imported, "the import once space was freed", stack)
                assert "Watch" in await watch_add(stack, "king pai")
                assert "event=command_failed" not in stack.serve.text()
