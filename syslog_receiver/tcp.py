"""One TCP syslog peer: its bytes framed into messages for the receiver, its end noticed.

Admission (allowlist, caps in total and per address) and the idle timeout are the receiver's;
here: TCP keepalive on the socket (so a peer that vanished is found), framing
(:class:`~syslog_receiver.framing.Deframer`), and what a closed connection still held.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

from bridge.guard import unmapped
from syslog_receiver.framing import Deframer
from syslog_receiver.sockets import keep_alive

if TYPE_CHECKING:
    from syslog_receiver.server import Receiver


class TcpConnection(asyncio.Protocol):
    """One TCP peer: frames its bytes and hands whole messages to the receiver."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.transport: asyncio.Transport | None = None
        self.deframer = Deframer(receiver.settings.max_message_size)
        self.ip = ""
        self.port = 0
        self.last_data = 0.0
        self.admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        peer = transport.get_extra_info("peername") or ("", 0)
        ip = str(peer[0])
        self.ip = unmapped(ip)
        self.port = int(peer[1])
        self.last_data = asyncio.get_running_loop().time()
        self.admitted = self.receiver.admit(self, self.ip)
        if not self.admitted:
            self.transport.abort()
            return
        keep_alive(transport.get_extra_info("socket"))

    def data_received(self, data: bytes) -> None:
        if not self.admitted:
            return
        self.last_data = asyncio.get_running_loop().time()
        frames = self.deframer.feed(data)
        if frames:
            self.receiver.accept_frames(frames, self.ip, self.port)
        if self.deframer.error is not None:
            self.receiver.frame_error(self.ip, self.port, self.deframer.error, closing=True)
            self.admitted = False
            assert self.transport is not None
            self.transport.close()

    def eof_received(self) -> bool | None:
        return None  # close our side too; connection_lost emits any last frame

    def connection_lost(self, exc: Exception | None) -> None:
        dead = isinstance(exc, TimeoutError)  # ETIMEDOUT: keepalive probes went unanswered
        if not self.admitted:
            self.receiver.release(self, dead)
            return
        self.admitted = False
        frames = self.deframer.close()
        if frames:
            self.receiver.accept_frames(frames, self.ip, self.port)
        if self.deframer.error is not None:
            self.receiver.frame_error(self.ip, self.port, self.deframer.error, closing=False)
        self.receiver.release(self, dead)

    def transport_close(self) -> None:
        if self.transport is not None:
            self.transport.close()
