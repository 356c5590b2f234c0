"""Hostile clients against the real daemons: does each listener bound memory, connections and
time per peer, and does ``/healthz`` keep answering meanwhile?

Each case starts a fresh daemon (so its peak RSS is the case's own), runs one attack from
loopback addresses, and prints the outcome, the daemon's peak RSS (``VmHWM``, summed over its
processes) and the slowest ``/healthz`` answer seen while the attack ran (probed every 100 ms):

* ``gzip-bomb``: one upload of 16 KiB of gzip that inflates to 16 MiB of two-byte lines;
* ``multipart-bomb``: one multipart upload of ``--parts`` such files;
* ``idle-config`` / ``idle-syslog``: ``--idle`` TCP connections from 127.0.0.2 that send
  nothing, then an upload (a syslog message) from 127.0.0.3: is it still served?
* ``slow-header``: ``--slow`` clients from 127.0.0.4 sending a request head one byte a second:
  when does the server hang up?
* ``failed-auth``: ``--failed`` reads (``GET /routers``) with a wrong password,
  ``--auth-clients`` at a time (an online brute force of Basic auth; 16 by default, within the
  per-address connection cap, so every request reaches the credential check): how are they
  answered, and how many lines do they cost on stdout?

    .venv/bin/python bench/hostile.py [--root DIR] [--case NAME]...

``--root`` runs the daemons of another checkout (for example main before a change) with this
script. A daemon whose RSS passes ``--kill-above`` is killed (the case says so) to spare the
machine. Not a test: the figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson

HERE = Path(__file__).resolve().parent.parent
BOMB_LINES = 8 * 1024 * 1024  # b"a\n" each: 16 MiB
PASSWORD = "right-password"
MIB = 1024 * 1024


class Daemon:
    """One ``edge-bridge`` command of ``root`` as a process, its stdout read in a thread."""

    def __init__(self, root: Path, args: list[str], env: dict[str, str] | None = None) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_BRIDGE_")}
        full_env.update(env or {}, PYTHONPATH=str(root))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", *args],
            cwd=root,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        self.lines: list[dict[str, Any]] = []
        self.line_count = 0
        self.started = threading.Event()
        self.peak_kib = 0
        self.killed = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.line_count += 1
            if len(self.lines) < 100_000:
                try:
                    line = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue
                self.lines.append(line)
                if str(line.get("event", "")).endswith(".started"):
                    self.started.set()

    def address(self, key: str) -> tuple[str, int]:
        if not self.started.wait(30):
            raise RuntimeError("daemon did not start")
        line = next(x for x in self.lines if str(x.get("event", "")).endswith(".started"))
        host, _, port = str(line[key]).rpartition(":")
        return host.strip("[]"), int(port)

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("event") == name]

    def pids(self) -> list[int]:
        """The daemon and its children (syslog workers)."""
        found = [self.proc.pid]
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
            found += [int(pid) for pid in children.split()]
        except OSError:
            pass
        return found

    def watch(self, kill_above_kib: int) -> None:
        """Track the peak RSS (sum of VmHWM) until the process ends; kill it past the limit."""

        def loop() -> None:
            while self.proc.poll() is None:
                peak = rss = 0
                for pid in self.pids():
                    status = _status(pid)
                    peak += status.get("VmHWM", 0)
                    rss += status.get("VmRSS", 0)
                self.peak_kib = max(self.peak_kib, peak)
                if rss > kill_above_kib:
                    self.killed = True
                    self.proc.kill()
                time.sleep(0.05)

        threading.Thread(target=loop, daemon=True).start()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _status(pid: int) -> dict[str, int]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0])
    return out


class HealthProbe:
    """GET /healthz every 100 ms while an attack runs; the slowest answer and the failures."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.slowest = 0.0
        self.failures = 0
        self.answers = 0
        self._asked_at: float | None = None
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                began = self._asked_at = time.monotonic()
                try:
                    async with session.get(self.url) as response:
                        await response.read()
                        ok = response.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                self._asked_at = None
                self.slowest = max(self.slowest, time.monotonic() - began)
                self.answers += ok
                self.failures += not ok
                await asyncio.sleep(0.1)

    def __enter__(self) -> HealthProbe:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        if self._asked_at is not None:  # still waiting for an answer when the attack ended
            self.slowest = max(self.slowest, time.monotonic() - self._asked_at)

    def describe(self) -> str:
        return (
            f"/healthz: {self.answers} answered, {self.failures} failed, "
            f"slowest {self.slowest * 1000:.0f} ms"
        )


def bomb() -> bytes:
    return gzip.compress(b"a\n" * BOMB_LINES, 9)


def config_text(name: str) -> bytes:
    return f"hostname {name}\ninterface Gi0/0\n ip address 192.0.2.1 255.255.255.0\n".encode()


# -- cases -----------------------------------------------------------------------------------

Case = Callable[["Bench"], Awaitable[str]]


class Bench:
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

    async def gzip_bomb(self) -> str:
        base, _ = self.config()
        body = bomb()
        async with aiohttp.ClientSession() as session:
            with HealthProbe(base + "/healthz") as probe:
                began = time.monotonic()
                status = await _put(
                    session, base + "/upload/bomb-config", body, {"Content-Encoding": "gzip"}
                )
                took = time.monotonic() - began
        return f"{len(body)} B gzip -> HTTP {status} in {took:.2f} s; {probe.describe()}"

    async def multipart_bomb(self) -> str:
        base, _ = self.config()
        part = bomb()
        form = aiohttp.FormData()
        for n in range(self.args.parts):
            form.add_field(
                "file", part, filename=f"bomb{n}-config", content_type="application/gzip"
            )
        timeout = aiohttp.ClientTimeout(total=self.args.answer_within)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            with HealthProbe(base + "/healthz") as probe:
                began = time.monotonic()
                try:
                    async with session.post(base + "/upload/", data=form) as response:
                        status = str(response.status)
                except aiohttp.ClientError as exc:
                    status = f"error {type(exc).__name__}"
                except TimeoutError:
                    status = f"none within {self.args.answer_within:.0f} s"
                took = time.monotonic() - began
        return (
            f"{self.args.parts} parts of {len(part)} B -> HTTP {status} in {took:.2f} s; "
            f"{probe.describe()}"
        )

    async def idle_config(self) -> str:
        base, daemon = self.config()
        host, port = daemon.address("listen")
        with _Health(base + "/healthz") as probe:
            held = await _idle_connections(host, port, self.args.idle)
            async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(local_addr=("127.0.0.3", 0))
            ) as session:
                status = await _put(session, base + "/upload/other-config", config_text("other"))
            still = await held.still_open()
            await held.close()
        return (
            f"{held.connected} of {self.args.idle} connected from 127.0.0.2, {still} still "
            f"open after {held.age():.0f} s; upload from 127.0.0.3 -> HTTP {status}; "
            f"{probe.describe()}"
        )

    async def idle_syslog(self) -> str:
        daemon = Daemon(
            self.root,
            ["syslog", "--udp", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--health", "127.0.0.1:0"],
        )
        self.daemon = daemon
        host, port = daemon.address("tcp")
        health_host, health_port = daemon.address("health")
        health = f"http://{health_host}:{health_port}/healthz"
        daemon.watch(self.args.kill_above * 1024)
        with _Health(health) as probe:
            held = await _idle_connections(host, port, self.args.idle)
            delivered = False
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, port, local_addr=("127.0.0.3", 0)), 5
                )
                writer.write(b"<13>Dec  1 10:00:00 other app: from another address\n")
                await writer.drain()
                for _ in range(50):
                    await asyncio.sleep(0.1)
                    if any(x.get("source_ip") == "127.0.0.3" for x in daemon.events("syslog")):
                        delivered = True
                        break
                writer.close()
            except (OSError, TimeoutError):
                pass
            still = await held.still_open()
            await held.close()
        return (
            f"{held.connected} of {self.args.idle} connected from 127.0.0.2, {still} still "
            f"open after {held.age():.0f} s; message from 127.0.0.3 "
            f"{'delivered' if delivered else 'NOT delivered'}; {probe.describe()}"
        )

    async def slow_header(self) -> str:
        base, daemon = self.config()
        host, port = daemon.address("listen")
        head = b"PUT /upload/slow-config HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000

        async def one() -> float | None:
            reader, writer = await asyncio.open_connection(host, port, local_addr=("127.0.0.4", 0))
            began = time.monotonic()
            try:
                for byte in head:
                    if time.monotonic() - began > self.args.slow_seconds:
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
            results = await asyncio.gather(*(one() for _ in range(self.args.slow)))
        closed = [r for r in results if r is not None]
        if closed:
            outcome = (
                f"{len(closed)} of {len(results)} hung up by the server after {max(closed):.0f} s"
            )
        else:
            outcome = f"all {len(results)} still open after {self.args.slow_seconds} s"
        return f"{outcome}; {probe.describe()}"

    async def failed_auth(self) -> str:
        base, daemon = self.config(env={"EDGE_BRIDGE_BASIC_AUTH": f"router:{PASSWORD}"})
        wrong = "Basic " + base64.b64encode(b"router:wrong").decode()
        statuses: dict[int, int] = {}
        before = daemon.line_count
        count = self.args.failed
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
                clients = self.args.auth_clients
                await asyncio.gather(*(worker(session) for _ in range(clients)))
                took = time.monotonic() - began
        await asyncio.sleep(0.5)
        lines = daemon.line_count - before
        shown = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
        return (
            f"{count} requests in {took:.1f} s -> {shown}; {lines} stdout lines; {probe.describe()}"
        )


_Health = HealthProbe


async def _put(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str] | None = None
) -> int:
    try:
        async with session.put(url, data=body, headers=headers) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


class _Held:
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


async def _idle_connections(host: str, port: int, count: int) -> _Held:
    held = _Held()
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


CASES: dict[str, Callable[[Bench], Awaitable[str]]] = {
    "gzip-bomb": Bench.gzip_bomb,
    "multipart-bomb": Bench.multipart_bomb,
    "idle-config": Bench.idle_config,
    "idle-syslog": Bench.idle_syslog,
    "slow-header": Bench.slow_header,
    "failed-auth": Bench.failed_auth,
}


async def run(args: argparse.Namespace, root: Path, workdir: Path) -> int:
    print(f"daemons of {root}; peak RSS is VmHWM summed over the daemon's processes")
    for name in args.case or list(CASES):
        bench = Bench(args, root, workdir)
        try:
            outcome = await CASES[name](bench)
        except Exception as exc:  # a case that cannot run says why; the others still run
            outcome = f"could not run: {exc!r}"
        daemon = bench.daemon
        if daemon is not None:
            await asyncio.sleep(0.3)
            alive = daemon.proc.poll() is None
            daemon.stop()
            state = (
                "KILLED above --kill-above"
                if daemon.killed
                else ("running" if alive else f"DIED (exit {daemon.proc.returncode})")
            )
            print(
                f"{name:15} peak RSS {daemon.peak_kib / 1024:7.1f} MiB, daemon {state}: {outcome}",
                flush=True,
            )
        else:
            print(f"{name:15} {outcome}", flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=str(HERE), help="checkout whose daemons run")
    parser.add_argument("--case", action="append", choices=list(CASES))
    parser.add_argument("--parts", type=int, default=16)
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--slow", type=int, default=20)
    parser.add_argument("--slow-seconds", type=float, default=40.0)
    parser.add_argument("--failed", type=int, default=10_000)
    parser.add_argument("--auth-clients", type=int, default=16)
    parser.add_argument("--answer-within", type=float, default=900.0, help="seconds")
    parser.add_argument("--kill-above", type=int, default=4096, help="MiB")
    parser.add_argument("--workdir", default="/tmp/edge-bridge-hostile")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(run(args, Path(args.root).resolve(), workdir))


if __name__ == "__main__":
    sys.exit(main())
