"""Listening sockets made by hand, so the receiver controls what asyncio would hide.

The UDP socket needs ``SO_RCVBUF`` (bursts from many routers land in the kernel buffer while a
batch is processed), ``SO_REUSEPORT`` (``--workers``: one socket per process on one port, the
kernel spreads sources across them) and its kernel drop count, which ``SO_MEMINFO`` reads for
this one socket. The sockets are made in the parent so a bind error stops the start, and each
worker inherits its own pair.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct

from bridge.logging import get_logger
from bridge.settings import HostPort, format_address
from syslog_receiver.settings import SyslogSettings

__all__ = [
    "bind_tcp",
    "bind_udp",
    "bound_address",
    "keep_alive",
    "kernel_drops",
    "open_listeners",
    "receive_queue_fill",
]

# TCP keepalive on accepted connections: a peer that vanished (rebooted router, a flow the
# NLB dropped) is found after KEEPIDLE + KEEPCNT * KEEPINTVL seconds of silence, about 2 min.
KEEPIDLE = 60
KEEPINTVL = 15
KEEPCNT = 4

_SO_MEMINFO = getattr(socket, "SO_MEMINFO", 55)
_SK_MEMINFO_RMEM_ALLOC = 0  # indexes in the u32 array SO_MEMINFO returns: bytes queued,
_SK_MEMINFO_RCVBUF = 1  # the receive buffer's size (as the kernel counts it),
_SK_MEMINFO_DROPS = 8  # and sk_drops
_MEMINFO = struct.Struct("9I")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _new(address: HostPort, kind: socket.SocketKind, reuse_port: bool) -> socket.socket:
    family = _family(address.host)
    sock = socket.socket(family, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6 and address.host in ("::", "::0"):
            # "[::]" means every address, IPv4 too, whatever net.ipv6.bindv6only says.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((address.host, address.port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def bind_udp(address: HostPort, recv_buffer: int, reuse_port: bool) -> tuple[socket.socket, int]:
    """A bound non-blocking UDP socket and the receive buffer the kernel granted (bytes)."""
    sock = _new(address, socket.SOCK_DGRAM, reuse_port)
    # On failure the kernel keeps its default; the caller sees the granted size and warns.
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, recv_buffer)
    # Linux reports twice the size asked for (it counts its bookkeeping): halve it back.
    granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
    return sock, granted


def bind_tcp(address: HostPort, reuse_port: bool, backlog: int = 512) -> socket.socket:
    sock = _new(address, socket.SOCK_STREAM, reuse_port)
    try:
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def bound_address(sock: socket.socket) -> HostPort:
    host, port = sock.getsockname()[:2]
    return HostPort(host, port)


def kernel_drops(sock: socket.socket) -> int:
    """Datagrams the kernel dropped for this socket (full receive buffer), since it was made.

    ``SO_MEMINFO`` (Linux 4.6+) reads the counter behind ``/proc/net/udp``'s drops column for
    this socket alone; older kernels fall back to that file, found by the socket's inode.
    """
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, _SO_MEMINFO, _MEMINFO.size)
        return int(_MEMINFO.unpack(raw)[_SK_MEMINFO_DROPS])
    except OSError:
        return proc_net_udp_drops(sock)


def receive_queue_fill(sock: socket.socket) -> float | None:
    """How full the receive buffer is (0.0 empty, 1.0 full), or None without SO_MEMINFO."""
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, _SO_MEMINFO, _MEMINFO.size)
    except OSError:
        return None
    info = _MEMINFO.unpack(raw)
    size = info[_SK_MEMINFO_RCVBUF]
    return info[_SK_MEMINFO_RMEM_ALLOC] / size if size else None


def proc_net_udp_drops(sock: socket.socket) -> int:
    """The drops column of ``/proc/net/udp`` or ``udp6`` for this socket (0 if not found)."""
    inode = str(os.fstat(sock.fileno()).st_ino)
    name = "/proc/net/udp6" if sock.family == socket.AF_INET6 else "/proc/net/udp"
    try:
        with open(name, encoding="ascii") as table:
            next(table, None)
            for row in table:
                cols = row.split()
                if len(cols) >= 13 and cols[9] == inode:
                    return int(cols[12])
    except OSError:
        return 0
    return 0


def describe(sock: socket.socket) -> str:
    return str(format_address(*bound_address(sock)))


def keep_alive(sock: socket.socket | None) -> None:
    """Turn on TCP keepalive with the probes above (where the platform has the options)."""
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in (
            ("TCP_KEEPIDLE", KEEPIDLE),
            ("TCP_KEEPINTVL", KEEPINTVL),
            ("TCP_KEEPCNT", KEEPCNT),
        ):
            option = getattr(socket, name, None)
            if option is not None:
                sock.setsockopt(socket.IPPROTO_TCP, option, value)


def open_listeners(
    settings: SyslogSettings, count: int
) -> list[tuple[socket.socket, socket.socket]]:
    """``count`` bound (UDP, TCP) pairs on the configured addresses.

    More than one pair share their ports through ``SO_REUSEPORT``: the first binds (resolving
    port 0 in tests), the others bind to the port it got. A short receive buffer is warned
    about once, naming the sysctl that caps it.
    """
    reuse = count > 1
    pairs: list[tuple[socket.socket, socket.socket]] = []
    udp_address, tcp_address = settings.udp, settings.tcp
    granted_least = settings.recv_buffer
    try:
        for _ in range(count):
            udp, granted = bind_udp(udp_address, settings.recv_buffer, reuse)
            granted_least = min(granted_least, granted)
            try:
                tcp = bind_tcp(tcp_address, reuse)
            except BaseException:
                udp.close()
                raise
            pairs.append((udp, tcp))
            udp_address, tcp_address = bound_address(udp), bound_address(tcp)
    except BaseException:
        for udp, tcp in pairs:
            udp.close()
            tcp.close()
        raise
    if granted_least < settings.recv_buffer:
        get_logger().warning(
            "syslog.recv_buffer_small",
            requested=settings.recv_buffer,
            granted=granted_least,
            hint=(
                f"the kernel caps SO_RCVBUF at net.core.rmem_max: raise it to at least "
                f"{settings.recv_buffer} (sysctl -w net.core.rmem_max={settings.recv_buffer})"
                " or bursts are dropped sooner"
            ),
        )
    return pairs
