"""What the load harness asks, and what each answer must be.

The catalogue mixes the interactions a newsroom sends: /exports and /top (charts, the slow ones), /entity
(fuzzy search), /hs, a few questions that get an honest private refusal (no data, no such entity), and
autocomplete keystrokes. Every question is answerable from the real files loaded by tests/e2e/bot_harness.

Expected answers are computed in-process on the same database by the same code the CLI uses: each command
through `commands.registry.run_text` and `bot.render` (or, for a refusal, the private text the bot sends),
each autocomplete through the same suggesters the bot uses. The harness then compares what every one of
the concurrent users received with these, so a mixed-up, truncated or cross-wired answer under load fails.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.render import render, render_text
from bot.suggest import CommoditySuggester, CountrySuggester
from commands.context import Context
from commands.errors import CommandError
from commands.registry import run_text
from db.engine import make_engine, make_sessionmaker
from db.lookups import Lookups, load_lookups
from db.queries.hs import all_codes
from db.search.service import suggest_names, warm_index

PNG = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Job:
    """One interaction: a slash command (with its CLI text twin) or one autocomplete keystroke."""

    label: str
    command: str  # "exports", "top partners", ...
    options: tuple[tuple[str, Any], ...] = ()
    text: str = ""  # the same question for run_text (commands only)
    focused: str = ""  # autocomplete only: the option being typed
    typed: str = ""  # autocomplete only: what has been typed
    weight: int = 1

    @property
    def autocomplete(self) -> bool:
        return bool(self.focused)

    def option_dict(self) -> dict[str, Any]:
        return dict(self.options)


def cmd(command: str, text: str, weight: int, **options: Any) -> Job:
    return Job(text, command, tuple(options.items()), text=text, weight=weight)


def keys(command: str, focused: str, typed: str, weight: int, **options: Any) -> Job:
    label = f"autocomplete /{command} {focused}={typed!r}"
    return Job(label, command, tuple(options.items()), focused=focused, typed=typed, weight=weight)


# Weights: about 45% trade (charts), 17% entity, 14% hs, 4% refusals, 20% autocomplete.
CATALOGUE: list[Job] = [
    cmd("exports", "/exports graphite RU 2023", 6, commodity="graphite", partner="RU", year=2023),
    cmd("exports", "/exports graphite RU 2024", 3, commodity="graphite", partner="RU", year=2024),
    cmd("exports", "/exports gallium RU 2023", 3, commodity="gallium", partner="RU", year=2023),
    cmd("exports", "/exports germanium US 2023", 2, commodity="germanium", partner="US", year=2023),
    cmd(
        "exports",
        '/exports graphite "Hong Kong" 2023',
        2,
        commodity="graphite",
        partner="Hong Kong",
        year=2023,
    ),
    cmd("exports", "/exports 250410 India 2024", 2, commodity="250410", partner="India", year=2024),
    cmd("exports", "/exports graphite Kazakhstan", 2, commodity="graphite", partner="Kazakhstan"),
    cmd("top partners", "/top partners graphite 2023", 4, commodity="graphite", year=2023),
    cmd("top partners", "/top partners gallium 2024", 3, commodity="gallium", year=2024),
    cmd("top goods", "/top goods Russia 2023", 4, partner="Russia", year=2023),
    cmd("top goods", "/top goods Japan 2024", 2, partner="Japan", year=2024),
    cmd("entity", '/entity "King Pai Technology"', 4, name="King Pai Technology"),
    cmd("entity", "/entity Poly Group", 4, name="Poly Group"),
    cmd("entity", "/entity sinno electronic", 3, name="sinno electronic"),
    cmd("entity", "/entity Ромашка", 2, name="Ромашка"),
    cmd("entity", "/entity King Pai country=HK", 2, name="King Pai", country="HK"),
    cmd("hs", "/hs chips", 3, query="chips"),
    cmd("hs", "/hs 8542", 3, query="8542"),
    cmd("hs", "/hs 2818", 2, query="2818"),
    cmd("hs", "/hs graphite", 2, query="graphite"),
    cmd("hs", "/hs 84", 2, query="84"),
    cmd("exports", "/exports chips RU 2023", 2, commodity="chips", partner="RU", year=2023),  # no data
    cmd("entity", '/entity "Zzyzx Qwertyuiop"', 2, name="Zzyzx Qwertyuiop"),  # no match
    keys("exports", "commodity", "alu", 3, partner="RU"),
    keys("exports", "commodity", "grap", 3, partner="RU"),
    keys("exports", "partner", "rus", 3, commodity="graphite"),
    keys("top goods", "partner", "kaz", 2),
    keys("hs", "query", "8542", 3),
    keys("entity", "name", "king pa", 3),
    keys("entity", "name", "poly gr", 3),
]


def plan(count: int, seed: int = 7) -> list[Job]:
    """`count` jobs drawn from the catalogue by weight (repeatable: the same seed gives the same plan)."""
    rng = random.Random(seed)
    return rng.choices(CATALOGUE, weights=[job.weight for job in CATALOGUE], k=count)


@dataclass(frozen=True)
class Expected:
    """What the user must see: a public reply (embed parts and files) or a private refusal, or choices."""

    kind: str  # "reply", "refusal" or "choices"
    embed: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # name -> sha256 for CSVs, "png" for charts
    content: str = ""
    choices: tuple[tuple[str, str], ...] = ()


def embed_view(embed: dict[str, Any]) -> dict[str, Any]:
    """The parts of an embed a reader sees (the image URL is rewritten by Discord, so it is left out)."""
    return {
        "title": embed.get("title"),
        "description": embed.get("description"),
        "fields": [(f["name"], f["value"], bool(f.get("inline"))) for f in embed.get("fields", [])],
        "footer": (embed.get("footer") or {}).get("text"),
    }


def file_view(name: str, data: bytes) -> str:
    """CSV and other files are compared byte for byte; charts by being PNGs (pixels are not compared)."""
    if name.endswith(".png"):
        return "png" if data.startswith(PNG) else "not a png"
    return hashlib.sha256(data).hexdigest()


async def expected_command(ctx: Context, job: Job) -> Expected:
    try:
        reply = await run_text(ctx, job.text)
    except CommandError as error:
        return Expected("refusal", content=render_text(error.user_text())["content"])
    message = render(reply)
    files = {f.filename: file_view(f.filename, f.fp.getvalue()) for f in message.get("files", [])}
    return Expected("reply", embed_view(message["embeds"][0].to_dict()), files)


@dataclass
class Suggesters:
    commodities: CommoditySuggester
    countries: CountrySuggester

    async def choices(self, session: AsyncSession, job: Job) -> Expected:
        """The autocomplete answer the bot's cogs give (bot/cogs/__init__.py, bot/cogs/entity.py)."""
        if job.focused == "name":
            names = await suggest_names(session, job.typed, limit=25)
            pairs = [(n[:100], n[:100]) for n in names[:25]]
        else:
            suggester = (
                self.countries if job.focused in ("partner", "reporter", "country") else self.commodities
            )
            pairs = [(s.name, s.value) for s in suggester.suggest(job.typed)[:25]]
        return Expected("choices", choices=tuple(pairs))


async def compute_expected(url: str, jobs: list[Job], lookups: Lookups | None = None) -> dict[Job, Expected]:
    """The expected answer of every distinct job, computed in-process on the database at `url`."""
    lookups = lookups or load_lookups()
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        await warm_index(sessions)
        async with sessions() as session:
            codes = await all_codes(session)
        suggesters = Suggesters(
            CommoditySuggester(lookups, [(e.code, e.description) for e in codes]), CountrySuggester(lookups)
        )
        out: dict[Job, Expected] = {}
        for job in dict.fromkeys(jobs):
            async with sessions() as session:
                if job.autocomplete:
                    out[job] = await suggesters.choices(session, job)
                else:
                    out[job] = await expected_command(Context(session, lookups), job)
        return out
    finally:
        await engine.dispose()
