"""Rate limits and injected REST faults.

Every answer carries Discord's rate-limit headers. Buckets are fixed windows per route and major parameter
(channel, guild, webhook token), read from the stand-in clock. A 429 carries `Via` (discord.py only retries a 429
that has it, http.py:712) and a JSON body with `retry_after` in seconds; a global 429 also sets `global: true`.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .clock import Clock
from .errors import json_response

MAJOR_PARAMETERS = ("channel_id", "guild_id", "webhook_id", "webhook_token", "interaction_id")
FAULT_STATUSES = {429, 500, 502, 503, 504}


@dataclass
class Fault:
    route: str  # "POST /channels/{channel_id}/messages", or "*" for every route
    status: int
    remaining: int
    retry_after: float
    is_global: bool

    def matches(self, route: str) -> bool:
        return self.remaining > 0 and self.route in ("*", route)


@dataclass
class Bucket:
    limit: int
    window: float
    opened_at: float
    used: int = 0


@dataclass
class RateLimits:
    """Fixed-window buckets plus the queue of injected faults."""

    clock: Clock
    limit: int = 50
    window: float = 1.0
    faults: list[Fault] = field(default_factory=list)
    buckets: dict[tuple[str, str], Bucket] = field(default_factory=dict)

    def inject(self, route: str, status: int, count: int, retry_after: float, is_global: bool) -> None:
        if status not in FAULT_STATUSES:
            raise ValueError(f"fault status must be one of {sorted(FAULT_STATUSES)}")
        self.faults.append(Fault(route, status, count, retry_after, is_global))

    def take_fault(self, route: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(route):
                fault.remaining -= 1
                return fault
        return None

    def consume(self, route: str, match_info: dict[str, str]) -> tuple[dict[str, str], float | None]:
        """Count one request; return the headers to send and, when the bucket is exhausted, retry_after."""
        major = ":".join(match_info.get(key, "") for key in MAJOR_PARAMETERS)
        now = self.clock.now()
        bucket = self.buckets.get((route, major))
        if bucket is None or now - bucket.opened_at >= bucket.window:
            bucket = self.buckets[(route, major)] = Bucket(self.limit, self.window, now)
        reset_after = max(bucket.window - (now - bucket.opened_at), 0.001)
        if bucket.used >= bucket.limit:
            return self.headers(route, bucket, reset_after), reset_after
        bucket.used += 1
        return self.headers(route, bucket, reset_after), None

    def headers(self, route: str, bucket: Bucket, reset_after: float) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(max(bucket.limit - bucket.used, 0)),
            "X-RateLimit-Reset": f"{self.clock.wall() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": hashlib.sha1(route.encode()).hexdigest()[:16],
        }


def too_many_requests(
    retry_after: float, *, is_global: bool, headers: dict[str, str] | None = None
) -> web.Response:
    """A 429 as Discord sends it, including the `Via` header discord.py requires before it will retry."""
    body: dict[str, Any] = {
        "message": "You are being rate limited.",
        "retry_after": retry_after,
        "global": is_global,
        "code": 0,
    }
    extra = dict(headers or {})
    extra.update(
        {
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Scope": "global" if is_global else "user",
            "Via": "1.1 google",
        }
    )
    if is_global:
        extra["X-RateLimit-Global"] = "true"
    return json_response(body, status=429, headers=extra)


def server_error(status: int) -> web.Response:
    """5xx answers: Discord's own 500 is JSON; 502/503/504 come from the edge as HTML, which discord.py also handles."""
    if status == 500:
        return json_response({"message": "500: Internal Server Error", "code": 0}, status=500)
    html = (
        f"<html><head><title>{status}</title></head><body>{status} Bad Gateway (stand-in fault)</body></html>"
    )
    return web.Response(status=status, text=html, content_type="text/html")


def fault_response(fault: Fault) -> web.Response:
    if fault.status == 429:
        return too_many_requests(fault.retry_after, is_global=fault.is_global)
    return server_error(fault.status)
