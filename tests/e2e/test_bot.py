"""End to end: the real `tradewatch serve` process against the Discord stand-in and a database loaded from the
real files (SQLite and PostgreSQL), driven the way a user's Discord client drives it.

One stand-in, one loaded database and one bot process per backend serve every test in this module (loading
and starting cost about half a minute; each test then costs about a second). Faults (RECONNECT, 429s) are
injected in place and the bot must carry on; the last test stops it with SIGTERM and checks the exit.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import pytest_asyncio

from commands.trade_common import fmt_usd
from db.engine import head_revision
from db.lookups import Lookups
from tests.conftest import PG_ADMIN_URL
from tests.discord_standin import Driver, FileOption
from tests.discord_standin.store import Message
from tests.e2e.bot_harness import (
    CHINA_TABLE,
    ServeProcess,
    create_pg_database,
    drop_pg_database,
    load_real_files,
    process_env,
    write_config,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

CORE = {"exports", "top", "hs", "entity", "screen", "help"}
PNG = b"\x89PNG\r\n\x1a\n"
EPHEMERAL = 1 << 6


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loaded_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, shared_data: Path
) -> Iterator[tuple[str, str]]:
    """(backend, url) of a database loaded once from the real files through the real importers."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('bot-e2e') / 'tradewatch.sqlite3'}"
        asyncio.run(load_real_files(url, shared_data))
        yield "sqlite", url
        return
    url = asyncio.run(create_pg_database(PG_ADMIN_URL))
    try:
        asyncio.run(load_real_files(url, shared_data))
        yield "postgresql", url
    finally:
        asyncio.run(drop_pg_database(PG_ADMIN_URL, url))


@dataclass
class Stack:
    discord: Driver
    serve: ServeProcess
    backend: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(loaded_db: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """The stand-in, and `tradewatch serve` connected to it with only the Researcher role allowed to query."""
    backend, url = loaded_db
    async with Driver() as discord:
        folder = tmp_path_factory.mktemp(f"serve-{backend}")
        config = write_config(folder / "config.toml", url, discord.guild.id, discord.role("Researcher").id)
        serve = ServeProcess(config, process_env(discord.env()), folder / "serve.log")
        await serve.start()
        try:
            await discord.wait_ready(commands=CORE, timeout=120)
            await serve.wait_event("ready", timeout=30)
            yield Stack(discord, serve, backend)
        finally:
            if serve.proc is not None and serve.proc.returncode is None:
                await serve.stop()


def assert_clean(message: Message) -> None:
    """What every reply must be: no pings possible, every attachment:// reference resolved."""
    assert message.allowed_mentions == {"parse": []}
    assert not message.pings()["everyone"]
    assert message.unresolved_attachment_refs == []


async def public_reply(
    stack: Stack, command: str, options: dict[str, object], timeout: float = 30
) -> Message:
    handle = await stack.discord.invoke(command, options, user="alice")
    ack = await handle.ack()
    assert ack.deferred and ack.delay < 3 and not ack.ephemeral
    reply = await handle.reply(timeout=timeout)
    assert not reply.ephemeral and not handle.rejections
    assert_clean(reply)
    return reply


async def private_answer(stack: Stack, command: str, options: dict[str, object], user: str = "alice") -> str:
    """The ephemeral text a user gets for a refused request (before or after a defer)."""
    handle = await stack.discord.invoke(command, options, user=user)
    ack = await handle.ack()
    assert ack.delay < 3
    reply = await handle.reply(timeout=30)
    assert reply.ephemeral and reply.flags & EPHEMERAL
    assert not reply.embeds and "Traceback" not in reply.content
    assert not handle.rejections
    assert_clean(reply)
    return reply.content


def graphite_to_russia(shared_data: Path, lookups: Lookups, year: int) -> float:
    """China's graphite exports to Russia in a year, straight from the source file with pandas."""
    frame = pd.read_csv(shared_data / CHINA_TABLE, dtype={"hs6": str})
    frame = frame[frame.hs6.str.startswith(("2504", "380110")) & frame.period_dt.str.startswith(str(year))]
    russia = frame[frame.partner_name.map(lambda name: lookups.country(name).code) == 643]  # type: ignore[union-attr]
    return float(russia.val.sum())


async def test_health_line_at_start(stack: Stack) -> None:
    line = stack.serve.events("ready")[0]
    assert f"{stack.discord.guild.id}" in line and "Stand-in Newsroom" in line
    assert f"database={stack.backend}" in line and f"schema={head_revision()}" in line
    for source in ("hs", "ofac_sdn", "china_customs_derived", "opensanctions"):
        assert source in line
    assert len(stack.serve.events("commands_synced")) == 1
    # registered in the configured guild at start, never globally
    assert stack.discord.standin.store.global_commands == {}
    assert CORE <= set(stack.discord.commands())


async def test_exports_reply_with_chart_csv_and_citation(
    stack: Stack, shared_data: Path, lookups: Lookups
) -> None:
    reply = await public_reply(stack, "exports", {"commodity": "graphite", "partner": "RU", "year": 2023})
    embed = reply.embeds[0]
    assert "graphite" in embed["title"] and "2023" in embed["title"]
    assert fmt_usd(graphite_to_russia(shared_data, lookups, 2023)) in embed["description"]
    assert "Source:" in embed["footer"]["text"] and "2024-12" in embed["footer"]["text"]
    [png] = [a for a in reply.attachments if a.filename.endswith(".png")]
    assert png.data.startswith(PNG) and png.size > 10_000 and (png.width or 0) >= 600
    assert embed["image"]["url"] == png.url
    [table] = [a for a in reply.attachments if a.filename.endswith(".csv")]
    assert len(list(csv.reader(io.StringIO(table.data.decode("utf-8-sig"))))) > 12


async def test_exports_by_weight_against_a_base_year_over_months(stack: Stack) -> None:
    """The typed options of issue 14: measure (a choice), vs (a year) and months (text with suggestions)."""
    options = {
        "commodity": "artificial graphite",
        "partner": "RU",
        "year": 2023,
        "measure": "weight",
        "vs": 2021,
    }
    reply = await public_reply(stack, "exports", {**options, "months": "1-5"})
    embed = reply.embeds[0]
    assert embed["title"].endswith("Jan–May 2023, by weight")
    assert "× Jan–May 2021 by weight" in embed["description"]
    [table] = [a for a in reply.attachments if a.filename.endswith(".csv")]
    assert "weight_kg" in table.data.decode("utf-8-sig").splitlines()[0]
    refused = await private_answer(stack, "exports", {**options, "months": "5-1"})
    assert "runs backwards" in refused


@pytest.mark.parametrize(
    ("command", "options", "in_title"),
    [
        ("top partners", {"commodity": "graphite", "year": 2023}, "Top partners"),
        ("top goods", {"partner": "Russia", "year": 2023}, "Top goods"),
    ],
    ids=["partners", "goods"],
)
async def test_top_rankings_with_bar_charts(
    stack: Stack, command: str, options: dict[str, object], in_title: str
) -> None:
    reply = await public_reply(stack, command, options)
    assert in_title in reply.embeds[0]["title"]
    [png] = [a for a in reply.attachments if a.filename.endswith(".png")]
    assert png.data.startswith(PNG) and png.size > 10_000


async def test_hs_lookup(stack: Stack) -> None:
    reply = await public_reply(stack, "hs", {"query": "chips"})
    text = str(reply.embeds[0])
    assert "8542" in text and "integrated circuits" in text.lower()
    assert "CHPL" in text or "tier 1" in text.lower()


@pytest.mark.parametrize(("name", "expected"), [("King Pai Technology", "KING"), ("Poly Group", "Poly")])
async def test_entity_card(stack: Stack, name: str, expected: str) -> None:
    reply = await public_reply(stack, "entity", {"name": name})
    embed = reply.embeds[0]
    assert expected.lower() in embed["title"].lower()
    assert "Source:" in embed["footer"]["text"]


async def test_autocomplete(stack: Stack) -> None:
    discord = stack.discord
    commodities = await discord.autocomplete("exports", "commodity", "alu", {"partner": "RU"})
    assert commodities[0]["value"] == "aluminium oxide" and len(commodities) <= 25
    countries = await discord.autocomplete("exports", "partner", "rus", {"commodity": "chips"})
    assert countries[0] == {"name": "Russia (RU)", "value": "RU"}
    codes = await discord.autocomplete("hs", "query", "8542")
    assert [c["value"] for c in codes][:2] == ["8542", "854231"]
    names = await discord.autocomplete("entity", "name", "king pa")
    assert any("KING" in n["value"].upper() and "PAI" in n["value"].upper() for n in names)
    assert all(len(n["name"]) <= 100 for n in names) and len(names) <= 25


@pytest.mark.parametrize(
    ("command", "options", "expected"),
    [
        (
            "exports",
            {"commodity": "blorptastic", "partner": "RU", "year": 2023},
            "No alias or HS description matches",
        ),
        ("exports", {"commodity": "graphite", "partner": "Narnia"}, "Did you mean"),
        ("exports", {"commodity": "graphite", "partner": "RU", "year": 1995}, "Years with data: 2017"),
        ("top goods", {"partner": "Atlantis"}, "Unknown partner"),
        ("entity", {"name": "@everyone"}, "not a name"),
        ("entity", {"name": "x"}, "at least two letters"),
        ("entity", {"name": "Zzyzx Qwertyuiop"}, "No listed or curated entity matches"),
        ("hs", {"query": "zzqxv"}, "zzqxv"),
    ],
    ids=[
        "unknown-commodity",
        "unknown-country",
        "no-data-year",
        "unknown-partner",
        "mention-as-name",
        "too-short-name",
        "no-entity",
        "unknown-hs-words",
    ],
)
async def test_every_error_path_is_a_private_helpful_message(
    stack: Stack, command: str, options: dict[str, object], expected: str
) -> None:
    text = await private_answer(stack, command, options)
    assert expected in text
    assert "@everyone" not in text  # escaped even when the user typed it


async def test_over_long_answer_is_cut_within_limits_with_the_full_text_attached(stack: Stack) -> None:
    reply = await public_reply(stack, "hs", {"query": "84"})  # 86 headings under chapter 84
    embed = reply.embeds[0]
    shown = next(f for f in embed["fields"] if f["name"].startswith("Subheadings"))
    assert shown["value"].endswith("more line(s) in full-answer.csv") and len(shown["value"]) <= 1024
    rows = list(csv.reader(io.StringIO(reply.attachment("full-answer.csv").data.decode("utf-8-sig"))))
    kept = [row[1] for row in rows if row[0].startswith("Subheadings")]
    assert len(kept) == 25 and kept[-1].startswith("8425")  # the full 25-line table, not the cut one


async def test_screen_a_sheet_attached_to_the_command(stack: Stack) -> None:
    sheet = b"Consignee,Country\nSinno Electronics,HK\nRadioavtomatika,RU\nAcme Widgets,US\n"
    reply = await public_reply(
        stack, "screen", {"file": FileOption("consignees.csv", sheet), "name_column": "Consignee"}
    )
    embed = reply.embeds[0]
    assert embed["title"] == "Screening of consignees.csv"
    assert "3 rows screened by the column 'Consignee'" in embed["description"]
    rows = list(csv.DictReader(io.StringIO(reply.attachment("screened-consignees.csv").data.decode("utf-8"))))
    assert [(r["Consignee"], r["verdict"]) for r in rows] == [
        ("Sinno Electronics", "match"),
        ("Radioavtomatika", "match"),
        ("Acme Widgets", "none"),
    ]
    assert rows[0]["list"].startswith("SDN List") and rows[0]["entity_id"]


@pytest.mark.parametrize(
    ("file", "options", "expected"),
    [
        (FileOption("photo.png", PNG + b"\x00" * 64), {}, "is not a table I can read: it is a binary file"),
        (FileOption("list.csv", b"company\nAcme\n"), {}, "There is no column 'name'"),
        (FileOption("list.csv", b"company\nAcme\n"), {"name_column": "firma"}, "Columns: 'company'"),
    ],
    ids=["not-a-table", "no-name-column", "unknown-column"],
)
async def test_screen_errors_are_private(
    stack: Stack, file: FileOption, options: dict[str, object], expected: str
) -> None:
    assert expected in await private_answer(stack, "screen", {"file": file, **options})


async def test_screen_refuses_a_large_file_before_downloading_it(stack: Stack) -> None:
    before = len(stack.discord.downloads)
    big = FileOption("huge.csv", b"name\n" + b"x" * (9 * 2**20))
    assert "the limit is 8 MB" in await private_answer(stack, "screen", {"file": big})
    assert len(stack.discord.downloads) == before


async def test_access_is_refused_privately_to_members_without_the_role(stack: Stack) -> None:
    text = await private_answer(stack, "hs", {"query": "chips"}, user="bob")
    assert text.startswith("You need one of these roles") and "Researcher" in text
    assert (
        await stack.discord.autocomplete("exports", "commodity", "chi", {"partner": "RU"}, user="bob") == []
    )
    assert any("access_refused" in line for line in stack.serve.text().splitlines())


async def test_an_interaction_sent_during_a_reconnect_is_answered_after_resume(stack: Stack) -> None:
    discord = stack.discord
    mark = discord.gateway_mark()
    assert discord.reconnect() == 1
    reply = await public_reply(stack, "hs", {"query": "8542"})
    assert "8542" in reply.embeds[0]["title"]
    await discord.wait_gateway("resumed", after=mark)


@pytest.mark.parametrize(
    "route",
    [
        "POST /interactions/{interaction_id}/{interaction_token}/callback",
        "POST /webhooks/{webhook_id}/{webhook_token}",
    ],
    ids=["on-the-defer", "on-the-followup"],
)
async def test_a_429_is_absorbed(stack: Stack, route: str) -> None:
    discord = stack.discord
    before = len(discord.requests(route))
    discord.fail_next(route, status=429, retry_after=0.2)
    reply = await public_reply(stack, "hs", {"query": "2818"})
    assert "2818" in reply.embeds[0]["title"]
    statuses = [r.status for r in discord.requests(route)[before:]]
    assert statuses[:2] == [429, 200]


async def test_token_never_logged_and_every_route_implemented(stack: Stack) -> None:
    assert stack.discord.token not in stack.serve.text()
    stack.discord.assert_all_implemented()
    assert [r for r in stack.discord.rejections if r.status != 429] == []


async def test_sigterm_stops_the_bot_cleanly(stack: Stack) -> None:
    assert await stack.serve.stop() == 0
    assert stack.serve.events("shutdown") and stack.serve.events("stopped")
    assert "Traceback" not in stack.serve.text()
