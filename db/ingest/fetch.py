"""Fetch source files and API responses over HTTP: conditional requests, checksums, atomic cache writes.

Generic on purpose: every source that syncs from the web (HS nomenclature, Comtrade, sanctions lists) uses
these two functions, so they share one set of failure rules:

- `fetch_to_cache(url, cache_dir)` downloads a file into the cache folder. It sends the ETag and
  Last-Modified validators of the cached copy (kept beside it in `<name>.meta.json`) so an unchanged file
  costs a 304 and no download. The body is streamed to a temporary file, hashed on the way, checked
  (complete, not empty, not an HTML error page) and only then renamed over the cached copy, so a failed
  or interrupted download never replaces a good file.
- `get_json(http, url, params=..., headers=...)` calls a JSON API with the same checks, and retries
  rate limits (429) and server errors (5xx) a few times with backoff.

Every failure raises `FetchFailed` with a one-line reason that names the URL (without its query string,
which may hold a key) and says what went wrong: HTTP status, timeout, connection refused, truncated body,
HTML page instead of data. Header values (API keys) are never logged or put in messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

log = logging.getLogger(__name__)

USER_AGENT = "tradewatch/0.1 (+https://github.com/; investigative trade lookups)"
HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body")


class FetchFailed(Exception):
    """A download or API call failed; nothing in the cache or the database was changed."""


@dataclass(frozen=True)
class Validators:
    """What the server said about the copy we hold, for the next conditional request."""

    url: str
    sha256: str
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: str | None = None


@dataclass(frozen=True)
class Fetched:
    """The outcome of `fetch_to_cache`: where the file is and whether the server sent a new copy."""

    path: Path
    sha256: str
    url: str
    status: int  # 200 (downloaded) or 304 (not modified: the cached copy is current)
    size: int
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def safe_url(url: str) -> str:
    """The URL without its query string or credentials, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def looks_like_html(head: bytes) -> bool:
    """True when the first bytes of a body are an HTML page (an error or login page, not data)."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return start.startswith(HTML_MARKERS)


@contextlib.asynccontextmanager
async def client_session(http: aiohttp.ClientSession | None) -> AsyncIterator[aiohttp.ClientSession]:
    """Use the caller's aiohttp session, or open (and close) a short-lived one."""
    if http is not None:
        yield http
        return
    async with aiohttp.ClientSession(headers={"User-Agent": USER_AGENT}) as own:
        yield own


def read_validators(meta_path: Path, data_path: Path) -> Validators | None:
    """The validators of the cached copy, if the copy is intact (its sha256 still matches)."""
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        validators = Validators(**meta)
    except (OSError, ValueError, TypeError):
        return None
    if not data_path.is_file() or _sha256_path(data_path) != validators.sha256:
        return None  # missing or damaged copy: fetch unconditionally
    return validators


def _sha256_path(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file and a rename (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _http_error(
    url: str, status: int, reason: str | None, body: bytes, hide: tuple[str, ...] = ()
) -> FetchFailed:
    """The error for a non-200 answer, quoting the start of its body with the request's header values (an
    API key a careless server echoes back: "invalid subscription key ck-...") replaced by [redacted]."""
    excerpt = ""
    if body and not looks_like_html(body[:512]):
        excerpt = " ".join(body[:200].decode("utf-8", "replace").split())
        for secret in hide:
            if len(secret) >= 4:
                excerpt = excerpt.replace(secret, "[redacted]")
        excerpt = f": {excerpt}" if excerpt else ""
    return FetchFailed(f"{safe_url(url)} answered HTTP {status} {reason or ''}".rstrip() + excerpt)


async def fetch_to_cache(
    url: str,
    cache_dir: Path,
    *,
    name: str | None = None,
    http: aiohttp.ClientSession | None = None,
    timeout: float = 60.0,
    allow_html: bool = False,
    now: dt.datetime | None = None,
    allow_empty: bool = False,
) -> Fetched:
    """Download `url` into `cache_dir` unless the cached copy is current.

    Args:
        url: the file's URL.
        cache_dir: folder for the cached copy and its `.meta.json` validators (created if missing).
        name: file name in the cache (default: the last part of the URL path).
        http: an aiohttp session to reuse (default: a short-lived one).
        timeout: seconds for the whole request, download included.
        allow_html: accept an HTML body (only for sources that really are HTML pages).
        allow_empty: accept an empty body (an OpenSanctions delta version with no operations is a 0-byte file).
        now: the clock, recorded in the validators.
    Returns:
        `Fetched` with the cached path, its sha256 and 200 (new copy) or 304 (not modified).
    Raises:
        FetchFailed: HTTP error, timeout, connection error, empty, truncated or HTML body. The cached
            copy and its validators are left as they were.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    name = name or Path(urlsplit(url).path).name or "download"
    data_path, meta_path = cache_dir / name, cache_dir / f"{name}.meta.json"
    previous = read_validators(meta_path, data_path)
    headers = {"User-Agent": USER_AGENT}
    if previous is not None and previous.url == url:
        if previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
    try:
        async with client_session(http) as session:
            async with session.get(
                url, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as resp:
                if resp.status == 304 and previous is not None:
                    log.info("not modified: %s", safe_url(url))
                    return Fetched(
                        data_path,
                        previous.sha256,
                        url,
                        304,
                        data_path.stat().st_size,
                        previous.etag,
                        previous.last_modified,
                    )
                if resp.status != 200:
                    raise _http_error(url, resp.status, resp.reason, await resp.content.read(2048))
                sha, size = await _stream_to(resp, data_path, url, allow_html, allow_empty)
                etag, modified = resp.headers.get("ETag"), resp.headers.get("Last-Modified")
    except TimeoutError:
        raise FetchFailed(f"{safe_url(url)} did not answer within {timeout:g} s") from None
    except aiohttp.ClientPayloadError:
        raise FetchFailed(
            f"{safe_url(url)}: the download was cut off before the end (truncated body)"
        ) from None
    except aiohttp.ClientError as exc:
        raise FetchFailed(f"cannot fetch {safe_url(url)}: {exc.__class__.__name__}: {exc}") from None
    stamp = (now or dt.datetime.now(dt.UTC)).isoformat()
    write_bytes_atomic(
        meta_path, json.dumps(asdict(Validators(url, sha, etag, modified, stamp)), indent=1).encode()
    )
    log.info("fetched %s: %d bytes, sha256 %s", safe_url(url), size, sha[:16])
    return Fetched(data_path, sha, url, 200, size, etag, modified)


async def _stream_to(
    resp: aiohttp.ClientResponse, target: Path, url: str, allow_html: bool, allow_empty: bool = False
) -> tuple[str, int]:
    """Stream a 200 body into a temporary file beside `target`, check it, then rename it into place."""
    digest, size, head = hashlib.sha256(), 0, b""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            async for chunk in resp.content.iter_chunked(1 << 16):
                if len(head) < 512:
                    head += chunk[: 512 - len(head)]
                digest.update(chunk)
                fh.write(chunk)
                size += len(chunk)
        # Content-Length counts the encoded bytes; aiohttp hands over decoded ones (gzip from GitHub raw, CDNs),
        # so the length check only holds for identity bodies (a cut gzip stream raises ClientPayloadError).
        encoded = resp.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity")
        expected = resp.content_length
        if expected is not None and not encoded and size != expected:
            raise FetchFailed(f"{safe_url(url)}: got {size} of {expected} bytes (truncated body)")
        if size == 0 and not allow_empty:
            raise FetchFailed(f"{safe_url(url)} sent an empty body")
        if not allow_html and looks_like_html(head):
            raise FetchFailed(
                f"{safe_url(url)} sent an HTML page instead of the data file (an error or login page?)"
            )
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return digest.hexdigest(), size


RETRY_STATUSES = {429, 500, 502, 503, 504}


async def get_json(
    http: aiohttp.ClientSession,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 20.0,
    retries: int = 2,
    backoff: float = 1.0,
) -> tuple[Any, bytes]:
    """GET a JSON API, retrying 429 and 5xx answers `retries` times with growing pauses.

    Args:
        http: the aiohttp session.
        url: the endpoint (its query string goes in `params`).
        params: query parameters.
        headers: extra headers (API keys go here; they are never logged).
        timeout: seconds per attempt.
        retries: extra attempts after a 429/5xx answer or a timeout.
        backoff: seconds before the first retry (doubled each time; a Retry-After header wins if shorter
            than a minute).
    Returns:
        The decoded JSON and the raw body bytes (for caching and checksums).
    Raises:
        FetchFailed: HTTP error, timeout, connection error, truncated, empty, HTML or non-JSON body.
    """
    attempt = 0
    while True:
        try:
            return await _get_json_once(http, url, params, headers, timeout)
        except _Retryable as exc:
            if attempt >= retries:
                raise FetchFailed(str(exc)) from None
            pause = exc.retry_after if exc.retry_after is not None else backoff * (2**attempt)
            log.warning("%s; retrying in %.1f s", exc, pause)
            await asyncio.sleep(pause)
            attempt += 1


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds <= 60 else None


async def _get_json_once(
    http: aiohttp.ClientSession,
    url: str,
    params: Mapping[str, str] | None,
    headers: Mapping[str, str] | None,
    timeout: float,
) -> tuple[Any, bytes]:
    where = safe_url(url)
    hide = tuple((headers or {}).values())
    try:
        async with http.get(
            url,
            params=params,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as resp:
            body = await resp.read()
            if resp.status in RETRY_STATUSES:
                raise _Retryable(
                    str(_http_error(url, resp.status, resp.reason, body, hide)),
                    _retry_after(resp.headers.get("Retry-After")),
                )
            if resp.status != 200:
                raise _http_error(url, resp.status, resp.reason, body, hide)
    except TimeoutError:
        raise _Retryable(f"{where} did not answer within {timeout:g} s") from None
    except aiohttp.ClientPayloadError:
        raise FetchFailed(f"{where}: the answer was cut off before the end (truncated body)") from None
    except aiohttp.ClientError as exc:
        raise FetchFailed(f"cannot reach {where}: {exc.__class__.__name__}: {exc}") from None
    if not body.strip():
        raise FetchFailed(f"{where} sent an empty body")
    if looks_like_html(body[:512]):
        raise FetchFailed(f"{where} sent an HTML page instead of JSON (an error or login page?)")
    try:
        return json.loads(body), body
    except ValueError as exc:
        raise FetchFailed(f"{where} sent a body that is not valid JSON ({exc})") from None
