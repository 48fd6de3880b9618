"""The reply model every command returns: rendered as text by the CLI, as embeds by the bot."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Citation:
    """Where a figure comes from: source, publisher, data date, link and caveats."""

    source: str
    publisher: str
    data_date: str | None = None
    url: str | None = None
    note: str | None = None

    def text(self) -> str:
        """One line such as `UN Comtrade (UNSD), data to 2024-12; reported by China: partner-reported`."""
        parts = [f"{self.source} ({self.publisher})" if self.publisher else self.source]
        if self.data_date:
            parts.append(f"data {self.data_date}")
        line = ", ".join(parts)
        if self.note:
            line += f"; {self.note}"
        return line


@dataclass(frozen=True)
class Field:
    """A titled block of the answer (an embed field in Discord)."""

    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True)
class Attachment:
    """A file sent with the answer: a chart PNG or a CSV table."""

    filename: str
    data: bytes = field(repr=False)
    description: str = ""


@dataclass(frozen=True)
class Reply:
    """A command's answer.

    `summary` holds short lines a reporter can read at a glance; `fields` the detail; `numbers` the
    machine-readable figures (what `--json` prints and tests compare); `citations` every source used.
    """

    title: str
    summary: list[str] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    ephemeral: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: attachment bytes are replaced by their file names and sizes."""
        data = asdict(self)
        data["attachments"] = [
            {"filename": a.filename, "bytes": len(a.data), "description": a.description}
            for a in self.attachments
        ]
        data["citations"] = [dict(asdict(c), text=c.text()) for c in self.citations]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str)

    def to_text(self) -> str:
        """Plain text for a terminal."""
        lines = [self.title, "=" * min(len(self.title), 80)]
        lines.extend(self.summary)
        for f in self.fields:
            lines.append("")
            lines.append(f"{f.name}:")
            lines.extend("  " + line for line in f.value.splitlines())
        if self.citations:
            lines.append("")
            lines.append("Sources:")
            lines.extend("  - " + c.text() + (f" <{c.url}>" if c.url else "") for c in self.citations)
        if self.attachments:
            lines.append("")
            lines.append("Attachments: " + ", ".join(a.filename for a in self.attachments))
        return "\n".join(lines)
