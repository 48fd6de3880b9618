"""The limit checks on their own, as tables."""

from __future__ import annotations

from typing import Any

import pytest

from tests.discord_standin.commanddefs import validate_commands
from tests.discord_standin.errors import DiscordError
from tests.discord_standin.limits import check_choices, check_message
from tests.discord_standin.store import UploadedFile

LIMIT = 10 * 1024 * 1024


def field(name: str = "n", value: str = "v") -> dict[str, str]:
    return {"name": name, "value": value}


ACCEPTED = [
    {"content": "x" * 2000},
    {"embeds": [{"title": "t" * 256, "description": "d" * 4096}]},
    {"embeds": [{"fields": [field("n" * 256, "v" * 1024)] * 4}]},
    {"embeds": [{"description": "d" * 3000}, {"description": "e" * 3000}]},  # exactly 6000 in total
    {"embeds": [{"title": "t"}] * 10},
    {"embeds": [{"image": {"url": "attachment://chart.png"}, "title": "t"}]},
    {"content": "x", "allowed_mentions": {"parse": []}},
    {"content": "x", "flags": 64},
]

REFUSED = [
    ({"content": "x" * 2001}, 50035, ("content",)),
    ({"embeds": [{"title": "t"}] * 11}, 50035, ("embeds",)),
    ({"embeds": [{"description": "d" * 3001}, {"description": "e" * 3000}]}, 50035, ("embeds",)),
    ({"embeds": [{"fields": [field()] * 26}]}, 50035, ("embeds", "0", "fields")),
    ({"embeds": [{"fields": [field(value="")]}]}, 50035, ("embeds", "0", "fields", "0", "value")),
    ({"embeds": [{"footer": {"text": "f" * 2049}}]}, 50035, ("embeds", "0", "footer", "text")),
    ({"embeds": [{"url": "ftp://example.org", "title": "t"}]}, 50035, ("embeds", "0", "url")),
    ({"embeds": [{"color": 0x1000000, "title": "t"}]}, 50035, ("embeds", "0", "color")),
    (
        {"content": "x", "allowed_mentions": {"parse": ["users"], "users": ["1"]}},
        50035,
        ("allowed_mentions", "users"),
    ),
    ({"content": "x", "allowed_mentions": {"parse": ["all"]}}, 50035, ("allowed_mentions", "parse", "0")),
    ({"content": "x", "flags": 2}, 50035, ("flags",)),
    ({}, 50006, None),
    ({"content": "   "}, 50006, None),
]


@pytest.mark.parametrize("payload", ACCEPTED)
def test_within_limits(payload: dict[str, Any]) -> None:
    check_message(payload, [], attachment_size_limit=LIMIT, ephemeral_allowed=True)


@pytest.mark.parametrize(("payload", "code", "path"), REFUSED)
def test_over_limits(payload: dict[str, Any], code: int, path: tuple[str, ...] | None) -> None:
    with pytest.raises(DiscordError) as raised:
        check_message(payload, [], attachment_size_limit=LIMIT)
    assert raised.value.code == code
    if path is not None:
        node = raised.value.errors
        for part in path:
            node = node[part]
        assert node["_errors"]


@pytest.mark.parametrize(
    ("count", "size", "status", "code"),
    [(10, 1, None, None), (11, 1, 400, 30015), (1, LIMIT + 1, 413, 40005)],
)
def test_files(count: int, size: int, status: int | None, code: int | None) -> None:
    files = [UploadedFile(index, f"f{index}", None, b"x" * size) for index in range(count)]
    if status is None:
        check_message({}, files, attachment_size_limit=LIMIT)
        return
    with pytest.raises(DiscordError) as raised:
        check_message({}, files, attachment_size_limit=LIMIT)
    assert (raised.value.status, raised.value.code) == (status, code)


@pytest.mark.parametrize(
    ("choices", "option_type", "ok"),
    [
        ([{"name": "a", "value": "a"}] * 25, 3, True),
        ([{"name": "a", "value": "a"}] * 26, 3, False),
        ([{"name": "", "value": "a"}], 3, False),
        ([{"name": "a", "value": "v" * 101}], 3, False),
        ([{"name": "a", "value": 3}], 4, True),
        ([{"name": "a", "value": "3"}], 4, False),
        ([{"name": "a", "value": 2.5}], 10, True),
    ],
)
def test_autocomplete_choices(choices: list[dict[str, Any]], option_type: int, ok: bool) -> None:
    if ok:
        check_choices(choices, option_type)
    else:
        with pytest.raises(DiscordError):
            check_choices(choices, option_type)


def option(name: str, kind: int = 3, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "name": name, "description": "d"} | extra


@pytest.mark.parametrize(
    ("commands", "ok"),
    [
        (
            [{"name": "exports", "description": "d", "options": [option("a", required=True), option("b")]}],
            True,
        ),
        (
            [
                {
                    "name": "top",
                    "description": "d",
                    "options": [option("partners", 1, options=[option("year", 4)])],
                }
            ],
            True,
        ),
        ([{"name": "Exports", "description": "d"}], False),
        ([{"name": "x" * 33, "description": "d"}], False),
        ([{"name": "exports", "description": ""}], False),
        ([{"name": "exports", "description": "d"}, {"name": "exports", "description": "e"}], False),
        (
            [{"name": "exports", "description": "d", "options": [option("a"), option("b", required=True)]}],
            False,
        ),
        ([{"name": "exports", "description": "d", "options": [option("a", 1), option("b")]}], False),
        (
            [
                {
                    "name": "exports",
                    "description": "d",
                    "options": [option("a", choices=[{"name": "x", "value": "x"}], autocomplete=True)],
                }
            ],
            False,
        ),
        ([{"name": "exports", "description": "d", "options": [option(f"o{i}") for i in range(26)]}], False),
        (
            [
                {
                    "name": "g",
                    "description": "d",
                    "options": [option("grp", 2, options=[option("sub", 2, options=[])])],
                }
            ],
            False,
        ),
    ],
)
def test_command_definitions(commands: list[dict[str, Any]], ok: bool) -> None:
    if ok:
        validate_commands(commands)
    else:
        with pytest.raises(DiscordError) as raised:
            validate_commands(commands)
        assert raised.value.code == 50035
