"""A small fake of discord.Interaction for adapter tests: it records what the bot sends.

Only what the cogs and error handlers touch is modelled (Red's namedtuple fakes, extended); the protocol
itself is tested end to end against the Discord stand-in in tests/e2e.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import discord


@dataclass
class FakeResponse:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    done: bool = False

    def is_done(self) -> bool:
        return self.done

    async def defer(self, **kwargs: Any) -> None:
        assert not self.done, "interaction acknowledged twice"
        self.done = True
        self.calls.append(("defer", kwargs))

    async def send_message(self, content: Any = None, **kwargs: Any) -> None:
        assert not self.done, "interaction acknowledged twice"
        self.done = True
        self.calls.append(("send_message", {"content": content, **kwargs}))

    async def autocomplete(self, choices: list[Any]) -> None:
        self.done = True
        self.calls.append(("autocomplete", {"choices": choices}))


@dataclass
class FakeFollowup:
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, content: Any = None, **kwargs: Any) -> None:
        self.sent.append({"content": content, **kwargs})


@dataclass
class FakeInteraction:
    client: Any = None
    guild_id: int | None = 111
    channel_id: int | None = 222
    user: Any = field(default_factory=lambda: SimpleNamespace(id=333, _roles=[]))
    guild: Any = None
    id: int = 444
    type: discord.InteractionType = discord.InteractionType.application_command
    command: Any = None
    namespace: Any = field(default_factory=SimpleNamespace)
    filesize_limit: int = 10 * 1024 * 1024  # from the payload's attachment_size_limit
    response: FakeResponse = field(default_factory=FakeResponse)
    followup: FakeFollowup = field(default_factory=FakeFollowup)
    deleted_original: int = 0

    async def delete_original_response(self) -> None:
        self.deleted_original += 1

    def private_texts(self) -> list[str]:
        """Every ephemeral text the user was sent, by either route."""
        out = [
            c["content"] for name, c in self.response.calls if name == "send_message" and c.get("ephemeral")
        ]
        return out + [m["content"] for m in self.followup.sent if m.get("ephemeral") and m.get("content")]
