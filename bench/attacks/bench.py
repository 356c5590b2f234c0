"""What every hostile case shares: its options, the daemon it started (measured after the case),
and the clients that hold or send what an attacker would."""

from __future__ import annotations

import argparse
import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from bench.attacks.processes import Daemon


class Bench:
    """One case's run: the options of ``bench/hostile.py`` and the daemon under attack."""

    def __init__(self, args: argparse.Namespace, root: Path, workdir: Path) -> None:
        self.args = args
        self.root = root
        self.workdir = workdir
        self.daemon: Daemon | None = None

    def config(self, *extra: str, env: dict[str, str] | None = None) -> tuple[str, Daemon]:
        store = self.workdir / f"store-{time.monotonic_ns()}"
        daemon = Daemon(
            self.root,
            ["config", "--listen", "127.0.0.1:0", "--store", str(store), *extra],
            env,
        )
        self.daemon = daemon
        host, port = daemon.address("listen")
        daemon.watch(self.args.kill_above * 1024)
        return f"http://{host}:{port}", daemon


Case = Callable[[Bench], Awaitable[str]]


async def put(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str] | None = None
) -> int:
    try:
        async with session.put(url, data=body, headers=headers) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


class HeldConnections:
    """Idle TCP connections from 127.0.0.2: how many got in, how many the server kept."""

    def __init__(self) -> None:
        self.socks: list[socket.socket] = []
        self.connected = 0
        self.began = time.monotonic()

    def age(self) -> float:
        return time.monotonic() - self.began

    async def still_open(self) -> int:
        """Connections the server has not closed (a read would not return EOF or reset)."""
        await asyncio.sleep(2)
        open_ = 0
        for sock in self.socks:
            try:
                data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
                open_ += data != b""
            except BlockingIOError:
                open_ += 1
            except OSError:
                pass
        return open_

    async def close(self) -> None:
        for sock in self.socks:
            sock.close()


async def idle_connections(host: str, port: int, count: int) -> HeldConnections:
    held = HeldConnections()
    loop = asyncio.get_running_loop()

    async def one() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.bind(("127.0.0.2", 0))
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (host, port)), 5)
            held.connected += 1
            held.socks.append(sock)
        except (OSError, TimeoutError):
            sock.close()

    for start in range(0, count, 200):
        await asyncio.gather(*(one() for _ in range(min(200, count - start))))
    return held
