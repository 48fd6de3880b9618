"""Secrets never leak: a full session of `tradewatch serve` (and the CLI) with a Discord token, a UN Comtrade
key and a PostgreSQL password, through answers, refusals, an upstream that echoes the key, a failing sync,
the database cut mid-query, and shutdown; then every log line, every CLI output, every message and file the
stand-in recorded, and every error stored in the database are searched for the three secrets.

The database role has a password (CREATE ROLE ... PASSWORD) and the URL carries it, as an operator's
TRADEWATCH_DATABASE_URL does. The server here trusts local connections, so PostgreSQL does not check that
password; what is tested is that nothing the bot or the CLI writes or sends ever shows it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from sqlalchemy.engine import make_url

from tests.discord_standin import Driver
from tests.discord_standin.driver import InteractionHandle
from tests.e2e.bot_harness import REPO, process_env
from tests.local_http import start_local
from tests.reliability.stack import (
    QUERY_ROLE,
    Stack,
    _pg_admin,
    clone_database,
    discard_database,
    running_stack,
)
from tests.reliability.test_database_faults import connect, terminate_others

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

OTHER_SOURCES = ("ofac_sdn", "ofac_cons", "ofac_changes", "opensanctions", "hs")


@dataclass
class Secrets:
    token: str
    comtrade_key: str
    db_password: str

    def all(self) -> dict[str, str]:
        return {
            "discord token": self.token,
            "comtrade key": self.comtrade_key,
            "db password": self.db_password,
        }


class Upstream:
    """UN Comtrade and a publisher, both misbehaving: Comtrade refuses the key and echoes it back in its error
    body (a careless gateway does); the CSL download answers 500."""

    def __init__(self) -> None:
        self.base = ""
        self.keys_seen: list[str] = []
        self.csl_hits = 0

    async def comtrade(self, request: web.Request) -> web.Response:
        key = request.headers.get("Ocp-Apim-Subscription-Key", "")
        self.keys_seen.append(key)
        body = {"statusCode": 401, "message": f"Access denied: invalid subscription key {key}"}
        return web.json_response(body, status=401)

    async def csl(self, request: web.Request) -> web.Response:
        self.csl_hits += 1
        return web.Response(status=500, text="internal error")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def upstream() -> AsyncIterator[Upstream]:
    server = Upstream()
    app = web.Application()
    app.router.add_route("GET", "/data/{tail:.*}", server.comtrade)
    app.router.add_route("GET", "/public/{tail:.*}", server.comtrade)
    app.router.add_route("GET", "/csl.json", server.csl)
    runner, server.base = await start_local(app)
    yield server
    await runner.cleanup()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def password_db(
    loaded_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, str]]:
    """(URL with password, password): a clone of the loaded database, used through a role of its own."""
    if make_url(loaded_url).get_backend_name() != "postgresql":
        pytest.skip("the database password is a PostgreSQL matter (the token and key are checked there too)")
    clone = await clone_database(loaded_url, tmp_path_factory.mktemp("secrets"))
    role, password = f"tw_secret_{secrets.token_hex(4)}", f"pw-{secrets.token_hex(12)}"
    database = make_url(clone).database
    await _pg_admin(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    try:
        admin = await connect(clone)
        try:
            for grant in (
                f'GRANT ALL ON DATABASE "{database}" TO {role}',
                f"GRANT ALL ON SCHEMA public TO {role}",
                f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}",
                f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}",
            ):
                await admin.execute(grant)
        finally:
            await admin.close()
        yield (
            make_url(clone).set(username=role, password=password).render_as_string(hide_password=False),
            password,
        )
    finally:
        await discard_database(clone)
        await _pg_admin(f"DROP ROLE IF EXISTS {role}")


def secrets_config(folder: Path, guild_id: int, role_id: int, upstream: Upstream) -> list[str]:
    return [
        "[data]",
        f'data_dir = "{folder / "var"}"',
        "[comtrade]",
        f'api_base = "{upstream.base}"',
        "fetch_on_demand = true",
        "timeout_seconds = 5.0",
        "max_pages = 2",
        "[sync]",
        "enabled = true",
        "jitter_seconds = 0.0",
        "timeout_seconds = 5.0",
        "[sync.csl]",
        f'urls = ["{upstream.base}/csl.json"]',
        "interval_minutes = 0.05",
        *(line for key in OTHER_SOURCES for line in (f"[sync.{key}]", "enabled = false")),
        "[discord]",
        f"guilds = [{{ id = {guild_id}, roles = [{role_id}] }}]",
    ]


async def wait_for_failed_sync(url: str, timeout: float = 60) -> str:
    """The CSL sync's recorded error, once the schedule has tried and failed."""
    conn = await connect(url)
    try:
        async with asyncio.timeout(timeout):
            while True:
                row = await conn.fetchrow(
                    "SELECT last_outcome, last_error FROM sync_state WHERE source_key = 'csl'"
                )
                if row is not None and row["last_outcome"] == "failed":
                    return str(row["last_error"])
                await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def exercise(stack: Stack, url: str) -> None:
    """Answers, refusals, an upstream error in a reply, the database cut mid-session, /sources after a failed sync."""
    discord, users = stack.discord, stack.users
    for command, options in [
        ("exports", {"commodity": "graphite", "partner": "RU", "year": 2023}),
        ("exports", {"commodity": "chips", "partner": "RU", "year": 2023}),  # not loaded: asks Comtrade
        ("entity", {"name": "Poly Group"}),
        ("entity", {"name": "x"}),  # refused: too short
        ("hs", {"query": "chips"}),
    ]:
        await (await discord.invoke(command, options, user=users[0])).reply(timeout=60)
    await discord.autocomplete("entity", "name", "king pa", user=users[1])
    admin = await connect(url)
    try:
        await terminate_others(admin)  # the pool's connections die; the next command recovers
    finally:
        await admin.close()
    await (await discord.invoke("hs", {"query": "2818"}, user=users[2])).reply(timeout=60)
    await wait_for_failed_sync(url)
    await (await discord.invoke("sources", {}, user=users[3])).reply(timeout=60)


def run_cli(config: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done.stdout + done.stderr


def recorded_text(stack: Stack, skip: InteractionHandle | None = None) -> str:
    """Everything the stand-in recorded from the bot: messages (ephemeral too), files, request bodies; except
    the answers to the interaction `skip`."""
    store = stack.discord.standin.store
    skipped = {m.id for m in skip.messages} if skip else set()
    messages = [m for m in store.messages.values() if m.id not in skipped]
    requests = [r for r in store.requests if not (skip and skip.record.token in r.path)]
    parts = [json.dumps(m.payload(), ensure_ascii=False) for m in messages]
    parts += [a.data.decode("latin-1") for m in messages for a in m.attachments]
    parts += [json.dumps(r.json, ensure_ascii=False, default=str) for r in requests if r.json is not None]
    parts += [f.data.decode("latin-1") for r in requests for f in r.files]
    return "\n".join(parts)


async def test_no_secret_appears_in_logs_errors_replies_or_the_database(
    password_db: tuple[str, str], upstream: Upstream, tmp_path: Path
) -> None:
    url, password = password_db
    key = f"ck-{secrets.token_hex(16)}"

    def config(discord: Driver, folder: Path) -> list[str]:
        return secrets_config(folder, discord.guild.id, discord.role(QUERY_ROLE).id, upstream)

    async with running_stack(  # at debug level: discord.py then logs every payload and webhook URL
        url,
        tmp_path,
        users=6,
        config=config,
        env_extra={"COMTRADE_API_KEY": key},
        serve_args=("--log-level", "debug"),
    ) as stack:
        found = Secrets(stack.discord.token, key, password)
        await exercise(stack, url)
        # The token pasted into an option: refused (no such partner) and logged with its options. The private
        # refusal quotes it back to the one who typed it; that answer is left out of the search below.
        pasted = await stack.discord.invoke(
            "exports",
            {"commodity": "graphite", "partner": stack.discord.token, "year": 2023},
            user=stack.users[4],
        )
        await pasted.reply(timeout=60)
        cli_env = process_env(stack.discord.env() | {"TRADEWATCH_DATABASE_URL": url, "COMTRADE_API_KEY": key})
        await stack.serve.stop()
        replies = recorded_text(stack, skip=pasted)
        interaction_tokens = [i.token for i in stack.discord.standin.store.interactions.values()]
    config_file = tmp_path / "config.toml"
    cli = run_cli(config_file, cli_env, "ask", "/exports chips RU 2023") + run_cli(
        config_file, cli_env, "sync", "csl"
    )
    stored = await stored_errors(url)

    assert key in upstream.keys_seen  # the key was really used, and echoed back by the upstream
    assert "Fetching from UN Comtrade failed" in replies and "[redacted]" in replies and "csl" in stored
    assert "csl: failed" in cli and "UN Comtrade" in cli
    places = {
        "serve log": stack.serve.text(),
        "Discord messages and requests": replies,
        "CLI": cli,
        "database": stored,
    }
    leaks = [
        (what, where)
        for what, value in found.all().items()
        for where, text in places.items()
        if value in text
    ]
    assert leaks == []
    # Each interaction token lets anyone answer as the bot for 15 minutes: none in the log, at any level.
    assert interaction_tokens and not [t for t in interaction_tokens if t in stack.serve.text()]
    assert [x for x in stack.serve.events("command_refused") if "[redacted]" in x]  # the pasted token
    # No traceback but at debug level (where an expected upstream failure carries its own).
    assert not [x for x in stack.serve.text().splitlines() if "Traceback" in x and "level=debug" not in x]


async def stored_errors(url: str) -> str:
    """Error texts the bot keeps and shows later (/sources shows sync_state.last_error), and snapshot notes."""
    conn = await connect(url)
    try:
        rows = await conn.fetch("SELECT source_key, last_error, files::text FROM sync_state")
        rows += await conn.fetch("SELECT file_name, meta::text FROM snapshots")
    finally:
        await conn.close()
    return json.dumps([dict(r) for r in rows], default=str)
