"""UDP sockets that report when the kernel received each datagram (SO_TIMESTAMPNS).

An NTP timestamp read in Python after the event loop wakes up is late by the wake-up and
dispatch time (10-25 us measured with uvloop), and the lateness lands half in the offset every
client computes. The kernel stamps each datagram as it arrives; reading that stamp with
``recvmsg`` is what chronyd and ntpd do, and it is what makes the proxy's time as good as its
upstream's on the wire. Where the stamp is missing, the read time stands in.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from typing import Any

# Linux values; Python's socket module does not export them.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("@qq")
ANC_SIZE = socket.CMSG_SPACE(_TIMESPEC.size)
MAX_DATAGRAM = 2048  # NTP with extension fields; longer ones are truncated and still screened

Address = tuple[Any, ...]


def stamped_socket(family: int) -> socket.socket:
    """A non-blocking UDP socket whose datagrams carry kernel receive timestamps."""
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def recv_stamped(sock: socket.socket) -> tuple[bytes, Address, float]:
    """One datagram, its sender and the Unix time it arrived; BlockingIOError when none."""
    data, ancdata, _flags, addr = sock.recvmsg(MAX_DATAGRAM, ANC_SIZE)
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= 16:
            seconds, nanoseconds = _TIMESPEC.unpack_from(payload)
            return data, addr, seconds + nanoseconds * 1e-9
    return data, addr, time.time()


async def readable(sock: socket.socket) -> None:
    """Wait until ``sock`` has a datagram (or an error) to read."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(sock.fileno(), wake)
    try:
        await ready
    finally:
        loop.remove_reader(sock.fileno())
