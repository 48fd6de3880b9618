"""`/help [command]`: what each command does, how to type it, and where the data comes from."""

from __future__ import annotations

from dataclasses import dataclass

from commands.context import Context
from commands.errors import NotFound
from commands.parse import CommandLine
from commands.registry import COMMANDS
from commands.replies import Field, Reply

# Worked examples per command, taken from the team's stories; shown by `/help <command>`.
EXAMPLES: dict[str, list[str]] = {
    "exports": [
        "/exports graphite RU 2023",
        "/exports artificial graphite RU 2023 measure=weight vs=2021",
        "/exports spherical graphite RU 2022 months=1-5",
        "/exports total China 2022 reporter=RU flow=imports",
        "/exports chips RU 2022",
    ],
    "top partners": [
        "/top partners graphite 2023",
        "/top partners gallium 2023 measure=weight",
        "/top partners total 2022 reporter=RU flow=imports",
    ],
    "top goods": ["/top goods RU 2023", "/top goods RU 2023 vs=2021 months=1-6"],
    "hs": ["/hs chips", "/hs 8542", "/hs aluminium oxide", "/hs aliases"],
    "entity": ["/entity Poly Group", "/entity Сибирь country=RU", "/entity 华为 list=ofac_sdn"],
    "screen": [
        "/screen file:consignees.xlsx",
        "/screen file:suppliers.csv name_column:Supplier country_column:Country",
        "tradewatch screen consignees.csv --out results.csv",
    ],
    "sources": ["/sources"],
    "help": ["/help", "/help exports"],
}

CAVEATS = (
    "Every figure carries its source and data date: quote them with it. Russia stopped publishing trade data "
    "in 2022, so Russian flows are usually partner-reported (mirror) figures. Names from sanctions lists are "
    "shown as published; a match is a lead to check, not a finding."
)


@dataclass(frozen=True)
class HelpParams:
    """Which command to explain; None lists them all."""

    command: str | None = None


def parse_help(line: CommandLine, lookups: object) -> HelpParams:
    """`/help [command words]`."""
    words = " ".join(line.words).strip().lstrip("/").lower()
    return HelpParams(words or None)


def _matching(name: str) -> list[str]:
    return [n for n in COMMANDS if n == name or n.split()[0] == name]


async def run_help(ctx: Context, params: HelpParams) -> Reply:
    """Explain every command, or one command with examples.

    Raises:
        NotFound: the named command does not exist (the hint lists the commands).
    """
    if params.command is None:
        fields = [Field(spec.usage, spec.summary) for spec in COMMANDS.values()]
        return Reply(
            title="Tradewatch commands",
            summary=[
                "Trade flows and sanctions lists, with sources. `/help <command>` shows examples.",
                CAVEATS,
            ],
            fields=fields,
            ephemeral=True,
        )
    names = _matching(params.command)
    if not names:
        known = sorted({"/" + n.split()[0] for n in COMMANDS})
        raise NotFound(f"There is no /{params.command} command.", suggestions=known)
    fields = []
    for name in names:
        spec = COMMANDS[name]
        examples = "\n".join(EXAMPLES.get(name, []))
        fields.append(Field(spec.usage, spec.summary + (f"\nExamples:\n{examples}" if examples else "")))
    return Reply(title=f"/{params.command}", summary=[CAVEATS], fields=fields, ephemeral=True)
