"""Structured logs: one key=value (or JSON) line per event, and secrets never printed."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.config import load_config
from bot.logs import REDACTED, event, setup_logging
from bot.serve import secrets_of

TOKEN = "MTA5.fake-token.XYZ123"


@pytest.fixture
def restore_root() -> Iterator[None]:
    """setup_logging replaces the root handlers; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _capture(as_json: bool = False) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    setup_logging(logging.INFO, as_json=as_json, secrets=[TOKEN, "pg-pass"], stream=stream)
    return logging.getLogger("tradewatch.test"), stream


def test_events_are_key_value_lines(restore_root: None) -> None:
    log, stream = _capture()
    event(log, "ready", guilds={1: "Newsroom"}, commands=6, database="sqlite")
    line = stream.getvalue().strip()
    assert "\n" not in line
    assert " level=info logger=tradewatch.test event=ready " in line
    assert 'guilds="{\\"1\\": \\"Newsroom\\"}" commands=6 database=sqlite' in line


def test_json_lines(restore_root: None) -> None:
    log, stream = _capture(as_json=True)
    event(log, "commands_synced", guild=42, commands=6)
    record = json.loads(stream.getvalue())
    assert record["event"] == "commands_synced" and record["guild"] == 42


def test_secrets_are_redacted_in_messages_fields_and_tracebacks(restore_root: None) -> None:
    log, stream = _capture()
    log.warning("connecting with %s", TOKEN)
    event(log, "odd", url=f"postgresql://u:pg-pass@h/db token={TOKEN}")
    try:
        raise RuntimeError(f"401 for token {TOKEN}")
    except RuntimeError:
        log.exception("login")
    output = stream.getvalue()
    assert TOKEN not in output and "pg-pass" not in output
    assert output.count(REDACTED) >= 4


def test_secrets_of_config_include_the_token_and_database_password() -> None:
    config = load_config(
        None, env={"DISCORD_TOKEN": TOKEN, "TRADEWATCH_DATABASE_URL": "postgresql://u:pw123@h/db"}
    )
    assert {TOKEN, "pw123"} <= set(secrets_of(config))


class Holder:
    def __str__(self) -> str:
        return f"Holder({TOKEN})"


def test_secrets_are_redacted_whatever_the_type_of_the_field(restore_root: None) -> None:
    """A token typed into an option value sits in a dict, a list, an object: all redacted (issue 18, point 5)."""
    for as_json in (False, True):
        log, stream = _capture(as_json=as_json)
        event(
            log,
            "command_refused",
            options={"partner": TOKEN, "nested": [{"deep": f"x {TOKEN} y"}], TOKEN: 1},
            values=(TOKEN, 5),
            thing=Holder(),
            error=RuntimeError(TOKEN),
        )
        output = stream.getvalue()
        assert TOKEN not in output and output.count(REDACTED) >= 6, output


def test_interaction_tokens_are_redacted_at_every_level(restore_root: None) -> None:
    """discord.py's debug log prints each gateway payload and each webhook URL, with the interaction token."""
    stream = io.StringIO()
    setup_logging(logging.DEBUG, stream=stream)  # no configured secrets at all
    token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5OjE2Y2Y0ZWFmMGQ5ZTQ5YjY"
    gateway = logging.getLogger("discord.gateway")
    gateway.debug(
        "For Shard ID %s: WebSocket Event: %s", None, {"t": "INTERACTION_CREATE", "d": {"token": token}}
    )
    logging.getLogger("discord.http").debug(
        "POST https://discord.com/api/v10/interactions/123456789/%s/callback with %s has returned 204",
        token,
        None,
    )
    logging.getLogger("discord.webhook").debug("PATCH /webhooks/42/%s/messages/@original", token)
    event(logging.getLogger("x"), "raw", payload=f'{{"token": "{token}"}}')
    output = stream.getvalue()
    assert token not in output and output.count(REDACTED) == 4, output


def test_a_lone_surrogate_in_a_field_is_written_escaped(restore_root: None) -> None:
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # a real stream refuses lone surrogates
    setup_logging(logging.INFO, stream=stream)
    event(logging.getLogger("x"), "option_refused", options={"name": "\ud800 x"})
    stream.flush()
    assert b"\\ud800 x" in stream.buffer.getvalue()  # type: ignore[attr-defined]
