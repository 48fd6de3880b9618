"""Fixtures of the reliability suite: one database loaded from the real files per backend, and one running
stack (Discord stand-in + `tradewatch serve`) per backend shared by the modules that only talk to it.

Loading the real files costs 15-30 s per backend and starting serve about 5 s, so both are done once per
session and backend. Tests that damage the database or need another configuration clone the loaded
database (`clone_database`: a file copy, or CREATE DATABASE ... TEMPLATE) and start their own serve.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.reliability.stack import Stack, clone_database, discard_database, load_database, running_stack

BACKENDS = ["sqlite", "postgresql"]
STACK_USERS = 20


@pytest.fixture(scope="session", params=BACKENDS)
def loaded_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, shared_data: Path
) -> Iterator[str]:
    """A database loaded once per backend from the real files: a template, never connected to for long.

    PostgreSQL copies a database only while nobody is connected to it, so tests work on clones
    (`clone_database`) and only short in-process reads (expected answers) touch this one.
    """
    folder = tmp_path_factory.mktemp(f"reliability-{request.param}")
    url = asyncio.run(load_database(request.param, folder, shared_data))
    try:
        yield url
    finally:
        asyncio.run(discard_database(url))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def stack(loaded_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """The stand-in and one `tradewatch serve` on a clone of the loaded database, with STACK_USERS users."""
    folder = tmp_path_factory.mktemp("stack")
    url = await clone_database(loaded_url, folder / "db")
    try:
        async with running_stack(url, folder / "serve", users=STACK_USERS) as running:
            yield running
    finally:
        await discard_database(url)
