"""The Gateway: HELLO, heartbeats, IDENTIFY → READY + GUILD_CREATE, RESUME with replay, and fault injection.

Transport compression follows the `compress` query discord.py sends (reference §1.4): `zlib-stream` is one
zlib stream per connection, each message flushed with Z_SYNC_FLUSH; `zstd-stream` is one zstd stream per
connection, each message flushed as a block, one message per frame. Without `compress`, frames are text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import zstandard
from aiohttp import WSMsgType, web

from . import payloads

if TYPE_CHECKING:
    from .server import StandIn

DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT, REQUEST_MEMBERS, INVALID_SESSION, HELLO, ACK = (
    0,
    1,
    2,
    6,
    7,
    8,
    9,
    10,
    11,
)
CLIENT_OPS = {1, 2, 3, 4, 6, 8}
BACKLOG_MAX = 2000
COMPRESSIONS = (None, "zlib-stream", "zstd-stream")


@dataclass
class GatewayEvent:
    """One thing that happened on the gateway, for tests to wait on: identify, ready, resume, resumed, ..."""

    kind: str
    session_id: str | None
    detail: Any = None


class Connection:
    """One websocket; all frames go through a queue so they leave in sequence order."""

    def __init__(
        self, ws: web.WebSocketResponse, request: web.Request, compress: str | None, path: str
    ) -> None:
        self.ws, self.request, self.compress, self.path = ws, request, compress, path
        self.queue: asyncio.Queue[dict[str, Any] | bytes | None] = asyncio.Queue()
        self.session: Session | None = None
        self.heartbeats = 0
        self.server_close_code: int | None = None  # set when the stand-in, not the client, closed it
        if compress == "zlib-stream":
            self._zlib = zlib.compressobj()
        elif compress == "zstd-stream":
            self._zstd = zstandard.ZstdCompressor().compressobj()
        self.writer = asyncio.create_task(self._write())

    def encode(self, frame: dict[str, Any] | bytes) -> bytes:
        data = frame if isinstance(frame, bytes) else json.dumps(frame, separators=(",", ":")).encode()
        if self.compress == "zlib-stream":
            return self._zlib.compress(data) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
        return self._zstd.compress(data) + self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)

    async def _write(self) -> None:
        while (frame := await self.queue.get()) is not None:
            try:
                if self.ws.closed:
                    return
                if self.compress is None and isinstance(frame, bytes):  # raw: as a text frame, bytes as given
                    await self.ws.send_frame(frame, WSMsgType.TEXT)
                elif self.compress is None:
                    await self.ws.send_str(json.dumps(frame))
                else:
                    await self.ws.send_bytes(self.encode(frame))
            except (ConnectionError, RuntimeError):
                return
            finally:
                self.queue.task_done()

    def send(self, frame: dict[str, Any] | bytes) -> None:
        """Queue a frame; `bytes` go out exactly as given (a malformed frame, for fault tests)."""
        self.queue.put_nowait(frame)

    async def close(self, code: int, reason: str = "") -> None:
        self.server_close_code = code
        await self.flush()
        await self.ws.close(code=code, message=reason.encode())

    async def flush(self) -> None:
        """Wait (at most 5 s) until every queued frame has been written."""
        if not self.writer.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.queue.join(), 5)

    def drop(self) -> None:
        """Cut the TCP connection without a close frame, like a network failure."""
        if self.request.transport is not None:
            self.request.transport.abort()


@dataclass
class Session:
    id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    backlog: list[dict[str, Any]] = field(default_factory=list)
    connection: Connection | None = None
    valid: bool = True

    def owns(self, guild_id: int) -> bool:
        return self.shard is None or (guild_id >> 22) % self.shard[1] == self.shard[0]

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self.seq += 1
        frame = {"op": DISPATCH, "t": event, "s": self.seq, "d": data}
        self.backlog = self.backlog[-BACKLOG_MAX:] + [frame]
        if self.connection is not None:
            self.connection.send(frame)


class Gateway:
    def __init__(self, standin: StandIn) -> None:
        self.standin = standin
        self.world = standin.world
        self.sessions: dict[str, Session] = {}
        self.connections: list[Connection] = []
        self.events: list[GatewayEvent] = []
        self.heartbeat_interval_ms = 41250
        self.allowed_privileged_intents = 0

    def _log(self, kind: str, session: Session | None, detail: Any = None) -> None:
        self.events.append(GatewayEvent(kind, session.id if session else None, detail))
        self.standin.store.changed()

    # -- dispatching to sessions ------------------------------------------------------------------------------

    def live_sessions(self) -> list[Session]:
        return [session for session in self.sessions.values() if session.valid]

    def dispatch_guild(self, guild_id: int, event: str, data: dict[str, Any], intent: int = 0) -> int:
        """Send an event to every valid session that owns the guild (buffered while it is disconnected)."""
        count = 0
        for session in self.live_sessions():
            if session.owns(guild_id) and (not intent or session.intents & intent):
                session.dispatch(event, data)
                count += 1
        return count

    # -- the websocket handler --------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        if not ws.can_prepare(request).ok:
            return web.Response(status=400, text="stand-in: the gateway expects a websocket upgrade")
        await ws.prepare(request)
        compress = request.query.get("compress")
        conn = Connection(ws, request, compress if compress in COMPRESSIONS else None, request.path)
        self.connections.append(conn)
        self._log("connect", None, {"path": request.path, "compress": compress})
        try:
            if await self._check_query(conn, request):
                conn.send(
                    {
                        "op": HELLO,
                        "d": {"heartbeat_interval": self.heartbeat_interval_ms},
                        "s": None,
                        "t": None,
                    }
                )
                await self._read(conn)
        finally:
            await self._closed(conn)
        return ws

    async def _check_query(self, conn: Connection, request: web.Request) -> bool:
        problems = [
            (request.query.get("v") != "10", 4012, "Invalid API version"),
            (request.query.get("encoding", "json") != "json", 4002, "Only encoding=json is implemented"),
            (request.query.get("compress") not in COMPRESSIONS, 4000, "Unknown compress type"),
        ]
        for bad, code, reason in problems:
            if bad:
                self._log("rejected", None, {"code": code, "reason": reason})
                await conn.close(code, reason)
                return False
        return True

    async def _read(self, conn: Connection) -> None:
        async for msg in conn.ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                break
            try:
                frame = json.loads(msg.data)
                op = frame["op"]
            except (ValueError, KeyError, TypeError):
                await conn.close(4002, "Decode error")
                return
            if not await self._on_frame(conn, op, frame.get("d")):
                return

    async def _on_frame(self, conn: Connection, op: int, data: Any) -> bool:
        if op == HEARTBEAT:
            conn.heartbeats += 1
            conn.send({"op": ACK, "d": None, "s": None, "t": None})
            return True
        if op not in CLIENT_OPS:
            await conn.close(4001, "Unknown opcode")
            return False
        if op in (IDENTIFY, RESUME) and conn.session is not None:
            await conn.close(4005, "Already authenticated")
            return False
        if op == IDENTIFY:
            return await self._identify(conn, data or {})
        if op == RESUME:
            return await self._resume(conn, data or {})
        if conn.session is None:
            await conn.close(4003, "Not authenticated")
            return False
        if op == REQUEST_MEMBERS:
            self._request_members(conn.session, data or {})
        self._log(f"op{op}", conn.session, data)
        return True

    async def _identify(self, conn: Connection, data: dict[str, Any]) -> bool:
        intents, shard = data.get("intents"), data.get("shard")
        failure = None
        if data.get("token") != self.world.token:
            failure = (4004, "Authentication failed")
        elif not isinstance(intents, int) or intents < 0:
            failure = (4013, "Invalid intent(s)")
        elif intents & ~self.allowed_privileged_intents & sum(payloads.PRIVILEGED_INTENTS):
            failure = (4014, "Disallowed intent(s)")
        elif shard is not None and not (len(shard) == 2 and 0 <= shard[0] < shard[1]):
            failure = (4010, "Invalid shard")
        if failure:
            self._log("rejected", None, {"code": failure[0], "reason": failure[1]})
            await conn.close(*failure)
            return False
        session = Session(secrets.token_hex(16), intents, shard)
        self.sessions[session.id] = session
        self._attach(conn, session)
        self._log("identify", session, {"intents": intents, "shard": shard, "path": conn.path})
        guilds = [guild for guild in self.world.guilds.values() if session.owns(guild.id)]
        session.dispatch(
            "READY",
            payloads.ready(
                self.world,
                session_id=session.id,
                resume_url=self.standin.resume_gateway_url,
                guilds=guilds,
                shard=shard,
            ),
        )
        for guild in guilds:
            session.dispatch("GUILD_CREATE", payloads.guild_create(self.world, guild, intents))
        self._log("ready", session, {"guilds": [g.id for g in guilds]})
        return True

    async def _resume(self, conn: Connection, data: dict[str, Any]) -> bool:
        session = self.sessions.get(str(data.get("session_id")))
        if data.get("token") != self.world.token:
            self._log("rejected", None, {"code": 4004, "reason": "Authentication failed"})
            await conn.close(4004, "Authentication failed")
            return False
        if session is None or not session.valid or not isinstance(data.get("seq"), int):
            self._log("invalid_session", session, {"resumable": False, "reason": "unknown session"})
            conn.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return True
        old = session.connection
        self._attach(conn, session)
        if old is not None:
            await old.close(4000, "Session resumed elsewhere")
        missed = [frame for frame in session.backlog if frame["s"] > data["seq"]]
        for frame in missed:
            conn.send(frame)
        self._log("resume", session, {"seq": data["seq"], "replayed": len(missed), "path": conn.path})
        session.dispatch("RESUMED", {})
        self._log("resumed", session)
        return True

    def _attach(self, conn: Connection, session: Session) -> None:
        conn.session = session
        session.connection = conn

    def _request_members(self, session: Session, data: dict[str, Any]) -> None:
        ids = data.get("guild_id")
        for guild_id in ids if isinstance(ids, list) else [ids]:
            guild = self.world.guilds.get(int(guild_id))
            if guild is not None:
                session.dispatch("GUILD_MEMBERS_CHUNK", payloads.members_chunk(guild, data))

    async def _closed(self, conn: Connection) -> None:
        conn.queue.put_nowait(None)
        with contextlib.suppress(Exception):
            await conn.writer
        session = conn.session
        if session is not None and session.connection is conn:
            session.connection = None
            # A client that closes with 1000/1001 ends its session (Docs topics/gateway, "Disconnecting").
            # When the server closed (4000 ...), ws.close_code holds the client's echo (often 1000): the
            # session stays resumable, as on Discord.
            if conn.server_close_code is None and conn.ws.close_code in (1000, 1001):
                session.valid = False
        code = conn.server_close_code if conn.server_close_code is not None else conn.ws.close_code
        self._log("disconnect", session, {"close_code": code})

    # -- fault injection --------------------------------------------------------------------------------------

    def connected(self) -> list[Connection]:
        """Open connections that have identified or resumed."""
        return [
            c
            for c in self.connections
            if c.session is not None and c.session.connection is c and not c.ws.closed
        ]

    def expire_sessions(self) -> int:
        """Forget every session, as Discord does after a while: the next RESUME gets INVALID_SESSION (false)."""
        live = self.live_sessions()
        for session in live:
            session.valid = False
        return len(live)

    def send_reconnect(self) -> int:
        for conn in self.connected():
            conn.send({"op": RECONNECT, "d": None, "s": None, "t": None})
            self._log("reconnect_sent", conn.session)
        return len(self.connected())

    def send_raw(self, data: bytes) -> int:
        """Send `data` as one frame, unchecked and outside the sequence (not JSON, cut short, bad UTF-8 ...)."""
        targets = self.connected()
        for conn in targets:
            conn.send(data)
            self._log("raw_sent", conn.session, {"bytes": len(data)})
        return len(targets)

    def send_invalid_session(self, resumable: bool) -> int:
        targets = self.connected()
        for conn in targets:
            if not resumable and conn.session is not None:
                conn.session.valid = False
            conn.send({"op": INVALID_SESSION, "d": resumable, "s": None, "t": None})
            self._log("invalid_session", conn.session, {"resumable": resumable, "reason": "injected"})
        return len(targets)

    async def drop(self) -> int:
        targets = self.connected()
        for conn in targets:
            await conn.flush()
            conn.drop()
            self._log("dropped", conn.session)
        return len(targets)

    async def close(self, code: int) -> int:
        targets = self.connected()
        for conn in targets:
            await conn.close(code, "closed by the stand-in")
            self._log("closed_by_server", conn.session, {"code": code})
        return len(targets)

    async def shutdown(self) -> None:
        for conn in list(self.connections):
            if not conn.ws.closed:
                with contextlib.suppress(Exception):
                    await conn.ws.close(code=1001, message=b"stand-in stopping")
