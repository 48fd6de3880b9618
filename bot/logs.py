"""Structured logs for the long-running bot: one line per event, key=value (or JSON), secrets redacted.

`event(log, "ready", guilds=2)` logs `event=ready guilds=2`; plain `log.info("text %s", x)` calls work too.
A filter on the handler replaces every configured secret (the Discord token, the database password) with
`[redacted]` in messages, fields and tracebacks, so a library that prints one by mistake cannot leak it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable
from typing import Any, TextIO

REDACTED = "[redacted]"
_FIELDS = "tw_fields"


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
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg = self.redact(record.getMessage())
        record.args = None
        fields = getattr(record, _FIELDS, None)
        if fields:
            setattr(
                record,
                _FIELDS,
                {k: self.redact(str(v)) if isinstance(v, str) else v for k, v in fields.items()},
            )
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
            return json.dumps(fields, default=str, ensure_ascii=False)
        return " ".join(f"{key}={_kv_value(value)}" for key, value in fields.items())


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
