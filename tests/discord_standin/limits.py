"""Discord's limits on messages, embeds, files and autocomplete choices, enforced as Discord does.

Sources: Discord's developer documentation (resources/message.mdx, reference.mdx,
interactions/receiving-and-responding.mdx). Errors use Discord's 50035 tree, e.g.
{"embeds": {"0": {"description": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", ...}]}}}}.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .errors import DiscordError, FormErrors
from .store import UploadedFile

CONTENT_MAX = 2000
EMBEDS_MAX = 10
FILES_MAX = 10
EMBED_TOTAL_MAX = 6000
EMBED_FIELDS_MAX = 25
REQUEST_MAX = 25 * 1024 * 1024
NONCE_MAX = 25
CHOICES_MAX = 25
EMBED_TEXT_LIMITS = {"title": 256, "description": 4096}
MENTION_KINDS = {"users", "roles", "everyone"}
# Channel messages may set these flag bits; interaction replies and followups may also set EPHEMERAL (64).
SETTABLE_FLAGS = 4 | 4096 | 32768
EPHEMERAL = 64

Path = tuple[str | int, ...]


def _too_long(errors: FormErrors, path: Path, value: Any, limit: int) -> None:
    if isinstance(value, str) and len(value) > limit:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _required_text(errors: FormErrors, path: Path, value: Any, limit: int) -> int:
    if not isinstance(value, str) or not value.strip():
        errors.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        return 0
    _too_long(errors, path, value, limit)
    return len(value.strip())


def _url(errors: FormErrors, path: Path, value: Any, *, attachment_ok: bool) -> None:
    schemes = ("http://", "https://") + (("attachment://",) if attachment_ok else ())
    if value is not None and (not isinstance(value, str) or not value.startswith(schemes)):
        errors.add(path, "URL_TYPE_INVALID_URL", "Not a well formed URL.")


def _embed(errors: FormErrors, path: Path, embed: Any) -> int:
    """Validate one embed; return its size as Discord counts it toward the 6000 total."""
    if not isinstance(embed, dict):
        errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return 0
    size = 0
    for key, limit in EMBED_TEXT_LIMITS.items():
        value = embed.get(key)
        _too_long(errors, path + (key,), value, limit)
        size += len(value.strip()) if isinstance(value, str) else 0
    fields = embed.get("fields") or []
    if len(fields) > EMBED_FIELDS_MAX:
        errors.add(
            path + ("fields",), "BASE_TYPE_MAX_LENGTH", f"Must be {EMBED_FIELDS_MAX} or fewer in length."
        )
    for index, item in enumerate(fields):
        item = item if isinstance(item, dict) else {}
        size += _required_text(errors, path + ("fields", index, "name"), item.get("name"), 256)
        size += _required_text(errors, path + ("fields", index, "value"), item.get("value"), 1024)
    footer, author = embed.get("footer") or {}, embed.get("author") or {}
    if footer:
        size += _required_text(errors, path + ("footer", "text"), footer.get("text"), 2048)
        _url(errors, path + ("footer", "icon_url"), footer.get("icon_url"), attachment_ok=True)
    if author:
        size += _required_text(errors, path + ("author", "name"), author.get("name"), 256)
        _url(errors, path + ("author", "url"), author.get("url"), attachment_ok=False)
        _url(errors, path + ("author", "icon_url"), author.get("icon_url"), attachment_ok=True)
    _url(errors, path + ("url",), embed.get("url"), attachment_ok=False)
    for media in ("image", "thumbnail"):
        if embed.get(media):
            _url(errors, path + (media, "url"), embed[media].get("url"), attachment_ok=True)
    _embed_scalars(errors, path, embed)
    return size


def _embed_scalars(errors: FormErrors, path: Path, embed: dict[str, Any]) -> None:
    color = embed.get("color")
    if color is not None and (not isinstance(color, int) or not 0 <= color <= 0xFFFFFF):
        errors.add(
            path + ("color",), "NUMBER_TYPE_MAX", "int value should be less than or equal to 16777215."
        )
    timestamp = embed.get("timestamp")
    if timestamp is not None:
        try:
            datetime.fromisoformat(str(timestamp))
        except ValueError:
            errors.add(path + ("timestamp",), "DATE_TYPE_PARSE", f"Could not parse {timestamp}.")


def _allowed_mentions(errors: FormErrors, path: Path, value: Any) -> None:
    if value is None:
        return
    parse = value.get("parse", [])
    for index, kind in enumerate(parse):
        if kind not in MENTION_KINDS:
            errors.add(
                path + ("parse", index), "ENUM_TYPE_COERCE", f'Value "{kind}" is not a valid enum value.'
            )
    for kind in ("users", "roles"):
        if kind in parse and value.get(kind):
            errors.add(
                path + (kind,), "SET_TYPE_ALREADY_CONTAINS_VALUE", f"parse contains {kind} and {kind} is set"
            )


def check_message(
    payload: dict[str, Any],
    files: list[UploadedFile],
    *,
    attachment_size_limit: int,
    path: Path = (),
    ephemeral_allowed: bool = False,
    existing_attachments: int = 0,
    editing: bool = False,
) -> None:
    """Raise DiscordError (400 50035 / 50006 / 30015, 413 40005) if Discord would refuse this message body."""
    _check_files(files, attachment_size_limit)
    errors = FormErrors()
    content = payload.get("content")
    if content is not None and not isinstance(content, str):
        errors.add(path + ("content",), "STRING_TYPE_CONVERT", "Could not interpret value as string.")
    _too_long(errors, path + ("content",), content, CONTENT_MAX)
    embeds = payload.get("embeds") or []
    if len(embeds) > EMBEDS_MAX:
        errors.add(path + ("embeds",), "BASE_TYPE_MAX_LENGTH", f"Must be {EMBEDS_MAX} or fewer in length.")
    total = sum(_embed(errors, path + ("embeds", index), embed) for index, embed in enumerate(embeds))
    if total > EMBED_TOTAL_MAX:
        errors.add(
            path + ("embeds",),
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}",
        )
    _allowed_mentions(errors, path + ("allowed_mentions",), payload.get("allowed_mentions"))
    _check_flags(errors, path, payload.get("flags"), ephemeral_allowed)
    errors.raise_if_any()
    has_body = bool((content or "").strip() or embeds or files or existing_attachments)
    has_body = has_body or bool(
        payload.get("components") or payload.get("sticker_ids") or payload.get("poll")
    )
    if not has_body and not editing:
        raise DiscordError(400, 50006, "Cannot send an empty message")


def _check_files(files: list[UploadedFile], limit: int) -> None:
    if len(files) > FILES_MAX:
        raise DiscordError(400, 30015, f"Maximum number of attachments in a message reached ({FILES_MAX})")
    if sum(len(file.data) for file in files) > REQUEST_MAX or any(len(file.data) > limit for file in files):
        raise DiscordError(413, 40005, "Request entity too large")


def _check_flags(errors: FormErrors, path: Path, flags: Any, ephemeral_allowed: bool) -> None:
    if flags is None:
        return
    allowed = SETTABLE_FLAGS | (EPHEMERAL if ephemeral_allowed else 0)
    if not isinstance(flags, int) or flags & ~allowed:
        errors.add(path + ("flags",), "MESSAGE_FLAGS_INVALID", "Invalid message flags")  # code invented


def check_nonce(nonce: Any) -> None:
    errors = FormErrors()
    if isinstance(nonce, str) and len(nonce) > NONCE_MAX:
        errors.add(("nonce",), "BASE_TYPE_MAX_LENGTH", f"Must be {NONCE_MAX} or fewer in length.")
    elif not isinstance(nonce, str | int):
        errors.add(("nonce",), "BASE_TYPE_BAD_TYPE", "Must be a string or integer.")
    errors.raise_if_any()


def check_choices(choices: Any, option_type: int) -> None:
    """Autocomplete answers: at most 25 choices, name 1-100, value of the option's type (string value <= 100)."""
    errors = FormErrors()
    path: Path = ("data", "choices")
    if not isinstance(choices, list):
        errors.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        errors.raise_if_any()
    if len(choices) > CHOICES_MAX:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {CHOICES_MAX} or fewer in length.")
    for index, choice in enumerate(choices):
        name, value = choice.get("name"), choice.get("value")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            errors.add(path + (index, "name"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        if not _value_fits(value, option_type):
            errors.add(
                path + (index, "value"),
                "BASE_TYPE_BAD_TYPE",
                f"Value does not match option type {option_type}.",
            )
        elif isinstance(value, str) and len(value) > 100:
            errors.add(path + (index, "value"), "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
    errors.raise_if_any()


def _value_fits(value: Any, option_type: int) -> bool:
    if option_type == 3:
        return isinstance(value, str)
    if option_type == 4:
        return isinstance(value, int) and not isinstance(value, bool)
    if option_type == 10:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return False
