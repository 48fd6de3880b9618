"""bot/options.py: option values of the wrong type or out of bounds are refused before any command runs."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from discord import app_commands

from bot.options import option_problem


@app_commands.command(name="remove")
async def remove(interaction: discord.Interaction[Any], watch: app_commands.Range[int, 1, 2**31 - 1]) -> None:
    """A watch number, as /watch remove has it."""


@app_commands.command(name="add")
async def add(
    interaction: discord.Interaction[Any],
    keywords: app_commands.Range[str, 1, 1000] | None = None,
    share: float | None = None,
    public: bool | None = None,
    channel: discord.TextChannel | None = None,
    text: str | None = None,
) -> None:
    """Options of every kind."""


def data(name: str, **options: Any) -> dict[str, Any]:
    types = {"watch": 4, "keywords": 3, "share": 10, "public": 5, "channel": 7, "text": 3}
    return {"name": name, "options": [{"name": k, "type": types[k], "value": v} for k, v in options.items()]}


@pytest.mark.parametrize(
    ("command", "options", "problem"),
    [
        (remove, {"watch": 2**53}, "must be from 1 to 2,147,483,647"),
        (remove, {"watch": 0}, "must be from 1"),
        (remove, {"watch": "7"}, "must be a whole number"),
        (remove, {"watch": True}, "must be a whole number"),
        (remove, {"watch": 1.5}, "must be a whole number"),
        (add, {"keywords": 123}, "must be text"),
        (add, {"keywords": ["chip"]}, "must be text"),
        (add, {"keywords": "x" * 1001}, "at most 1,000 characters"),
        (add, {"text": "x" * 6001}, "at most 6,000 characters"),
        (add, {"text": "\ud800 abc"}, "lone UTF-16 surrogate"),
        (add, {"share": float("nan")}, "must be a number"),
        (add, {"share": 2.0**60}, "must be from"),
        (add, {"public": "yes"}, "true or false"),
        (add, {"channel": "#general"}, "must name a Discord"),
        (add, {"channel": 2**70}, "must name a Discord"),
    ],
)
def test_a_wrong_value_is_refused_naming_the_option(
    command: app_commands.Command[Any, ..., Any], options: dict[str, Any], problem: str
) -> None:
    text = option_problem(command, data(command.name, **options))
    assert text is not None and problem in text
    assert f'"{next(iter(options))}"' in text and f"/{command.name}" in text


def test_good_values_pass() -> None:
    assert option_problem(remove, data("remove", watch=2**31 - 1)) is None
    good = {"keywords": "sinno", "share": 0.5, "public": False, "channel": "1234567890", "text": "x" * 6000}
    assert option_problem(add, data("add", **good)) is None


def test_options_inside_a_subcommand_are_checked() -> None:
    payload = {
        "name": "watch",
        "options": [{"name": "remove", "type": 1, "options": data("remove", watch=-1)["options"]}],
    }
    assert "must be from 1" in (option_problem(remove, payload) or "")


def test_the_focused_autocomplete_value_is_checked_as_text_only() -> None:
    payload = data("remove", watch="12")
    payload["options"][0]["focused"] = True
    assert option_problem(remove, payload, autocomplete=True) is None
    payload["options"][0]["value"] = ""  # nothing typed yet
    assert option_problem(remove, payload, autocomplete=True) is None
    payload["options"][0]["value"] = "\udcff"
    assert option_problem(remove, payload, autocomplete=True) is not None


def test_malformed_payloads_are_left_to_discord_py() -> None:
    assert option_problem(remove, {"options": "nonsense"}) is None
    assert option_problem(None, data("remove", watch=1)) is None
