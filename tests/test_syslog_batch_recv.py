"""Reading UDP: recvmmsg through ctypes reads exactly what recvfrom reads (bytes, sizes, source
addresses), and a busy socket is read as often as its kernel buffer's fill asks."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from syslog_receiver.batch_recv import VLEN, BatchReceiver, SingleReceiver
from syslog_receiver.server import POLL_MAX, POLL_MIN, POLL_START, next_poll_wait
from syslog_receiver.sockets import receive_queue_fill

Reader = BatchReceiver | SingleReceiver


def _receiver(family: socket.AddressFamily, host: str) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind((host, 0))
    sock.setblocking(False)
    return sock


def _read_all(reader: Reader, expected: int) -> Iterator[tuple[bytes, tuple[str, int]]]:
    got = 0
    deadline = time.monotonic() + 5
    while got < expected and time.monotonic() < deadline:
        count = reader.receive()
        data, sources = reader.datagrams(count)
        assert len(data) == len(sources) == count
        yield from zip(data, sources, strict=True)
        got += count
        if not count:
            time.sleep(0.01)


def _traffic(target: tuple[str, int], senders: list[socket.socket]) -> list[tuple[bytes, int]]:
    """Datagrams of every size class, from several source ports: (payload, sender index)."""
    sizes = [0, 1, 100, 1500, 9000, 65507, *range(200, 200 + 3 * VLEN)]
    sent = []
    for n, size in enumerate(sizes):
        payload = (f"<13>{n} ".encode() * (size // 5 + 1))[:size]
        which = n % len(senders)
        senders[which].sendto(payload, target)
        sent.append((payload, which))
    return sent


@pytest.mark.parametrize("kind", ["batch", "single"])
def test_ipv4_datagrams_and_sources(kind: str) -> None:
    sock = _receiver(socket.AF_INET, "127.0.0.1")
    senders = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
    try:
        reader = BatchReceiver.open(sock) if kind == "batch" else SingleReceiver(sock)
        assert reader is not None
        assert reader.receive() == 0  # nothing waiting: no error, no wait
        sent = _traffic(sock.getsockname(), senders)
        got = list(_read_all(reader, len(sent)))
        ports = [s.getsockname()[1] for s in senders]
        assert got == [(payload, ("127.0.0.1", ports[which])) for payload, which in sent]
        assert reader.receive() == 0
    finally:
        sock.close()
        for sender in senders:
            sender.close()


def test_dual_stack_sources_read_as_recvfrom_gives_them() -> None:
    """IPv4-mapped and IPv6 sources: the batch reader decodes them as the socket module does."""
    socks = [_receiver(socket.AF_INET6, "::") for _ in range(2)]
    senders = [
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM),
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM),
    ]
    try:
        batch = BatchReceiver.open(socks[0])
        assert batch is not None
        single = SingleReceiver(socks[1])
        results = []
        for sock, reader in ((socks[0], batch), (socks[1], single)):
            port = sock.getsockname()[1]
            for i in range(2 * VLEN + 3):
                host = "127.0.0.1" if i % 2 == 0 else "::1"
                senders[i % 2].sendto(f"<13>dual {i}".encode(), (host, port))
            results.append(list(_read_all(reader, 2 * VLEN + 3)))
        assert results[0] == results[1]
        assert len(results[0]) == 2 * VLEN + 3
        assert {source[0] for _, source in results[0]} == {"::ffff:127.0.0.1", "::1"}
    finally:
        for sock in (*socks, *senders):
            sock.close()


# -- how often a busy socket is read ---------------------------------------------------------


@pytest.mark.parametrize(
    ("wait", "fill", "expected"),
    [
        (0.004, 0.25, 0.004),  # on target: keep the wait
        (0.004, 0.5, 0.002),  # twice the target: half the wait
        (0.001, 0.9, POLL_MIN),  # a small buffer nearly full: as short as allowed
        (0.001, 0.01, 0.004),  # nearly empty: grow, but at most fourfold a step
        (0.008, 0.01, POLL_MAX),
        (0.004, 0.0, POLL_MAX),
        (0.004, None, POLL_START),  # no SO_MEMINFO: a fixed short wait
    ],
)
def test_poll_wait_follows_the_buffer_fill(
    wait: float, fill: float | None, expected: float
) -> None:
    assert next_poll_wait(wait, fill) == pytest.approx(expected)


def test_receive_queue_fill_reads_the_kernel_buffer() -> None:
    sock = _receiver(socket.AF_INET, "127.0.0.1")
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        assert receive_queue_fill(sock) == 0.0
        for _ in range(100):
            sender.sendto(b"x" * 1000, sock.getsockname())
        fill = receive_queue_fill(sock)
        assert fill is not None and 0.0 < fill < 1.0
        while True:  # 100 datagrams of 1000 bytes fill about 100 KiB of kernel memory
            try:
                sock.recv(2000)
            except BlockingIOError:
                break
        assert receive_queue_fill(sock) == 0.0
    finally:
        sock.close()
        sender.close()
