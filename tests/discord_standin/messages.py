"""Turning validated message bodies into stored messages: attachments, `attachment://` references, edits."""

from __future__ import annotations

import mimetypes
import struct
from typing import Any

from .errors import FormErrors
from .store import EPHEMERAL, LOADING, Attachment, Message, Store, UploadedFile

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEPT_FLAGS = 4 | 64 | 4096 | 32768  # suppress embeds, ephemeral, suppress notifications, components v2


def png_size(data: bytes) -> tuple[int | None, int | None]:
    """Width and height from a PNG's IHDR chunk, as Discord reports them for images."""
    if data.startswith(PNG_SIGNATURE) and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    return None, None


class MessageFactory:
    """Creates and edits messages in the store; `base_url` makes attachment URLs point at the stand-in itself."""

    def __init__(self, store: Store, ids: Any, clock: Any, base_url: Any) -> None:
        self.store, self.ids, self.clock, self._base_url = store, ids, clock, base_url

    def attachment(
        self,
        filename: str,
        data: bytes,
        content_type: str | None,
        channel_id: int,
        description: str | None = None,
    ) -> Attachment:
        attachment_id = self.ids.next()
        guessed = mimetypes.guess_type(filename)[0]
        if content_type in (None, "application/octet-stream") and guessed:
            content_type = guessed  # Discord sniffs the type; discord.py always uploads as octet-stream
        width, height = png_size(data)
        url = f"{self._base_url()}/attachments/{channel_id}/{attachment_id}/{filename}"
        attachment = Attachment(
            attachment_id,
            filename,
            data,
            content_type or "application/octet-stream",
            url,
            description,
            width,
            height,
        )
        self.store.attachments[attachment_id] = attachment
        return attachment

    def create(
        self,
        channel_id: int,
        guild_id: int | None,
        author: dict[str, Any],
        payload: dict[str, Any],
        files: list[UploadedFile],
        **extra: Any,
    ) -> Message:
        message = Message(self.ids.next(), channel_id, guild_id, author, self.clock.iso(), **extra)
        self.apply(message, payload, files, creating=True)
        self.store.messages[message.id] = message
        return message

    def apply(
        self, message: Message, payload: dict[str, Any], files: list[UploadedFile], *, creating: bool = False
    ) -> None:
        """Set the fields present in `payload` (an edit leaves absent fields as they were)."""
        for key in ("content", "embeds", "components", "allowed_mentions", "tts"):
            if key in payload and payload[key] is not None:
                setattr(message, key, payload[key])
        if "flags" in payload and payload["flags"] is not None:
            # Ephemerality is fixed when a message is created (for a deferred reply: by the defer).
            settable = KEPT_FLAGS if creating else KEPT_FLAGS & ~EPHEMERAL
            kept = LOADING if creating else LOADING | EPHEMERAL
            message.flags = (payload["flags"] & settable) | (message.flags & kept)
        if files or "attachments" in payload:
            message.attachments = self._attachments(message, payload.get("attachments"), files)
        message.unresolved_attachment_refs = self._resolve_references(message)
        if not creating:
            message.flags &= ~LOADING
            message.edited_timestamp = self.clock.iso()
            message.edits += 1

    def _attachments(
        self, message: Message, listed: list[dict[str, Any]] | None, files: list[UploadedFile]
    ) -> list[Attachment]:
        uploads = {file.index: file for file in files}
        existing = {str(a.id): a for a in message.attachments}
        if listed is None:  # no attachments array: every uploaded file is attached, existing ones kept
            listed = [{"id": str(a.id)} for a in message.attachments] + [{"id": file.index} for file in files]
        result, errors = [], FormErrors()
        for index, item in enumerate(listed):
            key = str(item.get("id"))
            if key in existing:
                result.append(existing[key])
            elif key.isdigit() and int(key) in uploads:
                upload = uploads[int(key)]
                name = item.get("filename") or upload.filename
                result.append(
                    self.attachment(
                        name, upload.data, upload.content_type, message.channel_id, item.get("description")
                    )
                )
            else:
                errors.add(
                    ("attachments", index, "id"), "ATTACHMENT_NOT_FOUND", f"Unknown attachment {key}"
                )  # code invented
        errors.raise_if_any()
        return result

    @staticmethod
    def _resolve_references(message: Message) -> list[str]:
        """Point `attachment://name` embed URLs at the uploaded file, as Discord does; list names not found."""
        by_name = {a.filename: a for a in message.attachments}
        missing = []
        for embed in message.embeds:
            for key in ("image", "thumbnail"):
                url = (embed.get(key) or {}).get("url", "")
                if url.startswith("attachment://"):
                    name = url.removeprefix("attachment://")
                    if name in by_name:
                        embed[key] = {
                            **embed[key],
                            "url": by_name[name].url,
                            "proxy_url": by_name[name].url,
                            "width": by_name[name].width,
                            "height": by_name[name].height,
                        }
                    else:
                        missing.append(name)
        return missing
