"""Request bodies as Discord accepts them: JSON, or multipart/form-data with `payload_json` and `files[n]` parts."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from .errors import DiscordError, FormErrors
from .limits import REQUEST_MAX
from .store import UploadedFile

# Per-request values the server middleware hands to the route handlers.
PAYLOAD: web.RequestKey[Any] = web.RequestKey("payload", object)
FILES: web.RequestKey[list[UploadedFile]] = web.RequestKey("files", list)
RECORD: web.RequestKey[Any] = web.RequestKey("record", object)
INTERACTION: web.RequestKey[Any] = web.RequestKey("interaction", object)

FILE_FIELD = re.compile(r"^files\[(\d+)\]$")


def _bad_body(message: str) -> DiscordError:
    errors = FormErrors()
    errors.add(("_body",), "BASE_TYPE_BAD_TYPE", message)  # path and code invented; Discord sends 50035 here
    return DiscordError(400, 50035, "Invalid Form Body", errors.tree)


async def read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
    """Return (json payload or None, uploaded files). Raises 50035 for a body Discord could not parse."""
    if request.content_length and request.content_length > REQUEST_MAX:
        raise DiscordError(413, 40005, "Request entity too large")
    if not request.body_exists:
        return None, []
    content_type = request.content_type
    if content_type == "application/json":
        try:
            return json.loads(await request.read()), []
        except ValueError:
            raise _bad_body("Body is not valid JSON.") from None
    if content_type == "multipart/form-data":
        return await _read_multipart(request)
    raise _bad_body(f"Unsupported Content-Type {content_type!r}; use JSON or multipart/form-data.")


async def _read_multipart(request: web.Request) -> tuple[Any, list[UploadedFile]]:
    payload: Any = None
    files: list[UploadedFile] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        name = part.name or ""
        data = await part.read()  # type: ignore[union-attr]
        if name == "payload_json":
            try:
                payload = json.loads(data)
            except ValueError:
                raise _bad_body("payload_json is not valid JSON.") from None
        elif match := FILE_FIELD.match(name):
            content_type = part.headers.get("Content-Type")
            files.append(
                UploadedFile(
                    int(match.group(1)), part.filename or f"file{match.group(1)}", content_type, bytes(data)
                )
            )
        else:
            raise _bad_body(f"Unexpected multipart field {name!r}.")
    return payload, files
