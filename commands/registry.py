"""The command table: one grammar for Discord and the CLI.

Each entry names a module function `parse(CommandLine, Lookups) -> params` and `run(Context, params) -> Reply`.
Modules are imported lazily so that one family's import cost is paid only when it is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from commands.context import Context
from commands.errors import InvalidInput
from commands.parse import CommandLine, split_command
from commands.replies import Reply


@dataclass(frozen=True)
class CommandSpec:
    """How to parse and run one command, and the usage line shown when it is typed wrong."""

    name: str
    module: str
    usage: str
    summary: str


COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in [
        CommandSpec(
            "exports",
            "commands.exports",
            "/exports <commodity> <partner> [year] [reporter=CN] [flow=exports|imports] [measure=value|weight|"
            "quantity|unit-value] [vs=YEAR] [months=FROM-TO]",
            "One flow, a year or months against a base year, by value, weight, quantity or unit value, with chart.",
        ),
        CommandSpec(
            "top partners",
            "commands.top",
            "/top partners <commodity> [year] [reporter=CN] [flow=exports|imports] [measure=] [vs=] [months=]",
            "Top 10 partners for a commodity, with shares and growth.",
        ),
        CommandSpec(
            "top goods",
            "commands.top",
            "/top goods <partner> [year] [reporter=CN] [flow=exports|imports] [measure=] [vs=] [months=]",
            "Top 10 goods (HS-4) traded with a partner, with shares and growth.",
        ),
        CommandSpec(
            "compare",
            "commands.compare",
            "/compare <commodity> <country>, <country>, ... [FROM-TO] [reporter=CN | partner=..] [vs=YEAR] "
            "[months=FROM-TO] [measure=value|weight|quantity|unit-value]",
            "Several partners (or reporters) side by side: values, multiples of a base year, both reports.",
        ),
        CommandSpec(
            "hs",
            "commands.hs",
            "/hs <words or code> | /hs aliases",
            "HS codes, descriptions, aliases (with their codes) and CHPL tiers.",
        ),
        CommandSpec(
            "entity",
            "commands.entity",
            "/entity <name> [country=..] [list=..] [type=..]",
            "Fuzzy, cross-script lookup of a listed or curated entity.",
        ),
        CommandSpec(
            "screen",
            "commands.screen",
            "/screen file:<CSV or XLSX> [name_column:..] [country_column:..] [all_candidates:True]",
            "Every name of a sheet against the lists: a results CSV with a verdict per row.",
        ),
        CommandSpec(
            "changes",
            "commands.changes",
            "/changes [source] [since=7d|YYYY-MM-DD] [country=CN] [program=RUSSIA-EO14024] "
            "[change=added|removed|amended]",
            "List changes: counts by list and kind, focus entries first, every entry as CSV.",
        ),
        CommandSpec(
            "brief",
            "commands.brief",
            "/brief [since=7d|YYYY-MM-DD]",
            "The editorial meeting brief: list changes, trade movers, stale sources, with chart and CSV.",
        ),
        CommandSpec("sources", "commands.sources", "/sources", "Freshness of every data source."),
        CommandSpec("help", "commands.help", "/help", "What each command does."),
    ]
}

# Commands with a sub-command word: `/top partners ...`.
GROUPS = {"top": ("partners", "goods")}


def resolve_spec(line: CommandLine) -> tuple[CommandSpec, CommandLine]:
    """Find the spec for a parsed line, folding a group's sub-command into the name.

    Raises:
        InvalidInput: unknown command or sub-command.
    """
    name, words = line.name, line.words
    if name in GROUPS:
        if not words or words[0].lower() not in GROUPS[name]:
            subs = " | ".join(GROUPS[name])
            raise InvalidInput(
                f"/{name} needs one of: {subs}.", f"e.g. /{name} {GROUPS[name][0]} graphite 2023"
            )
        name, words = f"{name} {words[0].lower()}", words[1:]
    spec = COMMANDS.get(name)
    if spec is None:
        known = ", ".join(sorted({"/" + n.split()[0] for n in COMMANDS}))
        raise InvalidInput(f"Unknown command /{line.name}.", f"Commands: {known}.")
    return spec, CommandLine(name=name, words=words, options=line.options)


def _module_functions(spec: CommandSpec) -> tuple[Callable[..., Any], Callable[..., Awaitable[Reply]]]:
    module = importlib.import_module(spec.module)
    suffix = spec.name.replace(" ", "_")
    parse = getattr(module, f"parse_{suffix}", None) or module.parse
    run = getattr(module, f"run_{suffix}", None) or module.run
    return parse, run


async def run_text(ctx: Context, text: str) -> Reply:
    """Parse and run a command typed as text (the CLI's `ask`, and tests).

    Raises:
        CommandError: anything the user can fix; the message says what and how.
    """
    spec, line = resolve_spec(split_command(text))
    parse, run = _module_functions(spec)
    params = parse(line, ctx.lookups)
    return await run(ctx, params)
