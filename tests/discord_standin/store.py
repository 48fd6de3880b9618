"""What the stand-in records: every request, every message and attachment, every interaction and its answers.

Tests read these records (through the driver) and wait on `Notifier` for them to change.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

EPHEMERAL = 1 << 6
LOADING = 1 << 7
MENTION = re.compile(r"<@!?(\d+)>|<@&(\d+)>|@(everyone|here)")


class StandInTimeout(AssertionError):
    """A wait on the stand-in ran out; the message says what was awaited and what happened instead."""


class Notifier:
    """Wakes every waiter whenever the stand-in's state changes; waiters re-check their own condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def changed(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(
        self,
        check: Callable[[], T | None],
        timeout: float,
        what: str,
        context: Callable[[], str] | None = None,
        poll: float | None = None,
    ) -> T:
        """Return check()'s first truthy result; raise StandInTimeout after `timeout` seconds of real time.

        `poll` also re-checks every so many seconds, for conditions no state change announces (a process exit).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = check()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                detail = f"\n{context()}" if context else ""
                raise StandInTimeout(f"timed out after {timeout:g}s waiting for {what}{detail}")
            try:
                await asyncio.wait_for(self._event.wait(), min(remaining, poll or remaining))
            except TimeoutError:
                continue


@dataclass
class UploadedFile:
    """One `files[n]` part of a multipart request."""

    index: int
    filename: str
    content_type: str | None
    data: bytes


@dataclass
class Attachment:
    id: int
    filename: str
    data: bytes
    content_type: str
    url: str
    description: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
            "description": self.description,
        }
        if self.width is not None:
            body.update(width=self.width, height=self.height)
        return body


@dataclass
class Message:
    """A message as the stand-in stores it; `payload()` is the object Discord would return."""

    id: int
    channel_id: int
    guild_id: int | None
    author: dict[str, Any]
    timestamp: str
    type: int = 0
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    components: list[Any] = field(default_factory=list)
    flags: int = 0
    allowed_mentions: dict[str, Any] | None = None
    nonce: str | int | None = None
    tts: bool = False
    interaction_id: int | None = None
    webhook_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    edited_timestamp: str | None = None
    deleted: bool = False
    unresolved_attachment_refs: list[str] = field(default_factory=list)
    edits: int = 0

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        """True while this is the "Bot is thinking..." placeholder of a deferred interaction."""
        return bool(self.flags & LOADING)

    def pings(self) -> dict[str, Any]:
        """Who the content would notify under its allowed_mentions (absent: Discord parses everything).

        Embeds never ping. Role mentionability and the Mention Everyone permission are not modelled, so this is
        what allowed_mentions lets through, the part the bot controls.
        """
        allowed = self.allowed_mentions
        parse = set(allowed.get("parse", [])) if allowed is not None else {"users", "roles", "everyone"}
        listed_users = set(allowed.get("users", [])) if allowed else set()
        listed_roles = set(allowed.get("roles", [])) if allowed else set()
        users, roles, everyone = [], [], False
        for user_id, role_id, broadcast in MENTION.findall(self.content):
            if user_id and ("users" in parse or user_id in listed_users):
                users.append(user_id)
            elif role_id and ("roles" in parse or role_id in listed_roles):
                roles.append(role_id)
            elif broadcast and "everyone" in parse:
                everyone = True
        return {"everyone": everyone, "users": users, "roles": roles}

    def attachment(self, filename: str) -> Attachment:
        for attachment in self.attachments:
            if attachment.filename == filename:
                return attachment
        raise LookupError(f"no attachment {filename!r}; have {[a.filename for a in self.attachments]}")

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "type": self.type,
            "content": self.content,
            "author": self.author,
            "attachments": [attachment.payload() for attachment in self.attachments],
            "embeds": self.embeds,
            "components": self.components,
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": self.tts,
            "timestamp": self.timestamp,
            "edited_timestamp": self.edited_timestamp,
            "flags": self.flags,
        }
        if self.nonce is not None:
            body["nonce"] = self.nonce
        if self.webhook_id is not None:
            body["webhook_id"] = str(self.webhook_id)
            body["application_id"] = str(self.webhook_id)
        if self.interaction_metadata is not None:
            body["interaction_metadata"] = self.interaction_metadata
        return body


@dataclass
class RecordedRequest:
    method: str
    path: str
    route: str  # "POST /channels/{channel_id}/messages", or "" when the route is not implemented
    query: dict[str, str]
    content_type: str | None
    authorized: bool
    json: Any = None  # the JSON body, or payload_json of a multipart body
    files: list[UploadedFile] = field(default_factory=list)
    status: int = 0
    response: Any = None
    at: float = 0.0
    fault: str | None = None  # set when the answer was an injected fault

    def __str__(self) -> str:
        return f"{self.status} {self.method} {self.path}" + (f" [{self.fault}]" if self.fault else "")


@dataclass
class Rejection:
    """A request the stand-in answered with a Discord error (4xx), with the body it sent."""

    route: str
    status: int
    code: int
    body: dict[str, Any]
    interaction_id: int | None = None

    def __str__(self) -> str:
        return f"{self.status} {self.code} on {self.route}: {self.body}"


@dataclass
class Ack:
    """The initial response to an interaction."""

    response_type: int  # 4 message, 5 deferred, 8 autocomplete choices, 9 modal
    delay: float  # seconds (stand-in clock) between INTERACTION_CREATE and the callback
    ephemeral: bool

    @property
    def deferred(self) -> bool:
        return self.response_type == 5


@dataclass
class Interaction:
    id: int
    token: str
    type: int  # 2 application command, 4 autocomplete
    payload: dict[str, Any]
    created_at: float
    channel_id: int
    guild_id: int
    user_id: int
    ack: Ack | None = None
    original: Message | None = None
    followups: list[Message] = field(default_factory=list)
    choices: list[dict[str, Any]] | None = None
    modal: dict[str, Any] | None = None
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def messages(self) -> list[Message]:
        return ([self.original] if self.original else []) + self.followups


class Store:
    """All records, plus the notifier that tells waiters something changed."""

    def __init__(self) -> None:
        self.notifier = Notifier()
        self.requests: list[RecordedRequest] = []
        self.unimplemented: list[RecordedRequest] = []
        self.rejections: list[Rejection] = []
        self.messages: dict[int, Message] = {}
        self.attachments: dict[int, Attachment] = {}
        self.downloads: list[int] = []  # attachment ids fetched from the stand-in CDN, in order
        self.interactions: dict[int, Interaction] = {}
        self.global_commands: dict[str, dict[str, Any]] = {}
        self.guild_commands: dict[int, dict[str, dict[str, Any]]] = {}
        self.command_ids: dict[tuple[int | None, int, str], int] = {}
        self.syncs: list[tuple[int | None, list[str]]] = []  # (guild id or None for global, names)
        self.nonces: dict[tuple[int, int, str], tuple[int, float]] = {}

    def changed(self) -> None:
        self.notifier.changed()

    def channel_messages(self, channel_id: int | None = None) -> list[Message]:
        return [
            message
            for message in self.messages.values()
            if (channel_id is None or message.channel_id == channel_id) and not message.deleted
        ]

    def interaction_by_token(self, token: str) -> Interaction | None:
        for interaction in self.interactions.values():
            if interaction.token == token:
                return interaction
        return None

    def summary(self, last: int = 12) -> str:
        """The last requests and rejections, for timeout messages."""
        lines = ["last requests:"] + [f"  {request}" for request in self.requests[-last:]]
        if self.rejections:
            lines += ["rejections:"] + [f"  {rejection}" for rejection in self.rejections[-last:]]
        if self.unimplemented:
            lines += ["UNIMPLEMENTED:"] + [f"  {request}" for request in self.unimplemented]
        return "\n".join(lines)
