"""Benchmark: config uploads per second and latency, against a bare aiohttp handler.

Each server runs as its own process on loopback, on uvloop: ``edge-bridge config`` with a
local store (atomic, fsynced versions; normalise, redact, diff, JSON events), and a bare aiohttp
app whose handler only writes the body to a file, once without fsync (the page cache: the
issue's reference) and once with fsync in a thread (what "on disk" costs, as the store pays
it). The client sends 64 KiB Cisco-style configs, each differing from the previous one of its
router by one line, from 1 and from 32 concurrent clients (one router each), and reports
uploads/s, p50 and p99 latency, and edge-bridge's rate as a ratio of both (goal: >= 0.5).

    .venv/bin/python bench/config_upload.py [--seconds 5] [--store DIR]

Not a test: numbers depend on the machine. The default run takes well under a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parent.parent
CONFIG_SIZE = 64 * 1024

BARE_SERVER = """
import asyncio, os, sys, itertools
from aiohttp import web
import uvloop

directory, sync = sys.argv[1], sys.argv[2] == "fsync"
counter = itertools.count()

def write(path, body):
    with open(path, "wb") as f:
        f.write(body)
        if sync:
            f.flush()
            os.fsync(f.fileno())

async def handle(request):
    body = await request.read()
    path = os.path.join(directory, str(next(counter)))
    if sync:  # in a thread, as edge-bridge's store does, so concurrent fsyncs overlap
        await asyncio.to_thread(write, path, body)
    else:
        write(path, body)
    return web.json_response({"ok": True})

async def main():
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_route("PUT", "/upload/{path:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    await asyncio.Event().wait()

uvloop.run(main())
"""


def make_config(router: str, change: int) -> bytes:
    """A ~64 KiB IOS config; ``change`` alters exactly one line."""
    lines = [
        "Building configuration...",
        "",
        f"Current configuration : {CONFIG_SIZE} bytes",
        "!",
        "version 17.9",
        f"hostname {router}",
        "enable secret 9 $9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM",
        "username netops privilege 15 secret 9 $9$3dEsq7wBNKaE9.$QZiJ2OWHJxLsXZkUnNqDnEPrlUH8",
        "snmp-server community S3cr3tRO RO 10",
        "tacacs server t1",
        " key 7 070C285F4D06485744",
    ]
    i = 0
    while sum(len(line) + 1 for line in lines) < CONFIG_SIZE - 200:
        lines += [
            f"interface GigabitEthernet0/{i}",
            f" description link-{i} to access switch {i % 48}",
            f" ip address 10.{i // 250 % 250}.{i % 250}.1 255.255.255.0",
            " no shutdown",
            "!",
        ]
        i += 1
    lines += [f"banner motd ^change {change}^", "end", ""]
    body = "\n".join(lines).encode()
    return body + b"!" * (CONFIG_SIZE - len(body) - 1) + b"\n" if len(body) < CONFIG_SIZE else body


def start_uploader(store: str) -> tuple[subprocess.Popen[bytes], int]:
    """``edge-bridge config`` on an ephemeral port; its stdout is drained in a thread."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "config", "--listen", "127.0.0.1:0", "--store", store],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("EDGE_BRIDGE_")},
    )
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = orjson.loads(raw)
        if line.get("event") == "config.started":
            port = int(line["listen"].rpartition(":")[2])
            break
        if line.get("event") == "config.failed":
            raise SystemExit(f"uploader failed: {line}")
    else:
        raise SystemExit("uploader exited before it started")
    stdout = proc.stdout
    threading.Thread(target=lambda: [None for _ in stdout], daemon=True).start()
    return proc, port


def start_bare(directory: str, fsync: bool) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", BARE_SERVER, directory, "fsync" if fsync else "write"],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


async def load(port: int, clients: int, seconds: float, max_requests: int) -> dict[str, Any]:
    """``clients`` loops of sequential PUTs for ``seconds`` (or ``max_requests`` in all)."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client(c: int) -> None:
            nonlocal errors
            router = f"bench-r{c}-{port}"
            base = make_config(router, 0)
            target = f"http://127.0.0.1:{port}/upload/{router}-config"
            n = 0
            while time.perf_counter() < deadline and len(latencies) < max_requests:
                # One line differs from the previous upload: every upload is a new version.
                body = base.replace(b"^change 0^", b"^change %d^" % n, 1)
                started = time.perf_counter()
                async with session.put(target, data=body) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - started)
                n += 1

        began = time.perf_counter()
        await asyncio.gather(*(client(c) for c in range(clients)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "uploads": len(latencies),
        "errors": errors,
        "rate": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


SERVERS = ("bare write", "bare fsync", "edge-bridge")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per measurement")
    parser.add_argument("--max-requests", type=int, default=20000, help="per measurement")
    parser.add_argument("--store", help="directory for all servers' files (default: a temp dir)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.store) as scratch:
        store = Path(scratch, "store")
        for name in ("bare-write", "bare-fsync"):
            Path(scratch, name).mkdir()
        print(f"config {CONFIG_SIZE} bytes, one line changed per upload; files under {scratch}")
        procs: list[subprocess.Popen[bytes]] = []
        rows: list[tuple[str, int, dict[str, Any]]] = []
        try:
            ports = {}
            for name, fsync in (("bare write", False), ("bare fsync", True)):
                proc, ports[name] = start_bare(str(Path(scratch, name.replace(" ", "-"))), fsync)
                procs.append(proc)
            proc, ports["edge-bridge"] = start_uploader(str(store))
            procs.append(proc)
            pids = dict(zip(SERVERS, (p.pid for p in procs), strict=True))
            for clients in (1, 32):
                for name in SERVERS:
                    cpu = cpu_seconds(pids[name])
                    result = asyncio.run(
                        load(ports[name], clients, args.seconds, args.max_requests)
                    )
                    result["cpu_ms"] = (cpu_seconds(pids[name]) - cpu) * 1000 / result["uploads"]
                    rows.append((name, clients, result))
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(10)
        versions = sum(1 for _ in store.glob("*/[0-9]*"))

    print(
        f"{'server':<12} {'clients':>7} {'uploads':>8} {'errors':>6} {'uploads/s':>10} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'server CPU ms/upload':>21}"
    )
    for name, clients, r in rows:
        print(
            f"{name:<12} {clients:>7} {r['uploads']:>8} {r['errors']:>6} {r['rate']:>10.1f} "
            f"{r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['cpu_ms']:>21.2f}"
        )
    rate = {(name, clients): r["rate"] for name, clients, r in rows}
    for clients in (1, 32):
        ours = rate[("edge-bridge", clients)]
        print(
            f"ratio edge-bridge / bare at {clients:>2} clients: "
            f"{ours / rate[('bare write', clients)]:.2f} vs write, "
            f"{ours / rate[('bare fsync', clients)]:.2f} vs write+fsync (goal >= 0.5)"
        )
    print(f"versions stored by edge-bridge: {versions}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
