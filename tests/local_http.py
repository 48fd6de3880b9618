"""Local HTTP stand-ins (publishers, Comtrade, trade.gov) on 127.0.0.1: one way to start them."""

from __future__ import annotations

from aiohttp import web


async def start_local(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve `app` on 127.0.0.1 on a free port; returns the runner (`cleanup()` stops it) and the base URL."""
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"
