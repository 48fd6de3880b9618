"""A local stand-in for the publishers' web servers, on 127.0.0.1, for sync tests.

It serves real files from ../shared/data (or bytes a test builds) with ETag and Last-Modified, answers
conditional requests with 304, and can misbehave on demand: hang, cut the body short, serve an HTML error page
with status 200, fail with 500, or redirect. Every request is recorded so tests can assert what was fetched.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tests.local_http import start_local

HTML_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head>"
    b"<body><h1>The service is temporarily unavailable</h1></body></html>\n"
)


@dataclass
class Route:
    """What one path serves. `mode`: ok, hang, truncate, html, error (500), missing (404) or redirect."""

    body: bytes = b""
    mode: str = "ok"
    last_modified: str = "Thu, 29 Sep 2022 18:59:00 GMT"
    content_type: str = "text/csv"
    location: str = ""
    delay: float = 0.0  # seconds before answering (to make two syncs overlap)


@dataclass
class Hit:
    path: str
    status: int
    conditional: bool


@dataclass
class SourceServer:
    """Routes by path; `url(path)` gives the address to put in the sync config."""

    base: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def serve_file(self, path: str, file: Path, *, last_modified: str | None = None, **kw: object) -> str:
        """Serve a real file's bytes at `path`; returns the URL."""
        return self.serve_bytes(path, file.read_bytes(), last_modified=last_modified, **kw)

    def serve_bytes(self, path: str, body: bytes, *, last_modified: str | None = None, **kw: object) -> str:
        route = Route(body=body, **kw)  # type: ignore[arg-type]
        if last_modified:
            route.last_modified = last_modified
        self.routes[path] = route
        return self.url(path)

    def set_mode(self, path: str, mode: str) -> None:
        self.routes[path].mode = mode

    def fetched(self, path: str) -> list[int]:
        """The statuses answered for `path`, in order."""
        return [h.status for h in self.hits if h.path == path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        route = self.routes.get(request.path)
        conditional = "If-None-Match" in request.headers or "If-Modified-Since" in request.headers
        status = await self._status(route, request)
        self.hits.append(Hit(request.path, status, conditional))
        if route is not None and route.delay:
            await asyncio.sleep(route.delay)
        if route is None or status == 404:
            return web.Response(status=404, text="not found")
        if route.mode == "hang":
            await asyncio.sleep(3600)
        if route.mode == "error":
            return web.Response(status=500, text="internal error")
        if route.mode == "redirect":
            raise web.HTTPFound(route.location)
        if route.mode == "html":
            return web.Response(body=HTML_ERROR_PAGE, content_type="text/html")
        headers = {"ETag": _etag(route.body), "Last-Modified": route.last_modified}
        if status == 304:
            return web.Response(status=304, headers=headers)
        if route.mode == "truncate":
            return await _truncated(request, route, headers)
        return web.Response(body=route.body, headers=headers, content_type=route.content_type)

    async def _status(self, route: Route | None, request: web.Request) -> int:
        if route is None or route.mode == "missing":
            return 404
        if route.mode != "ok":
            return {"error": 500, "redirect": 302}.get(route.mode, 200)
        if request.headers.get("If-None-Match") == _etag(route.body):
            return 304
        since = request.headers.get("If-Modified-Since")
        if since and "If-None-Match" not in request.headers:
            if email.utils.parsedate_to_datetime(since) >= email.utils.parsedate_to_datetime(
                route.last_modified
            ):
                return 304
        return 200


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


async def _truncated(request: web.Request, route: Route, headers: dict[str, str]) -> web.StreamResponse:
    """Promise the whole body, send a third of it, then drop the connection."""
    response = web.StreamResponse(headers=headers)
    response.content_type = route.content_type
    response.content_length = len(route.body)
    await response.prepare(request)
    await response.write(route.body[: len(route.body) // 3])
    assert request.transport is not None
    request.transport.close()
    return response


@contextlib.asynccontextmanager
async def running_source_server() -> AsyncIterator[SourceServer]:
    """A SourceServer on 127.0.0.1 (random port, `base` set), stopped on exit; usable from any event loop."""
    server = SourceServer()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", server.handle)
    runner, server.base = await start_local(app)
    try:
        yield server
    finally:
        await runner.cleanup()
