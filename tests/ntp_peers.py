"""Real NTP peers for the proxy's tests: chronyd as server and as client, and small helpers."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ntplib

from ntp_proxy.packet import MODE_SERVER, Packet, decode, encode, to_ntp
from tests.peers import peer
from tests.procs import Daemon


def chronyd_program() -> str:
    """chronyd's path; the tests that need it skip without it (fail under CI=true)."""
    return peer("chronyd", "chrony")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Chronyd:
    """chronyd as a stratum 1 server on loopback, its clock left alone (-x)."""

    def __init__(self, workdir: Path, port: int, *config: str) -> None:
        """``config``: further chrony.conf lines (``keyfile ...``)."""
        self.port = port
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "chrony.conf"
        self.conf.write_text(
            f"local stratum 1\nallow 127.0.0.1\nport {port}\ncmdport 0\n"
            f"pidfile {workdir}/chronyd.pid\ndriftfile {workdir}/drift\nuser root\n"
            + "".join(f"{line}\n" for line in config)
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Chronyd:
        self.proc = subprocess.Popen(
            [chronyd_program(), "-x", "-d", "-f", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if ntplib.NTPClient().request("127.0.0.1", 4, self.port, timeout=0.2).leap != 3:
                    return self
            except ntplib.NTPException:
                pass
        raise RuntimeError("chronyd did not start serving")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class FakeUpstream:
    """A UDP socket answering like an NTP server, with forged replies on demand."""

    def __init__(
        self, forge: bool = False, genuine: bool = True, skew: float = 0.0, kiss: bytes = b""
    ) -> None:
        """``skew``: how far the genuine replies' clock is off; ``kiss``: answer every request
        with this kiss-o'-death code instead."""
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.forge, self.genuine, self.skew, self.kiss = forge, genuine, skew, kiss
        self.requests = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def reply(self, request: Packet, origin: int, skew: float) -> bytes:
        now = time.time() + skew
        return encode(
            Packet(
                version=4,
                mode=MODE_SERVER,
                stratum=1,
                precision=-20,
                refid=b"GPS\0",
                reference=to_ntp(now - 1),
                origin=origin,
                receive=to_ntp(now),
                transmit=to_ntp(now),
            )
        )

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(1024)
            except TimeoutError:
                continue
            request = decode(data)
            self.requests += 1
            if self.forge:  # an off-path attacker guessing the origin: a year ahead
                self.sock.sendto(self.reply(request, request.transmit ^ 1, 3.15e7), addr)
                self.sock.sendto(self.reply(request, to_ntp(time.time()), 3.15e7), addr)
            if self.kiss:
                kod = Packet(
                    version=4, mode=MODE_SERVER, leap=3, refid=self.kiss, origin=request.transmit
                )
                self.sock.sendto(encode(kod), addr)
            elif self.genuine:
                self.sock.sendto(self.reply(request, request.transmit, self.skew), addr)

    def __enter__(self) -> FakeUpstream:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


def chronyd_server(tmp_path: Path) -> Iterator[Chronyd]:
    """The body of the ``chronyd`` fixture (tests/conftest.py)."""
    server = Chronyd(tmp_path / "chronyd", free_udp_port()).start()
    try:
        yield server
    finally:
        server.stop()


def proxy(*args: str, env: dict[str, str] | None = None) -> Daemon:
    return Daemon.start(
        ["ntp", "--listen", "127.0.0.1:0", "--health", "127.0.0.1:0", "--poll", "0.5", *args],
        env,
    )


def health(daemon: Daemon) -> tuple[int, dict[str, Any]]:
    host, port = daemon.address("ntp", "health")
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=3) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def ask(daemon: Daemon, timeout: float = 2.0) -> ntplib.NTPStats:
    host, port = daemon.address("ntp", "listen")
    return ntplib.NTPClient().request(host, version=4, port=port, timeout=timeout)


def exchange(daemon: Daemon, data: bytes, wait: float = 0.3) -> list[bytes]:
    """Send one datagram from a fresh socket; everything that comes back within ``wait``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(wait)
        sock.sendto(data, daemon.address("ntp", "listen"))
        replies = []
        try:
            while True:
                replies.append(sock.recv(1024))
        except TimeoutError:
            return replies


def client_request(transmit: int = 0x1122334455667788, version: int = 4, mode: int = 3) -> bytes:
    return encode(Packet(version=version, mode=mode, transmit=transmit))


def chronyd_client(
    port: int, *directives: str, timeout: int = 10, maxsamples: int = 4
) -> float | None:
    """Run chronyd as a one-shot client (``-Q``) against the port: the offset it accepted, or
    None when it accepted no sample before ``timeout`` (``directives`` such as ``key 3`` go on
    the server line; ``keyfile`` lines are passed with :func:`chronyd_client_with`)."""
    return chronyd_client_with([], port, *directives, timeout=timeout, maxsamples=maxsamples)


def chronyd_client_with(
    config: list[str], port: int, *directives: str, timeout: int = 10, maxsamples: int = 4
) -> float | None:
    server = f"server 127.0.0.1 port {port} iburst maxsamples {maxsamples} " + " ".join(directives)
    result = subprocess.run(
        [chronyd_program(), "-Q", "-t", str(timeout), "-f", "/dev/null", *config, server],
        capture_output=True,
        text=True,
        timeout=timeout + 10,
        check=False,
    )
    output = result.stdout + result.stderr
    match = re.search(r"System clock wrong by (-?[0-9.]+) seconds", output)
    if match is None:
        assert "Timeout reached" in output, output  # and nothing else went wrong
        return None
    assert result.returncode == 0, output
    return float(match.group(1))


def chronyd_client_offset(port: int) -> float:
    """The offset chronyd as a client measured against the port (it must accept one)."""
    offset = chronyd_client(port)
    assert offset is not None
    return offset


def synchronised(daemon: Daemon, timeout: float = 10.0) -> dict[str, Any]:
    return daemon.wait_for(lambda line: line["event"] == "ntp.synchronised", timeout)
