"""Importer table: `tradewatch import SOURCE PATH` and the demo look sources up here.

Each entry is a module with `async def run_import(sessions, path, *, now, **options) -> IngestReport`.
The import runs in one transaction: a malformed file raises `ImportFailed` and changes nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

from db.ingest.base import IngestReport

IMPORTERS: dict[str, str] = {
    "hs": "db.ingest.hs",
    "comtrade": "db.ingest.comtrade",
    "trade-csv": "db.ingest.trade_csv",
    "imf": "db.ingest.imf",
    "ofac": "db.ingest.ofac",
    "csl": "db.ingest.csl",
    "opensanctions": "db.ingest.opensanctions",
    "curated": "db.ingest.curated",
}


def importer(name: str) -> Callable[..., Awaitable[IngestReport]]:
    """The `run_import` function of a source; KeyError for an unknown source."""
    module = importlib.import_module(IMPORTERS[name])
    fn: Any = module.run_import
    return fn
