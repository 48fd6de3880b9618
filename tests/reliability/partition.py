"""A TCP proxy in front of PostgreSQL that can fall silent: a network partition as a client sees it.

While `silent`, the proxy forwards nothing in either direction and accepts new connections without ever
answering: no refusal, no reset, no close, exactly what a dropped route or a firewall discarding packets looks
like. `heal()` lets bytes flow again on the connections still open (nothing was lost, only held back) and on new
ones. The clients' own timeouts are what is being tested.
"""

from __future__ import annotations

import asyncio
import contextlib


class PartitionProxy:
    """Forwards 127.0.0.1:<port> to `target_host:target_port`; `silence()` / `heal()` cut and restore it."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._open = asyncio.Event()
        self._open.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> PartitionProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def silence(self) -> None:
        self._open.clear()

    def heal(self) -> None:
        self._open.set()

    @property
    def silent(self) -> bool:
        return not self._open.is_set()

    async def stop(self) -> None:
        self.heal()
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        await self._open.wait()  # a new connection during the partition hangs here, unanswered
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.append(up_writer)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while data := await source.read(65536):
                await self._open.wait()  # held back while silent
                sink.write(data)
                await sink.drain()
        with contextlib.suppress(Exception):
            sink.close()
