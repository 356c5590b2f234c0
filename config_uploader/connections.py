"""Connection limits for the HTTP listener, below aiohttp: caps and the request-head deadline.

aiohttp accepts every connection and waits for a request head as long as bytes keep coming,
so one address could hold every file descriptor, and a client sending a byte a second holds a
connection for ever. :class:`GuardedProtocol` wraps aiohttp's protocol for each connection:

* past ``--max-connections`` in total or ``--max-connections-per-address`` from one address,
  a new connection is closed at once (counted ``rejected_connections`` /
  ``rejected_connections_per_address``);
* a connection must complete each request head within ``--header-timeout`` of being opened or
  of its previous request's end; otherwise it is answered 408 and closed (counted
  ``rejected_header_timeout`` when a head had begun, else closed quietly as idle).

:class:`bridge.guard.ConnectionTable` counts who holds how many; the request handler tells the
guard when a head is complete and when a request is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bridge.guard import ConnectionTable
from bridge.metrics import Counters

TIMEOUT_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class GuardedProtocol(asyncio.Protocol):
    """aiohttp's protocol for one connection, behind the caps and the head deadline."""

    def __init__(self, inner: asyncio.Protocol, guard: ConnectionGuard) -> None:
        self.inner = inner
        self.guard = guard
        self.address = ""
        self.admitted = False
        self.transport: Any = None
        self._timer: asyncio.TimerHandle | None = None
        self._began_head = False  # bytes arrived since the deadline was set

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # uvloop's transports are no asyncio.Transport subclass
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if peer else ""
        refused = self.guard.table.admit(self.address)
        if refused is not None:
            cap = "rejected_connections" + ("_per_address" if refused == "per_address" else "")
            self.guard.counters.incr(cap)
            self.transport.abort()
            return
        self.admitted = True
        self.guard.by_transport[transport] = self
        self.inner.connection_made(transport)
        self.await_head()

    def await_head(self) -> None:
        """(Re)start the deadline for the next request head."""
        self.cancel_timer()
        self._began_head = False
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.guard.header_timeout, self._expired)

    def cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if self.transport is None or self.transport.is_closing():
            return
        if self.transport.get_write_buffer_size():  # a response is still going out
            self.await_head()
            return
        if self._began_head:
            self.guard.counters.incr("rejected_header_timeout")
            self.transport.write(TIMEOUT_RESPONSE)
            self.transport.close()
        else:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        if self._timer is not None:
            self._began_head = True
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.cancel_timer()
        if not self.admitted:
            return
        self.admitted = False
        self.guard.table.release(self.address)
        if self.transport is not None:
            self.guard.by_transport.pop(self.transport, None)
        self.inner.connection_lost(exc)


class ConnectionGuard:
    """The caps and deadlines of one listener, and the hooks its request handler calls."""

    def __init__(
        self, counters: Counters, max_total: int, max_per_address: int, header_timeout: float
    ) -> None:
        self.counters = counters
        self.table = ConnectionTable(max_total, max_per_address)
        self.header_timeout = header_timeout
        self.by_transport: dict[Any, GuardedProtocol] = {}

    def head_received(self, transport: Any) -> None:
        """A request head is complete: its connection's deadline is off until it is done."""
        connection = self.by_transport.get(transport)
        if connection is not None:
            connection.cancel_timer()

    def request_done(self, transport: Any) -> None:
        connection = self.by_transport.get(transport)
        if connection is not None:
            connection.await_head()

    def factory(self, make: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        return lambda: GuardedProtocol(make(), self)


class GuardedSite(web.BaseSite):
    """``web.TCPSite`` whose connections pass through a :class:`ConnectionGuard`."""

    __slots__ = ("_guard", "_host", "_port")

    def __init__(self, runner: web.BaseRunner, host: str, port: int, guard: ConnectionGuard):
        super().__init__(runner, backlog=1024)
        self._host = host
        self._port = port
        self._guard = guard

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            self._guard.factory(server), self._host, self._port, reuse_address=True, backlog=1024
        )
