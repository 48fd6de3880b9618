"""db.ingest.fetch against a local publisher stand-in serving the real HS file: 200, 304, and every failure."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from db.ingest.base import sha256_file
from db.ingest.fetch import FetchFailed, fetch_to_cache, get_json, looks_like_html, safe_url
from tests.db.sync.source_server import SourceServer
from tests.local_http import start_local

PATH = "/datasets/harmonized-system/main/data/harmonized-system.csv"


@pytest.fixture
def hs_file(shared_data: Path) -> Path:
    return shared_data / "hs" / "harmonized-system.csv"


async def test_download_then_not_modified(source_server: SourceServer, hs_file: Path, tmp_path: Path) -> None:
    url = source_server.serve_file(PATH, hs_file)
    first = await fetch_to_cache(url, tmp_path)
    assert (first.status, first.sha256, first.size) == (200, sha256_file(hs_file), hs_file.stat().st_size)
    assert first.path.read_bytes() == hs_file.read_bytes()
    second = await fetch_to_cache(url, tmp_path)
    assert second.not_modified and second.sha256 == first.sha256 and second.path == first.path
    assert source_server.fetched(PATH) == [200, 304]
    assert [h.conditional for h in source_server.hits] == [False, True]


async def test_a_changed_file_is_downloaded_again(
    source_server: SourceServer, hs_file: Path, tmp_path: Path
) -> None:
    url = source_server.serve_file(PATH, hs_file)
    first = await fetch_to_cache(url, tmp_path)
    newer = hs_file.read_bytes().replace(b"Animals; live", b"Animals; live (edited for this test)", 1)
    source_server.serve_bytes(PATH, newer, last_modified="Fri, 01 Nov 2024 00:00:00 GMT")
    second = await fetch_to_cache(url, tmp_path)
    assert second.status == 200 and second.sha256 != first.sha256
    assert second.path.read_bytes() == newer


async def test_a_damaged_cached_copy_is_fetched_unconditionally(
    source_server: SourceServer, hs_file: Path, tmp_path: Path
) -> None:
    url = source_server.serve_file(PATH, hs_file)
    first = await fetch_to_cache(url, tmp_path)
    first.path.write_bytes(b"section,hscode\n")  # someone edited the cache
    again = await fetch_to_cache(url, tmp_path)
    assert again.status == 200 and again.path.read_bytes() == hs_file.read_bytes()
    assert [h.conditional for h in source_server.hits] == [False, False]


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("missing", "HTTP 404"),
        ("error", "HTTP 500"),
        ("html", "HTML page instead of the data file"),
        ("truncate", "truncated"),
    ],
)
async def test_failures_keep_the_cached_copy(
    source_server: SourceServer, hs_file: Path, tmp_path: Path, mode: str, message: str
) -> None:
    url = source_server.serve_file(PATH, hs_file)
    good = await fetch_to_cache(url, tmp_path)
    meta_before = (tmp_path / "harmonized-system.csv.meta.json").read_text()
    source_server.serve_bytes(PATH, hs_file.read_bytes() + b"\n", mode=mode)
    with pytest.raises(FetchFailed, match=message):
        await fetch_to_cache(url, tmp_path)
    assert good.path.read_bytes() == hs_file.read_bytes()
    assert (tmp_path / "harmonized-system.csv.meta.json").read_text() == meta_before
    assert not list(tmp_path.glob(".*.part"))  # no temporary file left behind


async def test_empty_body_and_timeout_and_refused(source_server: SourceServer, tmp_path: Path) -> None:
    url = source_server.serve_bytes("/empty.csv", b"")
    with pytest.raises(FetchFailed, match="empty body"):
        await fetch_to_cache(url, tmp_path)
    hang = source_server.serve_bytes("/slow.csv", b"a,b\n", mode="hang")
    with pytest.raises(FetchFailed, match="did not answer within 0.3 s"):
        await fetch_to_cache(hang, tmp_path, timeout=0.3)
    with pytest.raises(FetchFailed, match="cannot fetch http://127.0.0.1:9/x.csv"):
        await fetch_to_cache("http://127.0.0.1:9/x.csv?token=secret", tmp_path)


@pytest.mark.parametrize(
    ("head", "html"),
    [
        (b"<!DOCTYPE html><html>", True),
        (b"\xef\xbb\xbf  <html lang=en>", True),
        (b"section,hscode", False),
        (b'{"data": []}', False),
    ],
)
def test_looks_like_html(head: bytes, html: bool) -> None:
    assert looks_like_html(head) is html


def test_safe_url_drops_query_and_credentials() -> None:
    assert (
        safe_url("https://user:pw@example.org:8443/a/b.json?subscription-key=k")
        == "https://example.org:8443/a/b.json"
    )


async def _json_server(handler):  # type: ignore[no-untyped-def]
    app = web.Application()
    app.router.add_get("/api", handler)
    runner, base = await start_local(app)
    return runner, f"{base}/api"


async def test_get_json_retries_rate_limits_then_succeeds(caplog: pytest.LogCaptureFixture) -> None:
    answers = [
        web.Response(status=429, text="slow down"),
        web.Response(status=503, text="busy"),
        web.json_response({"data": [], "count": 0}),
    ]
    seen: list[str | None] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Ocp-Apim-Subscription-Key"))
        return answers.pop(0)

    runner, url = await _json_server(handler)
    try:
        with caplog.at_level(logging.DEBUG):
            async with aiohttp.ClientSession() as http:
                payload, body = await get_json(
                    http, url, headers={"Ocp-Apim-Subscription-Key": "k-123"}, backoff=0
                )
    finally:
        await runner.cleanup()
    assert payload == {"data": [], "count": 0} and json.loads(body) == payload
    assert seen == ["k-123"] * 3
    assert "k-123" not in caplog.text


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (
            lambda: web.json_response({"message": "Access denied"}, status=401),
            "HTTP 401 Unauthorized: .*Access denied",
        ),
        (lambda: web.Response(text="<html><body>error</body></html>", content_type="text/html"), "HTML page"),
        (lambda: web.Response(text="not json"), "not valid JSON"),
        (lambda: web.Response(status=500, text="down"), "HTTP 500"),
    ],
)
async def test_get_json_failures(response, message: str) -> None:  # type: ignore[no-untyped-def]
    async def handler(request: web.Request) -> web.Response:
        return response()  # type: ignore[no-any-return]

    runner, url = await _json_server(handler)
    try:
        async with aiohttp.ClientSession() as http:
            with pytest.raises(FetchFailed, match=message):
                await get_json(http, url, params={"subscription-key": "never-shown"}, retries=1, backoff=0)
    finally:
        await runner.cleanup()
