"""UDP sockets that report when the kernel received each datagram, and when a reply left.

An NTP timestamp read in Python after the event loop wakes up is late by the wake-up and
dispatch time (10-25 us measured with uvloop), and the lateness lands half in the offset every
client computes. The kernel stamps each datagram as it arrives (SO_TIMESTAMPNS); reading that
stamp with ``recvmsg`` is what chronyd and ntpd do. Where the stamp is missing, the read time
stands in.

The other end: a transmit timestamp read before packing and sending is early by the time the
send takes (about 2.5 us from Python, measured). The kernel can stamp a datagram as it leaves
(SO_TIMESTAMPING, software transmit stamps, reported on the error queue); sampling that for an
occasional datagram tells the server how early its transmit timestamps are, so it can correct
them.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from typing import Any

# Linux values; Python's socket module does not export them.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SO_TIMESTAMPING = getattr(socket, "SO_TIMESTAMPING", 37)
TS_TX_SOFTWARE, TS_SOFTWARE = 1 << 1, 1 << 4
_TIMESPEC = struct.Struct("@qq")
SO_RXQ_OVFL = getattr(socket, "SO_RXQ_OVFL", 40)
_DROPS = struct.Struct("@I")
ANC_SIZE = socket.CMSG_SPACE(_TIMESPEC.size) + socket.CMSG_SPACE(_DROPS.size)
_ERR_ANC_SIZE = 512
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


def recv_stamped(sock: socket.socket) -> tuple[bytes, Address, float, int]:
    """One datagram, its sender, the Unix time it arrived, and the socket's drop count.

    The drop count is the kernel's tally of datagrams this socket lost to a full receive
    buffer (SO_RXQ_OVFL; 0 until the first loss). BlockingIOError when nothing is waiting.
    """
    data, ancdata, _flags, addr = sock.recvmsg(MAX_DATAGRAM, ANC_SIZE)
    arrived = 0.0
    drops = 0
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET:
            if kind == SO_TIMESTAMPNS and len(payload) >= _TIMESPEC.size:
                seconds, nanoseconds = _TIMESPEC.unpack_from(payload)
                arrived = seconds + nanoseconds * 1e-9
            elif kind == SO_RXQ_OVFL and len(payload) >= _DROPS.size:
                drops = _DROPS.unpack_from(payload)[0]
    return data, addr, arrived or time.time(), drops


def count_drops(sock: socket.socket) -> None:
    """Have :func:`recv_stamped` report the kernel's receive-buffer drops for ``sock``."""
    sock.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)


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


def enable_tx_stamps(sock: socket.socket) -> bool:
    """Let :func:`stamp_sends` ask for transmit stamps; False where the kernel cannot."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING, TS_SOFTWARE)
    except OSError:
        return False
    return True


def stamp_sends(sock: socket.socket, on: bool) -> None:
    """Have the kernel stamp the departure of the datagrams sent while ``on``.

    A socket option around an ordinary ``sendto`` (rather than ``sendmsg`` with a control
    message) keeps the measured send path identical to a reply's: sendmsg was measured at
    ~5 us slower from Python, which would be mistaken for send latency. Never on a socket
    watched with ``add_reader``: the error queue raises POLLERR, and libuv then stops reading.
    """
    flags = TS_SOFTWARE | TS_TX_SOFTWARE if on else TS_SOFTWARE
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING, flags)


def read_tx_stamps(sock: socket.socket) -> list[tuple[bytes, float]]:
    """Drain the error queue: (last 8 bytes of a stamped datagram, the time it left).

    The kernel returns the datagram as sent (headers first), so its tail identifies it; this
    needs no send counter that a failed send could put out of step.
    """
    stamps: list[tuple[bytes, float]] = []
    while True:
        try:
            data, ancdata, _flags, _addr = sock.recvmsg(256, _ERR_ANC_SIZE, socket.MSG_ERRQUEUE)
        except (BlockingIOError, InterruptedError):
            return stamps
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPING and len(payload) >= 16:
                seconds, nanoseconds = _TIMESPEC.unpack_from(payload)
                if seconds and len(data) >= 8:
                    stamps.append((data[-8:], seconds + nanoseconds * 1e-9))
