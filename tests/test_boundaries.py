"""Layering guard: commands/ and db/ never import discord (the adapter lives in bot/ only)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_commands_and_db_do_not_import_discord() -> None:
    pattern = re.compile(r"^\s*(import discord|from discord)", re.M)
    offenders = [
        str(p.relative_to(REPO))
        for folder in ("commands", "db")
        for p in (REPO / folder).rglob("*.py")
        if pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_db_does_not_import_commands_or_bot() -> None:
    pattern = re.compile(r"^\s*(import|from) (bot|commands)\b", re.M)
    offenders = [
        str(p.relative_to(REPO))
        for p in (REPO / "db").rglob("*.py")
        if pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
