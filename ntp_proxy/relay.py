"""Relay mode: forward each screened client request to the upstream and hand back its reply.

The client's transmit timestamp is swapped for a random nonce before forwarding, and the
upstream's reply is matched on its origin field: two clients that send the same transmit
timestamp (SNTP clients often send zero) can never receive each other's answer, and a forged
reply must guess 64 random bits. The origin is restored before the reply goes to the client, and
only the 48-byte header travels in either direction. Requests in flight are bounded and expire.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from bridge.metrics import Counters
from bridge.settings import HostPort
from bridge.tasks import cancel
from ntp_proxy.packet import HEADER_LEN, MODE_SERVER
from ntp_proxy.stamped import Address

COUNTERS = ("relayed", "relay_timeouts", "relay_invalid", "dropped_inflight")


@dataclass(slots=True)
class Pending:
    client: Address
    client_transmit: bytes
    deadline: float
    upstream: int


class RelayTable:
    """Requests awaiting the upstream, keyed by nonce, oldest first (sans-IO)."""

    def __init__(self, counters: Counters, timeout: float, max_inflight: int) -> None:
        self.counters = counters
        self.timeout = timeout
        self.max_inflight = max_inflight
        self._pending: dict[int, Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def forward(
        self, request: bytes, client: Address, upstream: int, now: float, nonce: int
    ) -> bytes | None:
        """The header to send upstream, or None (counted) when too many are in flight."""
        self.expire(now)
        if len(self._pending) >= self.max_inflight:
            self.counters.incr("dropped_inflight")
            return None
        self._pending[nonce] = Pending(client, request[40:48], now + self.timeout, upstream)
        self.counters.incr("relayed")
        return request[:40] + nonce.to_bytes(8, "big")

    def answer(self, reply: bytes, upstream: int) -> tuple[bytes, Address] | None:
        """The reply to send and to whom, or None (counted) for anything unmatched."""
        if len(reply) < HEADER_LEN or reply[0] & 7 != MODE_SERVER:
            self.counters.incr("relay_invalid")
            return None
        nonce = int.from_bytes(reply[24:32], "big")
        entry = self._pending.get(nonce)
        if entry is None or entry.upstream != upstream:
            self.counters.incr("relay_invalid")
            return None
        del self._pending[nonce]
        self.counters.incr("replies")
        return reply[:24] + entry.client_transmit + reply[32:HEADER_LEN], entry.client

    def expire(self, now: float) -> None:
        """Forget requests past their deadline; insertion order is deadline order."""
        pending = self._pending
        while pending:
            nonce = next(iter(pending))
            if pending[nonce].deadline > now:
                return
            del pending[nonce]
            self.counters.incr("relay_timeouts")


class _UpstreamProtocol(asyncio.DatagramProtocol):
    def __init__(self, relay: Relay, index: int) -> None:
        self.relay = relay
        self.index = index

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.relay.reply(data, self.index)

    def error_received(self, exc: Exception) -> None:
        """ICMP errors (upstream port closed): the pending requests simply time out."""


class Relay:
    """The asyncio side: one connected socket per upstream and a timer that expires requests."""

    def __init__(
        self,
        upstreams: tuple[HostPort, ...],
        counters: Counters,
        *,
        timeout: float,
        max_inflight: int,
        select: Callable[[], int | None],
    ) -> None:
        self.upstreams = upstreams
        self.table = RelayTable(counters, timeout, max_inflight)
        self.select = select
        self._sockets: list[asyncio.DatagramTransport] = []
        self._send: Callable[[bytes, Address], None] | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self, send: Callable[[bytes, Address], None]) -> None:
        """Open the upstream sockets; ``send`` delivers a reply to a client."""
        loop = asyncio.get_running_loop()
        self._send = send
        for index, upstream in enumerate(self.upstreams):
            transport, _ = await loop.create_datagram_endpoint(
                functools.partial(_UpstreamProtocol, self, index),
                remote_addr=(upstream.host, upstream.port),
            )
            self._sockets.append(transport)
        self._sweeper = asyncio.create_task(self._sweep())

    def forward(self, request: bytes, client: Address) -> None:
        chosen = self.select()
        index = 0 if chosen is None else chosen
        upstream_request = self.table.forward(
            request, client, index, time.monotonic(), secrets.randbits(64)
        )
        if upstream_request is not None:
            self._sockets[index].sendto(upstream_request)

    def reply(self, data: bytes, index: int) -> None:
        answer = self.table.answer(data, index)
        if answer is not None and self._send is not None:
            self._send(*answer)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(min(self.table.timeout, 1.0))
            self.table.expire(time.monotonic())

    async def stop(self) -> None:
        await cancel(self._sweeper)
        for transport in self._sockets:
            transport.close()
