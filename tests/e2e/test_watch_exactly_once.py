"""Kill-and-restart: SIGKILL syncs, imports and `tradewatch serve` at random points; no alert is lost or doubled.

Workload: a run of OFAC non-SDN snapshots, each the real 2025-12 list with a random handful of entries left
out (invented variants for this test only, written to a temporary folder: each step delists some entries and
relists others). Odd steps arrive through the sync schedule inside `tradewatch serve` (a local source server
starts serving the step's files); even steps through `tradewatch import`. Two watches: every non-SDN change
(channel #alerts) and persons only (#newsroom).

Kill points, chosen by a seeded random generator (the seed is printed; TW_E2E_SEED replays the plan):
- during a sync: serve is killed just after the source server answered with the new files;
- during an import: the import process is killed after a random delay, then run again;
- at random moments: a serve process is killed (starting, delivering, idle) and restarted after a pause;
- between posting and marking: the stand-in kills every serve process the instant it has stored an alert
  message, before its answer reaches the bot, for a random set of alert posts.
SQLite runs one serve process; PostgreSQL runs two at once on the same database.

The channels are busy (other members post several messages a second in both) and the stand-in remembers a
message nonce for 3 s only (TW_E2E_NONCE_MEMORY; Discord: a few minutes), with serve told 2 s: a retry after a
kill usually comes after the nonce is forgotten, so serve must find its earlier post by reading the channel back
through hundreds of other messages (bot/alerts.py); reading too little posts the alert twice.

At the end, every alert must be in its channel exactly once: the stand-in's channel record, read back into
(change, entry) pairs, equals the changes computed from the plan, and no nonce has two messages.
Bounded: 6 steps and about 13 kill points per backend in `make test` (TW_E2E_STEPS sets the number of steps;
14 steps, 20 kill points or more, take 3-5 minutes per backend on a busy 2-core machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import random
import signal
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AlertOutbox, ListChange, Snapshot, Source
from tests.db.sync.fixtures import source_server  # noqa: F401  (the fixture)
from tests.db.sync.source_server import SourceServer
from tests.discord_standin import Driver
from tests.discord_standin.store import Message
from tests.e2e.test_watch_alerts import add_watch, outbox_settled
from tests.e2e.watch_harness import (
    ServeProcess,
    alert_messages,
    clean_env,
    posted_entries,
    run_import,
    start_import,
    write_config,
)

pytestmark = pytest.mark.e2e

# 6 steps in `make test` (about a minute per backend); TW_E2E_STEPS=10 or more for a longer soak.
STEPS = max(4, int(os.environ.get("TW_E2E_STEPS", "6")))
FILES = ("cons_prim.csv", "cons_add.csv")
SYNC_KILLS = STEPS // 3  # sync steps during which serve is killed
IMPORT_KILLS = STEPS // 3  # import steps whose first attempt is killed
POST_KILLS = 4  # alert posts after which every serve process dies before hearing back
CHAOS_KILLS = STEPS - 1  # serve processes killed at random moments
NONCE_MEMORY = float(os.environ.get("TW_E2E_NONCE_MEMORY", "3.0"))  # the stand-in's; serve is told 1 s less
CHATTER_PER_SECOND = 8  # other members' messages per second in each alert channel


@dataclass
class Plan:
    """The random choices of one run."""

    seed: int
    removed: list[set[str]] = field(default_factory=list)  # entries left out at each step
    killed_syncs: set[int] = field(default_factory=set)
    killed_imports: set[int] = field(default_factory=set)
    killed_posts: set[int] = field(default_factory=set)


def make_plan(seed: int, keys: list[str]) -> Plan:
    rng = random.Random(seed)
    plan = Plan(seed, removed=[set()])
    for _ in range(STEPS):
        keep = {k for k in sorted(plan.removed[-1]) if rng.random() < 0.5}  # some relisted, some still out
        plan.removed.append(keep | set(rng.sample(keys, rng.randint(1, 6))))
    plan.killed_syncs = set(rng.sample(range(1, STEPS + 1, 2), SYNC_KILLS))
    plan.killed_imports = set(rng.sample(range(2, STEPS + 1, 2), IMPORT_KILLS))
    # The 2nd post always (so every run has one), the others among the next ones (a run posts about 2.5-4.5
    # messages a step).
    plan.killed_posts = {2} | set(rng.sample(range(3, 2 * STEPS + 5), POST_KILLS - 1))
    return plan


def write_variants(base: Path, out: Path, plan: Plan) -> list[Path]:
    """One folder per step: cons_prim.csv and cons_add.csv without that step's left-out entries."""
    tables = {
        name: [
            r
            for r in csv.reader((base / name).open(encoding="utf-8", newline=""))
            if r and r[0].strip().isdigit()
        ]
        for name in FILES
    }
    folders = []
    for step, removed in enumerate(plan.removed):
        folder = out / f"step{step:02d}"
        folder.mkdir(parents=True)
        for name, rows in tables.items():
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\r\n").writerows(
                r for r in rows if r[0].strip() not in removed
            )
            # OFAC's format: CRLF rows and a final 0x1A byte (the importer refuses a file without it as cut).
            (folder / name).write_text(buffer.getvalue() + "\x1a", encoding="utf-8")
        folders.append(folder)
    return folders


def expected_changes(
    plan: Plan, persons: set[str]
) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """(every change, the persons' changes) over all steps, from the plan alone."""
    every: Counter[tuple[str, str]] = Counter()
    for before, after in zip(plan.removed, plan.removed[1:], strict=False):
        every.update(("removed", k) for k in after - before)
        every.update(("added", k) for k in before - after)  # relisted
    return every, Counter({(kind, k): n for (kind, k), n in every.items() if k in persons})


def sync_config(server: SourceServer) -> str:
    urls = ", ".join(f'"{server.url("/ofac/" + name)}"' for name in FILES)
    off = "\n".join(
        f"[sync.{key}]\nenabled = false" for key in ("ofac_sdn", "ofac_changes", "csl", "opensanctions", "hs")
    )
    return (
        f"[sync]\nenabled = true\njitter_seconds = 0.0\ntimeout_seconds = 30.0\n"
        f"[sync.ofac_cons]\nurls = [{urls}]\ninterval_minutes = 0.02\n{off}\n"
    )


class Chaos:
    """Kills serve processes: at random moments, and right after the stand-in stores chosen alert posts."""

    def __init__(self, serves: list[ServeProcess], rng: random.Random, plan: Plan) -> None:
        self.serves, self.rng, self.plan = serves, rng, plan
        self.posts = 0
        self.post_kills = 0
        self.random_kills = 0
        self.running = True

    def on_message(self) -> None:
        """Called by the stand-in after it stored a message, before it answers the request."""
        self.posts += 1
        if self.running and self.posts in self.plan.killed_posts and sum(s.kill() for s in self.serves):
            self.post_kills += 1

    async def keep_alive(self) -> None:
        """Restart dead serve processes after a random pause; kill one at random moments."""
        while self.running:
            await asyncio.sleep(self.rng.uniform(0.3, 1.0))
            for serve in self.serves:
                if not serve.alive and self.running:
                    await serve.wait_dead()
                    await serve.start()
            if self.random_kills < CHAOS_KILLS and self.rng.random() < 0.25:
                await asyncio.sleep(self.rng.uniform(1.0, 4.0))  # mid-startup, mid-delivery, idle: any moment
                if self.running and self.rng.choice(self.serves).kill():
                    self.random_kills += 1

    async def settle(self) -> None:
        self.running = False
        for serve in self.serves:
            if not serve.alive:
                await serve.wait_dead()
                await serve.start()


async def chatter(discord: Driver, rng: random.Random) -> None:
    """Other members talking in the alert channels the whole time: the look-back must read past them."""
    n = 0
    while True:
        await asyncio.sleep(0.25)
        for channel in ("alerts", "newsroom"):
            n += 1
            discord.post_as("reporter", channel, f"newsroom chatter {n}", count=CHATTER_PER_SECOND // 4)
        if rng.random() < 0.01:  # now and then a burst, like a thread taking off
            discord.post_as("reporter", "alerts", "burst", count=150)


async def snapshots(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        stmt = select(func.count()).select_from(Snapshot).join(Source).where(Source.key == "ofac_cons")
        return int((await session.execute(stmt)).scalar_one())


async def sync_step(
    server: SourceServer,
    folder: Path,
    step: int,
    kill: bool,
    chaos: Chaos,
    sessions: async_sessionmaker[AsyncSession],
) -> bool:
    """Publish the step's files and wait for serve's schedule to load them; kill serve mid-sync if asked.

    Returns whether serve was killed while the new files were being synced.
    """
    hits = len(server.hits)
    for name in FILES:
        server.serve_file(
            "/ofac/" + name, folder / name, last_modified=f"Mon, {step + 1:02d} Dec 2025 12:00:00 GMT"
        )
    killed = False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    while await snapshots(sessions) < step + 1:
        if kill and not killed and any(h.status == 200 for h in server.hits[hits:]):
            await asyncio.sleep(chaos.rng.uniform(0.0, 0.15))  # fetched: now parsing, importing or committing
            killed = bool(sum(s.kill() for s in chaos.serves))
        assert loop.time() < deadline, f"step {step} was never synced\n{chaos.serves[0].tail()}"
        await asyncio.sleep(0.05)
    return killed


async def import_step(
    config: Path, env: dict[str, str], folder: Path, kill: bool, rng: random.Random
) -> bool:
    """Import one step; when `kill`, SIGKILL the first attempt after a random delay. True if it was killed."""
    killed = False
    if kill:
        proc = await start_import(config, env, "ofac", folder)
        try:
            await asyncio.wait_for(proc.wait(), rng.uniform(0.3, 1.5))  # start-up, parsing, loading, commit
        except TimeoutError:
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
        await proc.wait()
    await run_import(config, env, "ofac", folder)  # "already loaded" if the killed attempt had committed
    return killed


async def test_no_alert_lost_or_doubled_when_killed_anywhere(
    tmp_path: Path,
    db_url: str,
    sessions: async_sessionmaker[AsyncSession],
    shared_data: Path,
    source_server: SourceServer,  # noqa: F811
) -> None:
    base = shared_data / "ofac" / "nonsdn_consolidated_2025-12"
    rows = [
        r
        for r in csv.reader((base / "cons_prim.csv").open(encoding="utf-8", newline=""))
        if r and r[0].isdigit()
    ]
    persons = {r[0] for r in rows if r[2].strip().lower() == "individual"}
    seed = int(os.environ.get("TW_E2E_SEED", random.randrange(1 << 30)))
    plan = make_plan(seed, sorted(r[0] for r in rows))
    folders = write_variants(base, tmp_path / "variants", plan)
    every, person_changes = expected_changes(plan, persons)
    rng = random.Random(seed + 1)
    backend = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    for name in FILES:  # the schedule first finds the baseline, which is already loaded
        source_server.serve_file(
            "/ofac/" + name, folders[0] / name, last_modified="Mon, 01 Dec 2025 12:00:00 GMT"
        )

    async with Driver(nonce_window=NONCE_MEMORY) as discord:
        discord.add_user("reporter")
        config = write_config(
            tmp_path / "config.toml",
            db_url,
            discord.guild.id,
            sync=sync_config(source_server),
            nonce_window_seconds=max(NONCE_MEMORY - 1.0, 0.5),
        )
        env = clean_env(discord.env())
        await run_import(config, env, "ofac", folders[0])  # the baseline
        serves = [
            ServeProcess(config, env, tmp_path, name=f"serve{i}")
            for i in range(2 if backend == "postgresql" else 1)
        ]
        for serve in serves:
            await serve.start()
        chaos = Chaos(serves, rng, plan)
        original = discord.standin.dispatch_message

        def dispatch(event: str, message: Message) -> None:
            original(event, message)
            if event == "MESSAGE_CREATE" and message.author.get("bot"):  # the bot's posts, not the chatter
                chaos.on_message()

        killed_syncs = killed_imports = 0
        keeper: asyncio.Task[None] | None = None
        talker: asyncio.Task[None] | None = None
        try:
            await discord.wait_ready(commands={"watch"}, timeout=90)
            await add_watch(discord, channel=discord.channel("alerts"), sources="ofac_cons")
            await add_watch(discord, channel=discord.channel("newsroom"), sources="ofac_cons", types="person")
            discord.standin.dispatch_message = dispatch  # type: ignore[method-assign]
            keeper = asyncio.create_task(chaos.keep_alive())
            talker = asyncio.create_task(chatter(discord, random.Random(seed + 2)))
            for step in range(1, STEPS + 1):
                if step % 2:
                    killed_syncs += await sync_step(
                        source_server, folders[step], step, step in plan.killed_syncs, chaos, sessions
                    )
                else:
                    killed_imports += await import_step(
                        config, env, folders[step], step in plan.killed_imports, rng
                    )
                await asyncio.sleep(rng.uniform(0.0, 1.5))
            await asyncio.sleep(3)  # let the chaos reach the last alerts too
            chaos.running = False
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            await chaos.settle()  # every serve process up again, and left alone from now on
            await outbox_settled(sessions, serves[0], timeout=180)
        finally:
            chaos.running = False  # nothing is restarted from here on, even after a failure
            for task in (keeper, talker):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            for serve in serves:
                await serve.stop()

    async with sessions() as session:
        changes = Counter((await session.execute(select(ListChange.change, ListChange.entity_key))).tuples())
        outbox = (await session.execute(select(AlertOutbox.nonce, AlertOutbox.message_id))).tuples().all()
    assert changes == every  # killed syncs and imports left nothing half-written and nothing twice

    posted = {"alerts": posted_entries(discord, "alerts"), "newsroom": posted_entries(discord, "newsroom")}
    wanted = {"alerts": every, "newsroom": person_changes}
    lost = sum((wanted[c] - posted[c] for c in wanted), Counter())
    doubled = sum((posted[c] - wanted[c] for c in wanted), Counter())
    messages = [m for c in wanted for m in alert_messages(discord, c)]
    per_nonce = Counter(m.nonce for m in messages)
    kills = killed_syncs + killed_imports + chaos.random_kills + chaos.post_kills
    logs = "".join(log.read_text(encoding="utf-8", errors="replace") for s in serves for log in s.logs)
    others = len(discord.standin.store.messages) - len(messages)
    print(
        f"\nexactly-once[{backend}] seed={seed}: {STEPS} steps ({killed_syncs} syncs and {killed_imports} imports "
        f"killed midway), {len(serves)} serve process(es) started {sum(s.runs for s in serves)} times, killed "
        f"{chaos.random_kills} times at random and {chaos.post_kills} times between posting and marking; "
        f"{len(outbox)} alerts in {len(messages)} messages among {others} others (nonce memory {NONCE_MEMORY} s; "
        f"{logs.count('event=alert_found_posted')} found by the look-back, "
        f"{logs.count('event=alert_lookback_incomplete')} incomplete); {kills} kills; "
        f"lost {sum(lost.values())}, duplicated {sum(doubled.values())}"
    )
    assert not lost and not doubled
    assert set(per_nonce.values()) == {1} and None not in per_nonce
    assert {mid for _, mid in outbox} == {m.id for m in messages}
    assert killed_syncs + killed_imports >= 1 and chaos.post_kills >= 1
