"""A misbehaving publisher for the sync fault tests: tests/db/sync/source_server.SourceServer (real files with
ETag/Last-Modified; modes hang, truncate, html, error, missing) on 127.0.0.1, usable from any event loop."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from tests.db.sync.source_server import SourceServer


@contextlib.asynccontextmanager
async def publisher() -> AsyncIterator[SourceServer]:
    server = SourceServer()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        yield server
    finally:
        await runner.cleanup()
