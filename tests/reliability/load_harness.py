"""Load harness: many concurrent users drive one real `tradewatch serve` through the Discord stand-in.

Each simulated user sends its share of the plan one interaction at a time, as a person does (a user waits
for the answer before asking again); all users run at once. For every interaction the harness records

- time to acknowledgement: from INTERACTION_CREATE to the bot's callback, on the stand-in's clock (Discord's
  3-second rule is measured the same way; past it the stand-in refuses the callback with 10062);
- time to final reply: until the message the user finally sees exists (the "thinking" placeholder filled,
  or the private followup of a refusal); for autocomplete, the choices themselves;

and checks the answer against the one computed in-process (tests/reliability/load_jobs.py), that the
stand-in refused nothing (it enforces Discord's limits), and that no reply can ping anyone.

    python -m tests.reliability.load_harness                  # 1,000 interactions, 50 users, both backends
    python -m tests.reliability.load_harness --backend sqlite --commands 200 --users 20 --json out.json

`make load` runs the first line. Exit status 0 only when every interaction passed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tests.conftest import SHARED_DATA
from tests.discord_standin.store import Message
from tests.reliability.load_jobs import Expected, Job, compute_expected, embed_view, file_view, plan
from tests.reliability.stack import Stack, discard_database, load_database, running_stack

ACK_LIMIT = 3.0
EPHEMERAL = 1 << 6
TEMPORARY = "cannot reach its database right now"  # bot/errors.database_down


@dataclass
class Outcome:
    """One interaction as the user lived it."""

    label: str
    user: str
    kind: str  # "command" or "autocomplete"
    ack: float | None = None
    reply: float | None = None
    problem: str | None = None
    temporary: bool = False  # answered "try again in a minute" (only accepted when the database was down)


class ReplyClock:
    """Stand-in listener: when each interaction's visible answer (not the "thinking" placeholder) appeared."""

    def __init__(self, stack: Stack) -> None:
        self.clock = stack.discord.clock
        self.seen: dict[int, float] = {}
        stack.discord.on_message(self)

    def __call__(self, event: str, message: Message) -> None:
        if event == "MESSAGE_DELETE" or message.loading or message.interaction_id is None:
            return
        self.seen.setdefault(message.interaction_id, self.clock.now())


def check_reply(message: Message, expected: Expected) -> str | None:
    """None when the message is the expected answer; otherwise what differs."""
    if message.allowed_mentions != {"parse": []} or any(message.pings().values()):
        return f"message may ping: allowed_mentions={message.allowed_mentions}"
    if message.unresolved_attachment_refs:
        return f"unresolved attachment refs {message.unresolved_attachment_refs}"
    if expected.kind == "refusal":
        if not message.ephemeral or message.embeds:
            return "a refusal must be a private text message"
        return None if message.content == expected.content else f"refusal text differs: {message.content!r}"
    if message.ephemeral or len(message.embeds) != 1:
        return f"expected one public embed, got ephemeral={message.ephemeral} embeds={len(message.embeds)}"
    seen = embed_view(message.embeds[0])
    if seen != expected.embed:
        diff = [k for k in seen if seen[k] != expected.embed.get(k)]
        return f"embed differs from the in-process answer in {diff}: {str(seen)[:300]}"
    files = {a.filename: file_view(a.filename, a.data) for a in message.attachments}
    return None if files == expected.files else f"files differ: {sorted(files)} vs {sorted(expected.files)}"


async def run_command(
    stack: Stack, job: Job, user: str, expected: Expected, times: ReplyClock, allow_temporary: bool = False
) -> Outcome:
    out = Outcome(job.label, user, "command")
    handle = await stack.discord.invoke(job.command, job.option_dict(), user=user)
    ack = await handle.ack(timeout=15)
    out.ack = ack.delay
    message = await handle.reply(timeout=180)
    out.reply = times.seen.get(handle.id, stack.discord.clock.now()) - handle.record.created_at
    if allow_temporary and message.ephemeral and TEMPORARY in message.content:
        out.temporary = True
    elif handle.rejections:
        out.problem = f"stand-in refused: {handle.rejections[0]}"
    elif not ack.deferred and expected.kind == "reply":
        out.problem = f"a reply with a chart or table must be deferred (ack type {ack.response_type})"
    else:
        out.problem = check_reply(message, expected)
    return out


async def run_autocomplete(
    stack: Stack, job: Job, user: str, expected: Expected, allow_temporary: bool = False
) -> Outcome:
    out = Outcome(job.label, user, "autocomplete")
    options = job.option_dict()
    choices = await stack.discord.autocomplete(
        job.command, job.focused, job.typed, options, user=user, timeout=15
    )
    interactions = stack.discord.standin.store.interactions.values()
    record = next(r for r in reversed(list(interactions)) if r.choices is choices)
    assert record.ack is not None
    out.ack = out.reply = record.ack.delay
    got = tuple((c["name"], c["value"]) for c in choices)
    if allow_temporary and not got and expected.choices:
        out.temporary = True  # no suggestions while the database is away
    elif got != expected.choices:
        out.problem = f"choices differ: {got[:3]} vs {expected.choices[:3]}"
    return out


async def run_one(
    stack: Stack, job: Job, user: str, expected: Expected, times: ReplyClock, allow_temporary: bool = False
) -> Outcome:
    try:
        if job.autocomplete:
            return await run_autocomplete(stack, job, user, expected, allow_temporary)
        return await run_command(stack, job, user, expected, times, allow_temporary)
    except AssertionError as exc:  # StandInTimeout, BotExited, refused autocomplete
        kind = "autocomplete" if job.autocomplete else "command"
        return Outcome(job.label, user, kind, problem=f"{type(exc).__name__}: {str(exc)[:300]}")


@dataclass
class LoadResult:
    backend: str
    commands: int
    users: int
    seconds: float
    outcomes: list[Outcome] = field(default_factory=list)
    serve_errors: list[str] = field(default_factory=list)
    loop_stalls: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[Outcome]:
        late = [o for o in self.outcomes if o.problem is None and (o.ack is None or o.ack >= ACK_LIMIT)]
        return [o for o in self.outcomes if o.problem is not None] + late

    @property
    def temporaries(self) -> int:
        return sum(o.temporary for o in self.outcomes)

    def figures(self) -> dict[str, dict[str, float]]:
        """p50/p95/p99/max in seconds: ack (every interaction), reply (commands; autocomplete = its ack)."""
        out: dict[str, dict[str, float]] = {}
        series = {
            "ack": [o.ack for o in self.outcomes if o.ack is not None],
            "reply": [o.reply for o in self.outcomes if o.reply is not None],
            "ack_commands": [o.ack for o in self.outcomes if o.kind == "command" and o.ack is not None],
            "reply_commands": [o.reply for o in self.outcomes if o.kind == "command" and o.reply is not None],
            "autocomplete": [o.ack for o in self.outcomes if o.kind == "autocomplete" and o.ack is not None],
        }
        for name, values in series.items():
            if values:
                p50, p95, p99 = np.percentile(values, [50, 95, 99])
                out[name] = {"p50": p50, "p95": p95, "p99": p99, "max": max(values), "n": len(values)}
        return out

    def report(self) -> str:
        lines = [
            f"{self.backend}: {len(self.outcomes)} interactions from {self.users} users in {self.seconds:.1f} s "
            f"({len(self.outcomes) / max(self.seconds, 1e-9):.1f}/s); problems: {len(self.problems)}; "
            f"event-loop stalls logged by the bot: {len(self.loop_stalls)}"
            + (f"; 'try again' answers: {self.temporaries}" if self.temporaries else ""),
            f"  {'series':18} {'n':>5} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}  (seconds)",
        ]
        for name, f in self.figures().items():
            lines.append(
                f"  {name:18} {int(f['n']):>5} {f['p50']:7.3f} {f['p95']:7.3f} {f['p99']:7.3f} {f['max']:7.3f}"
            )
        kinds = Counter(o.label for o in self.outcomes)
        lines.append("  mix: " + ", ".join(f"{label} x{n}" for label, n in kinds.most_common()))
        for o in self.problems[:10]:
            lines.append(f"  PROBLEM {o.label} ({o.user}): {o.problem or f'ack {o.ack}'}")
        for line in self.serve_errors[:5]:
            lines.append(f"  SERVE LOG {line[:300]}")
        return "\n".join(lines)


def serve_errors(stack: Stack, since: int = 0) -> list[str]:
    """Log lines (after character `since` of the log) that mean something went wrong in the bot.

    A blocked event loop is reported by the bot as a warning and counted separately (`loop_stalls`): on a
    shared two-core machine the OS alone can pause a process for half a second.
    """
    bad = ("level=error", "level=critical", "Traceback")
    return [line for line in stack.serve.text()[since:].splitlines() if any(b in line for b in bad)]


def loop_stalls(stack: Stack, since: int = 0) -> list[str]:
    return [line for line in stack.serve.text()[since:].splitlines() if "event=event_loop_blocked" in line]


async def run_load(
    stack: Stack,
    jobs: list[Job],
    expected: dict[Job, Expected],
    users: int | None = None,
    allow_temporary: bool = False,
) -> LoadResult:
    """Run `jobs` spread over the stack's users (round robin), every user sequentially, all users at once.

    `allow_temporary` accepts "try again in a minute" answers (and empty suggestions) as correct: for runs
    during which the database is deliberately taken away (tests/reliability/pg_restart.py).
    """
    names = stack.users[: users or len(stack.users)]
    log_start = len(stack.serve.text())
    times = ReplyClock(stack)
    shares: list[list[Job]] = [jobs[i :: len(names)] for i in range(len(names))]

    async def user_session(user: str, share: list[Job]) -> list[Outcome]:
        return [await run_one(stack, job, user, expected[job], times, allow_temporary) for job in share]

    started = time.perf_counter()
    per_user = await asyncio.gather(*(user_session(u, s) for u, s in zip(names, shares, strict=True)))
    seconds = time.perf_counter() - started
    stack.discord.standin.message_listeners.remove(times)
    outcomes = [o for batch in per_user for o in batch]
    return LoadResult(
        stack.backend,
        len(jobs),
        len(names),
        seconds,
        outcomes,
        serve_errors(stack, log_start),
        loop_stalls(stack, log_start),
    )


async def measure_backend(backend: str, commands: int, users: int, folder: Path) -> LoadResult:
    """Load a fresh database, start the stack with `users` members, compute expectations, run the load."""
    print(f"[{backend}] loading the real files ...", file=sys.stderr)
    url = await load_database(backend, folder / "db", SHARED_DATA)
    try:
        jobs = plan(commands)
        expected = await compute_expected(url, jobs)
        print(f"[{backend}] starting tradewatch serve ...", file=sys.stderr)
        async with running_stack(url, folder / "serve", users=users) as stack:
            warm = [j for j in dict.fromkeys(jobs)]  # one of each first: imports, caches, first chart
            await run_load(stack, warm, expected, users=min(users, len(warm)))
            print(f"[{backend}] {commands} interactions, {users} users ...", file=sys.stderr)
            return await run_load(stack, jobs, expected, users=users)
    finally:
        await discard_database(url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--commands", type=int, default=1000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--json", type=Path, help="also write the figures and every outcome here")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="tw-load-") as tmp:
        for backend in args.backend or ["sqlite", "postgresql"]:
            result = asyncio.run(measure_backend(backend, args.commands, args.users, Path(tmp) / backend))
            print(result.report(), flush=True)
            results.append(result)
    if args.json:
        body: list[dict[str, Any]] = [
            {"backend": r.backend, "users": r.users, "seconds": r.seconds, "figures": r.figures(),
             "problems": len(r.problems), "outcomes": [asdict(o) for o in r.outcomes]}
            for r in results
        ]  # fmt: skip
        args.json.write_text(json.dumps(body, indent=1), encoding="utf-8")
    return 0 if all(not r.problems and not r.serve_errors for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
