"""Fixtures for sync tests (registered in tests/conftest.py): the local source server and a SyncContext."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.db.sync.source_server import SourceServer


@pytest.fixture
async def source_server() -> AsyncIterator[SourceServer]:
    """A publisher stand-in on 127.0.0.1 (random port); tests add routes with serve_file/serve_bytes."""
    server = SourceServer()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.base = f"http://127.0.0.1:{port}"
    yield server
    await runner.cleanup()


@pytest.fixture
async def sync_ctx(engine, sessions, tmp_path):  # type: ignore[no-untyped-def]
    """A SyncContext on the test database, with its own cache folder and a short download timeout."""
    import aiohttp

    from db.sync.runner import SyncContext

    async with aiohttp.ClientSession() as http:
        yield SyncContext(engine, sessions, http, tmp_path / "cache", timeout=2.0)
