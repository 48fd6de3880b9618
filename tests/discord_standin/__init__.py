"""A local stand-in for Discord's REST API and Gateway, speaking the protocol the way discord.py 2.7 uses it.

See README.md. Entry points: `Driver` (the test API) and `StandIn` (the server).
"""

from __future__ import annotations

from .clock import Clock
from .driver import BotExited, Driver, InteractionHandle
from .options import FileOption, UsageError
from .server import StandIn
from .store import Ack, Attachment, Message, Rejection, StandInTimeout
from .world import World, default_world

__all__ = [
    "Ack",
    "Attachment",
    "BotExited",
    "Clock",
    "Driver",
    "FileOption",
    "InteractionHandle",
    "Message",
    "Rejection",
    "StandIn",
    "StandInTimeout",
    "UsageError",
    "World",
    "default_world",
]
