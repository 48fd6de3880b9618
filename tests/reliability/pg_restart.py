"""A real PostgreSQL restart under a running `tradewatch serve`: during queries and during a sync.

NOT part of `make test`: `pg_ctlcluster ... restart` cuts every client of the server, other test runs included.
The suite simulates the same for its own database with pg_terminate_backend (test_database_faults.py,
test_sync_faults.py); this script does the real thing:

    python -m tests.reliability.pg_restart        # or: make load-restart   (needs root and pg_ctlcluster)

1. Loads a database from the real files, starts serve with 20 users and the OFAC SDN schedule on.
2. Starts a load of slash commands and autocompletes; lets the publisher offer a new SDN file; restarts
   PostgreSQL the moment the import is writing (or, if it already finished, in the middle of the load).
3. Every interaction must be answered correctly or with "try again in a minute" (none unanswered, no error
   id); afterwards a second load must be answered in full, the sync must import the file by itself, and the
   database must hold the snapshot whole (its list changes all there) or not at all.
Exit status 0 when all of that holds.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import SHARED_DATA
from tests.db.sync.source_server import running_source_server as publisher
from tests.reliability.load_harness import LoadResult, run_load
from tests.reliability.load_jobs import Job, compute_expected, plan
from tests.reliability.stack import Stack, discard_database, load_database, running_stack
from tests.reliability.test_database_faults import connect
from tests.reliability.test_serve_faults import snapshot_counts, sync_config

SDN_NEW = (
    SHARED_DATA / "ofac/sdn_snapshots/2024-04-26/sdn.csv"
)  # 298 delistings against the loaded 2024-05-01


def cluster() -> tuple[str, str]:
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir())
    return versions[-1], "main"


def restart_postgresql() -> float:
    """`pg_ctlcluster --skip-systemctl-redirect VERSION main restart`; returns seconds until it answers again."""
    version, name = cluster()
    started = time.monotonic()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart"], check=True)
    while subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"]).returncode != 0:
        time.sleep(0.1)
    return time.monotonic() - started


async def wait_for_import_writes(url: str, timeout: float = 60) -> bool:
    """True once a backend is writing the new snapshot's rows (False if none was seen in `timeout`)."""
    monitor = await connect(url)
    try:
        async with asyncio.timeout(timeout):
            while not await monitor.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND (query ILIKE 'UPDATE entities%' OR query ILIKE 'INSERT INTO entit%' "
                "OR query ILIKE 'INSERT INTO list_changes%')"
            ):
                await asyncio.sleep(0.005)
        return True
    except TimeoutError:
        return False
    finally:
        await monitor.close()


async def snapshot_whole(url: str) -> tuple[int, int]:
    """(snapshots of ofac_sdn, list changes of its newest snapshot): all of them or none."""
    conn = await connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT count(n.id) AS snapshots, (SELECT count(*) FROM list_changes c WHERE c.snapshot_id = max(n.id)) AS changes "
            "FROM snapshots n JOIN sources s ON s.id = n.source_id WHERE s.key = 'ofac_sdn'"
        )
        return int(row["snapshots"]), int(row["changes"])
    finally:
        await conn.close()


def unaffected_by_the_sync(count: int, seed: int) -> list[Job]:
    """Questions whose answers the new SDN snapshot cannot change (an /entity card cites its newest listing,
    so its expected answer would move when the sync lands in the middle of the load)."""
    return [job for job in plan(count, seed=seed) if job.command != "entity"]


async def restart_under_load(
    stack: Stack, url: str, source_path: str, source: object
) -> tuple[LoadResult, str]:
    jobs = unaffected_by_the_sync(360, seed=5)
    expected = await compute_expected(url, jobs)
    load = asyncio.create_task(run_load(stack, jobs, expected, allow_temporary=True))
    await asyncio.sleep(3)  # commands in flight
    source.set_mode(source_path, "ok")  # type: ignore[attr-defined]
    during_sync = await wait_for_import_writes(url, timeout=30)
    seconds = await asyncio.to_thread(restart_postgresql)
    when = (
        "while the sync was writing" if during_sync else "during the load (the sync was not caught writing)"
    )
    return await load, f"PostgreSQL restarted {when}; it answered again after {seconds:.1f} s"


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="tw-pg-restart-") as tmp:
        folder = Path(tmp)
        url = await load_database("postgresql", folder / "db", SHARED_DATA)
        try:
            before = await snapshot_counts(url)
            async with publisher() as source:
                sdn = source.serve_file("/sdn.csv", SDN_NEW, mode="missing")
                config = sync_config({"ofac_sdn": [sdn]})
                async with running_stack(url, folder / "serve", users=20, config=config) as stack:
                    during, what = await restart_under_load(stack, url, "/sdn.csv", source)
                    print(what + "\n" + during.report())
                    jobs = plan(150, seed=6)  # all kinds again, /entity included (the sync is done)
                    after = await run_load(stack, jobs, await compute_expected(url, jobs))
                    print("after the restart:\n" + after.report())
                    async with asyncio.timeout(120):
                        while (await snapshot_counts(url)).get("ofac_sdn", 0) <= before.get("ofac_sdn", 0):
                            await asyncio.sleep(1)
                    snapshots, changes = await snapshot_whole(url)
                    print(
                        f"ofac_sdn snapshots {before.get('ofac_sdn')} -> {snapshots}; newest has {changes} list changes"
                    )
                    log = stack.serve.text()
            ok = (
                not during.problems and not after.problems and not after.temporaries
                and changes == 298 and "event=command_failed" not in log
            )  # fmt: skip
            print("PASS" if ok else "FAIL")
            return 0 if ok else 1
        finally:
            await discard_database(url)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
