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
