"""Printing a command's reply on the terminal, shared by `ask`, `brief` and `changes`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import click

from commands.errors import CommandError
from commands.replies import Reply


def echo_reply(run: Callable[[], Coroutine[Any, Any, Reply]], *, as_json: bool) -> Reply:
    """Run a command and print its reply (text or JSON); a mistake is one line on stderr and exit status 2."""
    try:
        reply = asyncio.run(run())
    except CommandError as exc:
        click.echo(f"error: {exc.user_text()}".replace("\n", " "), err=True)
        raise SystemExit(2) from None
    click.echo(reply.to_json() if as_json else reply.to_text())
    return reply


def write_attachments(reply: Reply, out_dir: str) -> Path:
    """Write the reply's charts and CSV tables into `out_dir` (created if needed); returns the folder."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for attachment in reply.attachments:
        (folder / attachment.filename).write_bytes(attachment.data)
    return folder
