"""Structured logs for the long-running bot: one line per event, key=value (or JSON), secrets redacted.

`event(log, "ready", guilds=2)` logs `event=ready guilds=2`; plain `log.info("text %s", x)` calls work too.
A filter on the handler replaces every configured secret (the Discord token, the database password) with
`[redacted]` in messages, fields of any type (a token typed into an option sits in a dict) and tracebacks, so
a library that prints one by mistake cannot leak it. Interaction tokens (each lets anyone post as the bot for
15 minutes) are redacted by their shape: discord.py's debug log prints every gateway payload and webhook URL.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Iterable
from typing import Any, TextIO

REDACTED = "[redacted]"
_FIELDS = "tw_fields"
# Interaction tokens: a payload's "token" key (as JSON or a Python dict's repr) and the token part of the
# interaction callback and webhook URLs.
INTERACTION_TOKENS = [
    (re.compile(r"""(['"]token['"]\s*:\s*['"])[^'"]+"""), rf"\g<1>{REDACTED}"),
    (re.compile(r"(/(?:interactions|webhooks)/\d+/)[A-Za-z0-9_.\-]{16,}"), rf"\g<1>{REDACTED}"),
]


def event(
    logger: logging.Logger, name: str, level: int = logging.INFO, *, exc_info: Any = None, **fields: Any
) -> None:
    """Log a named event with key=value fields (and a traceback when `exc_info` is given)."""
    logger.log(level, name, exc_info=exc_info, extra={_FIELDS: fields})


class RedactSecrets(logging.Filter):
    """Replace each secret with `[redacted]` in the message, the fields and the traceback of a record."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Very short values would redact innocent text; a real token or password is longer.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern, replacement in INTERACTION_TOKENS:
            text = pattern.sub(replacement, text)
        return text

    def redact_value(self, value: Any) -> Any:
        """A field value with secrets redacted, whatever its type: containers are walked, and any other value
        whose text holds a secret is replaced by that text redacted."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {self.redact_value(k): self.redact_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.redact_value(v) for v in value]
        text = str(value)  # a number, an exception, any object: the text the formatter would print
        redacted = self.redact(text)
        return value if redacted == text else redacted

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        fields = getattr(record, _FIELDS, None)
        if fields:
            setattr(record, _FIELDS, {k: self.redact_value(v) for k, v in fields.items()})
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def _kv_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    if text and not any(ch in text for ch in ' "=\n\\'):
        return text
    return json.dumps(text, ensure_ascii=False)


class StructuredFormatter(logging.Formatter):
    """One line per record: `ts=… level=… logger=… event=… key=value …`, or a JSON object."""

    def __init__(self, as_json: bool = False) -> None:
        super().__init__()
        self.as_json = as_json

    def record_fields(self, record: logging.LogRecord) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, _FIELDS, None)
        out["event" if fields is not None else "msg"] = record.getMessage()
        out.update(fields or {})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = record.exc_text
        return out

    def format(self, record: logging.LogRecord) -> str:
        fields = self.record_fields(record)
        if self.as_json:
            line = json.dumps(fields, default=str, ensure_ascii=False)
        else:
            line = " ".join(f"{key}={_kv_value(value)}" for key, value in fields.items())
        # A lone surrogate (undecodable input) cannot be written as UTF-8: show it escaped, keep the line.
        return line.encode("utf-8", "backslashreplace").decode("utf-8")


def setup_logging(
    level: int = logging.INFO,
    *,
    as_json: bool = False,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Replace the root handlers with one structured, redacting handler on stderr; returns it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactSecrets(secrets))
    handler.setFormatter(StructuredFormatter(as_json))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # discord.py is chatty at DEBUG (every gateway payload); keep it at INFO unless asked for debug.
    logging.getLogger("discord").setLevel(
        max(level, logging.INFO) if level > logging.DEBUG else logging.DEBUG
    )
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    return handler
