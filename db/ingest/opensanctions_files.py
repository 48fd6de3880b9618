"""OpenSanctions files: a dataset's source row and the JSON-lines reader, shared by the full and delta imports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from db.ingest.base import ImportFailed
from db.ingest.entity_import import SourceSpec


def spec_for(dataset: str, title: str | None = None) -> SourceSpec:
    """The source of one OpenSanctions dataset."""
    return SourceSpec(
        f"opensanctions:{dataset}",
        f"OpenSanctions: {title or dataset}",
        "OpenSanctions",
        f"https://www.opensanctions.org/datasets/{dataset}/",
    )


def read_json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, object) of a JSON-lines file; ImportFailed on a broken line or bad encoding."""
    line = 0
    try:
        with path.open(encoding="utf-8") as fh:
            for line, text in enumerate(fh, start=1):
                if not text.strip():
                    continue
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ImportFailed(
                        f"{path.name} line {line}: not JSON ({exc.msg}); truncated file?"
                    ) from None
                if not isinstance(value, dict):
                    raise ImportFailed(f"{path.name} line {line}: expected a JSON object")
                yield line, value
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"{path.name} near line {line + 1}: not UTF-8 text ({exc.reason})") from None
