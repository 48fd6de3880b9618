"""Discord-shaped error answers and JSON responses with the exact headers discord.py depends on."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

# discord.py compares Content-Type verbatim (http.py json_or_text); aiohttp's json_response adds "; charset=utf-8",
# which makes discord.py treat every body as text and die at login.
JSON_TYPE = "application/json"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    response = web.Response(status=status, body=json.dumps(body).encode(), headers=headers or {})
    response.headers["Content-Type"] = JSON_TYPE
    return response


class DiscordError(Exception):
    """An API error as Discord answers it: status, numeric code, message and (for 50035) the error tree."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body

    def response(self) -> web.Response:
        return json_response(self.body(), status=self.status)


class FormErrors:
    """Collects field errors into Discord's nested `errors` tree for a 50035 Invalid Form Body."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def raise_if_any(self) -> None:
        if self.tree:
            raise DiscordError(400, 50035, "Invalid Form Body", self.tree)

    def __bool__(self) -> bool:
        return bool(self.tree)


def unknown(what: str, code: int) -> DiscordError:
    """404 for a missing object, e.g. unknown("Channel", 10003)."""
    return DiscordError(404, code, f"Unknown {what}")


UNAUTHORIZED = DiscordError(401, 0, "401: Unauthorized")
