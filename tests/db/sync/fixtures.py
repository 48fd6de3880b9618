"""Fixtures for sync tests (registered in tests/conftest.py): the local source server and a SyncContext."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.db.sync.source_server import SourceServer, running_source_server


@pytest.fixture
async def source_server() -> AsyncIterator[SourceServer]:
    """A publisher stand-in on 127.0.0.1 (random port); tests add routes with serve_file/serve_bytes."""
    async with running_source_server() as server:
        yield server


@pytest.fixture
async def sync_ctx(engine, sessions, tmp_path):  # type: ignore[no-untyped-def]
    """A SyncContext on the test database, with its own cache folder and a short download timeout."""
    import aiohttp

    from db.sync.steps import SyncContext

    async with aiohttp.ClientSession() as http:
        yield SyncContext(engine, sessions, http, tmp_path / "cache", timeout=2.0)
