"""Syslog over TCP against hogs and ghosts: per-address caps, idle timeout, keepalive seen by
iproute2's ``ss``, and a worker that dies restarted with back-off and its losses counted.

No test measures time: timeouts are set to a second and the tests wait for the outcome.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

from syslog_receiver.workers import RESTART_FIRST, RESTART_MAX, STABLE_AFTER, next_delay
from tests.peers import peer
from tests.procs import Daemon
from tests.test_config_trust import closed_by_server
from tests.test_syslog_integration import LOCAL, counters_when, syslog_with


def connect_from(address: str, daemon: Daemon) -> socket.socket:
    sock = socket.socket()
    sock.bind((address, 0))
    sock.settimeout(10)
    sock.connect(daemon.address("syslog", "tcp"))
    return sock


def test_one_address_cannot_take_every_connection() -> None:
    with Daemon.start(["syslog", *LOCAL, "--max-connections-per-address", "3"]) as daemon:
        hog = [connect_from("127.0.0.2", daemon) for _ in range(4)]
        assert closed_by_server(hog[3])
        other = connect_from("127.0.0.3", daemon)
        other.sendall(b"<13>Dec  1 10:00:00 other app: still served\n")
        [line] = syslog_with(daemon, "still served")
        assert line["source_ip"] == "127.0.0.3"
        counters = counters_when(daemon, lambda c: c["tcp_refused_per_address"] >= 1)
        assert counters["tcp_refused_per_address"] == 1
        assert counters["tcp_refused"] == 1
        assert counters["tcp_open"] == 4
        for sock in [*hog, other]:
            sock.close()


def test_idle_connections_are_closed_and_counted() -> None:
    with Daemon.start(["syslog", *LOCAL, "--tcp-idle-timeout", "1"]) as daemon:
        quiet = connect_from("127.0.0.2", daemon)
        talking = connect_from("127.0.0.3", daemon)
        talking.sendall(b"<13>Dec  1 10:00:00 r app: before the silence\n")
        syslog_with(daemon, "before the silence")
        assert closed_by_server(quiet) and closed_by_server(talking)
        counters = counters_when(daemon, lambda c: c["tcp_idle_closed"] >= 2)
        assert counters["tcp_idle_closed"] == 2
        assert counters["tcp_open"] == 0


def test_accepted_connections_have_keepalive() -> None:
    ss = peer("ss", "iproute2")
    with Daemon.start(["syslog", *LOCAL]) as daemon:
        _, port = daemon.address("syslog", "tcp")
        client = connect_from("127.0.0.2", daemon)
        client.sendall(b"<13>Dec  1 10:00:00 r app: keep me\n")
        syslog_with(daemon, "keep me")
        shown = subprocess.run(
            [ss, "-tnoH", "state", "established", f"( sport = :{port} )"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
        assert "timer:(keepalive," in shown, shown
        client.close()


def test_restart_delay_doubles_and_resets_after_a_stable_run() -> None:
    delays = []
    delay = RESTART_FIRST / 2
    for _ in range(9):
        delay = next_delay(delay, 0.5)
        delays.append(delay)
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert RESTART_MAX == 60.0
    assert next_delay(60.0, STABLE_AFTER) == RESTART_FIRST


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def test_a_killed_worker_is_restarted_and_counted() -> None:
    with Daemon.start(["syslog", *LOCAL, "--workers", "2"]) as daemon:
        counters_when(daemon, lambda c: c.get("workers") == 2)
        workers = [
            p
            for p in children(daemon.proc.pid)
            if b"syslog_receiver.workers" in Path(f"/proc/{p}/cmdline").read_bytes()
        ]
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)
        exited = daemon.wait_for(lambda line: line.get("event") == "syslog.worker_exited")
        assert exited["restart_in"] == RESTART_FIRST and exited["lost"] >= 0
        daemon.wait_for(lambda line: line.get("event") == "syslog.worker_restarted")
        counters = counters_when(daemon, lambda c: c.get("workers") == 2)
        assert counters["worker_restarts"] == 1
        assert "lost_in_dead_workers" in counters
        with socket.create_connection(daemon.address("syslog", "tcp"), timeout=5) as sock:
            sock.sendall(b"<13>Dec  1 10:00:00 r app: after the restart\n")
        syslog_with(daemon, "after the restart")
