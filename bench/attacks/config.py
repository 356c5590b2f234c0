"""Attacks on the config uploader's HTTP listener: decompression bombs, idle connections,
request heads sent a byte a second, and an online brute force of Basic auth."""

from __future__ import annotations

import asyncio
import base64
import gzip
import time

import aiohttp

from bench.attacks.bench import Bench, idle_connections, put
from bench.attacks.health import HealthProbe

BOMB_LINES = 8 * 1024 * 1024  # b"a\n" each: 16 MiB
PASSWORD = "right-password"


def bomb() -> bytes:
    return gzip.compress(b"a\n" * BOMB_LINES, 9)


def config_text(name: str) -> bytes:
    return f"hostname {name}\ninterface Gi0/0\n ip address 192.0.2.1 255.255.255.0\n".encode()


async def gzip_bomb(bench: Bench) -> str:
    base, _ = bench.config()
    body = bomb()
    async with aiohttp.ClientSession() as session:
        with HealthProbe(base + "/healthz") as probe:
            began = time.monotonic()
            status = await put(
                session, base + "/upload/bomb-config", body, {"Content-Encoding": "gzip"}
            )
            took = time.monotonic() - began
    return f"{len(body)} B gzip -> HTTP {status} in {took:.2f} s; {probe.describe()}"


async def multipart_bomb(bench: Bench) -> str:
    base, _ = bench.config()
    part = bomb()
    form = aiohttp.FormData()
    for n in range(bench.args.parts):
        form.add_field("file", part, filename=f"bomb{n}-config", content_type="application/gzip")
    timeout = aiohttp.ClientTimeout(total=bench.args.answer_within)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        with HealthProbe(base + "/healthz") as probe:
            began = time.monotonic()
            try:
                async with session.post(base + "/upload/", data=form) as response:
                    status = str(response.status)
            except aiohttp.ClientError as exc:
                status = f"error {type(exc).__name__}"
            except TimeoutError:
                status = f"none within {bench.args.answer_within:.0f} s"
            took = time.monotonic() - began
    return (
        f"{bench.args.parts} parts of {len(part)} B -> HTTP {status} in {took:.2f} s; "
        f"{probe.describe()}"
    )


async def idle_config(bench: Bench) -> str:
    base, daemon = bench.config()
    host, port = daemon.address("listen")
    with HealthProbe(base + "/healthz") as probe:
        held = await idle_connections(host, port, bench.args.idle)
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=("127.0.0.3", 0))
        ) as session:
            status = await put(session, base + "/upload/other-config", config_text("other"))
        still = await held.still_open()
        await held.close()
    return (
        f"{held.connected} of {bench.args.idle} connected from 127.0.0.2, {still} still "
        f"open after {held.age():.0f} s; upload from 127.0.0.3 -> HTTP {status}; "
        f"{probe.describe()}"
    )


async def slow_header(bench: Bench) -> str:
    base, daemon = bench.config()
    host, port = daemon.address("listen")
    head = b"PUT /upload/slow-config HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000

    async def one() -> float | None:
        reader, writer = await asyncio.open_connection(host, port, local_addr=("127.0.0.4", 0))
        began = time.monotonic()
        try:
            for byte in head:
                if time.monotonic() - began > bench.args.slow_seconds:
                    return None
                writer.write(bytes([byte]))
                await writer.drain()
                try:
                    if await asyncio.wait_for(reader.read(1), 1.0) == b"":
                        return time.monotonic() - began
                except TimeoutError:
                    continue
        except OSError:
            return time.monotonic() - began
        finally:
            writer.close()
        return None

    with HealthProbe(base + "/healthz") as probe:
        results = await asyncio.gather(*(one() for _ in range(bench.args.slow)))
    closed = [r for r in results if r is not None]
    if closed:
        outcome = f"{len(closed)} of {len(results)} hung up by the server after {max(closed):.0f} s"
    else:
        outcome = f"all {len(results)} still open after {bench.args.slow_seconds} s"
    return f"{outcome}; {probe.describe()}"


async def failed_auth(bench: Bench) -> str:
    base, daemon = bench.config(env={"EDGE_BRIDGE_BASIC_AUTH": f"router:{PASSWORD}"})
    wrong = "Basic " + base64.b64encode(b"router:wrong").decode()
    statuses: dict[int, int] = {}
    before = daemon.line_count
    count = bench.args.failed
    queue = iter(range(count))

    async def worker(session: aiohttp.ClientSession) -> None:
        for _ in queue:
            try:
                async with session.get(
                    base + "/routers", headers={"Authorization": wrong}
                ) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            statuses[status] = statuses.get(status, 0) + 1

    async with aiohttp.ClientSession() as session:
        with HealthProbe(base + "/healthz") as probe:
            began = time.monotonic()
            clients = bench.args.auth_clients
            await asyncio.gather(*(worker(session) for _ in range(clients)))
            took = time.monotonic() - began
    await asyncio.sleep(0.5)
    lines = daemon.line_count - before
    shown = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
    return f"{count} requests in {took:.1f} s -> {shown}; {lines} stdout lines; {probe.describe()}"
