"""A slow stdout (awslogs in blocking mode, CloudWatch behind) stalls no event loop and loses
nothing unseen: lines wait in a bounded buffer, what overflows is counted and reported, and a
stuck write shows in /healthz and the metrics."""

from __future__ import annotations

import json
import os
import socket
import threading
import time

from bridge.stdout import BufferedStdout
from tests.procs import Daemon, healthz


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class PipeReader(threading.Thread):
    """Reads a pipe to its end in the background, as the log driver would once it recovers."""

    def __init__(self, fd: int) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.data = b""

    def run(self) -> None:
        while chunk := os.read(self.fd, 1 << 16):
            self.data += chunk

    def wait_for(self, marker: bytes, timeout: float = 10.0) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self.data and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.data


def test_a_stuck_pipe_fills_the_buffer_then_overflow_is_counted_and_reported() -> None:
    read_fd, write_fd = os.pipe()
    reader = PipeReader(read_fd)
    clock = FakeClock()
    out = BufferedStdout(write_fd, 256 * 1024, 5.0, clock)
    try:
        line = b'{"event":"syslog","message":"' + b"x" * 200 + b'"}\n'
        accepted = 0
        # nobody reads: the pipe (64 KiB) fills, the writer blocks, the buffer fills
        for _ in range(5000):
            before = out.dropped_lines
            out.write(line)
            accepted += out.dropped_lines == before
        assert out.dropped_lines == 5000 - accepted > 0
        assert out.dropped_bytes == out.dropped_lines * len(line)
        assert 0 < out.pending_bytes() <= 256 * 1024
        deadline = time.monotonic() + 5
        while not out.stalled_seconds() and time.monotonic() < deadline:
            clock.now += 1.0  # until the writer thread is seen stuck in its write
            time.sleep(0.01)
        stuck = out.stalled_seconds()
        clock.now += 7.5
        assert out.stalled_seconds() == stuck + 7.5 > 7.5, "the writer is stuck in one write"

        out.write(b'{"event":"huge","pad":"' + b"p" * 300_000 + b'"}\n')  # over the bound
        dropped = out.dropped_lines
        reader = PipeReader(read_fd)  # the log driver recovers: the buffer drains
        reader.start()
        assert out.drain(10.0)
        out.write(b'{"event":"recovered"}\n')
        data = reader.wait_for(b'"recovered"')
        lines = [json.loads(raw) for raw in data.splitlines()]
        reports = [x for x in lines if x["event"] == "stdout.dropped"]
        assert reports and {x["level"] for x in reports} == {"error"}
        assert sum(x["lines"] for x in reports) == dropped, "every refused line is told"
        assert sum(x["bytes"] for x in reports) == out.dropped_bytes
        events = [x["event"] for x in lines]
        assert events.count("syslog") == accepted, "every accepted line is written"
        assert events[-1] == "recovered"
        assert out.stalled_seconds() == 0.0 and out.pending_bytes() == 0
    finally:
        out.close(1.0)
        os.close(write_fd)  # the reader sees the end
        reader.join(5)
        os.close(read_fd)


def test_write_never_blocks_the_caller() -> None:
    read_fd, write_fd = os.pipe()
    out = BufferedStdout(write_fd, 1 << 20, 5.0)
    try:
        started = time.monotonic()
        for _ in range(2000):  # 2 MB into a pipe nobody reads
            out.write(b"y" * 999 + b"\n")
        assert time.monotonic() - started < 2.0
        assert out.dropped_lines > 0
    finally:
        os.close(read_fd)  # the stuck write now fails: counted, and the thread ends
        assert out.close(5.0)
        assert out.write_errors >= 1
        os.close(write_fd)


def test_a_daemon_with_stuck_stdout_answers_503_and_counts_what_it_dropped() -> None:
    """The syslog receiver with its stdout unread: /healthz tells, nothing is lost unseen."""
    args = [
        "syslog",
        "--udp=127.0.0.1:0",
        "--tcp=127.0.0.1:0",
        "--health=127.0.0.1:0",
        "--stdout-buffer=256KiB",
        "--stdout-stall=1",
        "--metrics-interval=3600",
        "--rate-limit=0",  # no syslog.rate_limited lines: every line is a message
    ]
    with Daemon.start(args) as daemon:
        udp = daemon.address("syslog", "udp")
        _, health = daemon.address("syslog", "health")
        assert healthz(health)[0] == 200
        daemon.pause_stdout()
        stop = threading.Event()

        def send() -> None:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                for seq in range(100_000):  # bounded; stopped as soon as drops are seen
                    if stop.is_set():
                        return
                    message = f"<189>{seq:06d}: rtr1: %SYS-5-CONFIG_I: line {seq} " + "z" * 200
                    sock.sendto(message.encode(), udp)
                    if seq % 200 == 199:
                        time.sleep(0.01)

        sender = threading.Thread(target=send)
        sender.start()
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                status, body = healthz(health)  # the loop answers while stdout is stuck
                counters = body["counters"]
                if counters.get("stdout_dropped_lines", 0) > 0 and status == 503:
                    break
                time.sleep(0.2)
        finally:
            stop.set()
            sender.join(10)
        assert status == 503, body
        assert counters["stdout_stalled_seconds"] > 1
        assert 0 < counters["stdout_pending_bytes"] <= 256 * 1024

        daemon.resume_stdout()
        deadline = time.monotonic() + 20
        previous = -1
        while time.monotonic() < deadline:  # until stdout is empty and no datagram is left
            status, body = healthz(health)
            counters = body["counters"]
            if status == 200 and not counters["stdout_pending_bytes"]:
                if counters["emitted"] == previous:
                    break
                previous = counters["emitted"]
            time.sleep(0.3)
        assert status == 200, body
        daemon.wait_for(lambda x: x.get("event") == "stdout.dropped", timeout=10)
        # every line handed to stdout is either in the output or counted as dropped
        seen = daemon.wait_count(
            lambda x: x.get("event") == "syslog",
            counters["emitted"] - counters["stdout_dropped_lines"],
            timeout=10,
        )
        assert seen + counters["stdout_dropped_lines"] == counters["emitted"], counters
        told = sum(report["lines"] for report in daemon.events("stdout.dropped"))
        assert told == counters["stdout_dropped_lines"], "every loss told in the output too"
        assert daemon.stop() == 0
