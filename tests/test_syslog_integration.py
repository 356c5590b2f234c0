"""``edge-bridge syslog`` as a real process on loopback, fed by util-linux logger and rsyslog."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.output import MAX_LINE_BYTES
from tests.peers import peer
from tests.procs import Daemon, Line, run_command

LOCAL = ["--udp", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--health", "127.0.0.1:0"]


def marker() -> str:
    return "t" + uuid.uuid4().hex[:12]


def logger(*args: str) -> None:
    """util-linux logger: the test skips without it (fails under CI=true)."""
    subprocess.run([peer("logger", "bsdutils"), *args], check=True, timeout=10, capture_output=True)


def syslog_with(daemon: Daemon, text: str, count: int = 1, timeout: float = 10.0) -> list[Line]:
    """The ``syslog`` lines whose message contains ``text``, once ``count`` have arrived."""

    def match(line: Line) -> bool:
        return line.get("event") == "syslog" and text in str(line.get("message"))

    found = daemon.wait_count(match, count, timeout)
    assert found >= count, f"{found} of {count} lines with {text!r}; stderr={daemon.stderr[-800:]}"
    return [line for line in daemon.lines() if match(line)]


def healthz(daemon: Daemon) -> tuple[int, dict[str, Any]]:
    host, port = daemon.address("syslog", "health")
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def counters_when(daemon: Daemon, predicate: Any, timeout: float = 5.0) -> dict[str, Any]:
    """/healthz counters once ``predicate`` holds (worker pools report twice a second)."""
    deadline = time.monotonic() + timeout
    while True:
        _, body = healthz(daemon)
        counters = body["counters"]
        if predicate(counters) or time.monotonic() > deadline:
            return dict(counters)
        time.sleep(0.1)


def udp_socket(daemon: Daemon) -> socket.socket:
    host, port = daemon.address("syslog", "udp")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.connect((host, port))
    return sock


def tcp_socket(daemon: Daemon) -> socket.socket:
    return socket.create_connection(daemon.address("syslog", "tcp"), timeout=5)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Daemon]:
    with Daemon.start(["syslog", *LOCAL, "--router", "127.0.0.1=lab-router"]) as daemon:
        yield daemon


# -- real clients: util-linux logger -----------------------------------------------------


def test_logger_udp_rfc5424_with_structured_data(receiver: Daemon) -> None:
    text = marker()
    _, port = receiver.address("syslog", "udp")
    logger(
        "-n", "127.0.0.1", "-P", str(port), "-d", "--rfc5424", "-p", "local4.warning",
        "-t", "netops", "--msgid", "ID47", "--sd-id", "zoo@32473",
        "--sd-param", 'tiger="hungry"', "--sd-param", r'note="a \"quoted\" \] bracket"',
        f"config changed {text}",
    )  # fmt: skip
    [line] = syslog_with(receiver, text)
    assert line["transport"] == "udp" and line["source_ip"] == "127.0.0.1"
    assert line["format"] == "rfc5424"
    assert (line["facility"], line["severity"], line["level"]) == (20, 4, "warning")
    assert (line["app_name"], line["msgid"]) == ("netops", "ID47")
    assert line["hostname"] == socket.gethostname()
    assert line["structured_data"]["zoo@32473"] == {
        "tiger": "hungry",
        "note": 'a "quoted" ] bracket',
    }
    assert line["message"] == f"config changed {text}"
    assert line["timestamp"].endswith("Z")
    assert line["router"] == "lab-router"


@pytest.mark.parametrize("octet_count", [False, True], ids=["lf", "octet-count"])
def test_logger_tcp(receiver: Daemon, octet_count: bool) -> None:
    text = marker()
    _, port = receiver.address("syslog", "tcp")
    framing = ["--octet-count"] if octet_count else []
    logger("-n", "127.0.0.1", "-P", str(port), "-T", *framing, "-t", "sshd", "-p", "auth.err",
           f"first {text}")  # fmt: skip
    [line] = syslog_with(receiver, text)
    assert line["transport"] == "tcp"
    assert (line["facility"], line["severity"], line["level"]) == (4, 3, "error")
    assert line["app_name"] == "sshd"
    assert line["message"] == f"first {text}"


def test_logger_rfc3164(receiver: Daemon) -> None:
    text = marker()
    _, port = receiver.address("syslog", "udp")
    logger("-n", "127.0.0.1", "-P", str(port), "-d", "--rfc3164", "-t", "mgd", "--id=4242",
           "-p", "daemon.info", f"UI_COMMIT: commit {text}")  # fmt: skip
    [line] = syslog_with(receiver, text)
    assert line["format"] == "rfc3164"
    assert (line["facility"], line["severity"]) == (3, 6)
    assert (line["app_name"], line["procid"]) == ("mgd", "4242")
    assert line["hostname"] == socket.gethostname()
    assert line["message"] == f"UI_COMMIT: commit {text}"


# -- a real relay: rsyslog forwarding over UDP and TCP -----------------------------------


RSYSLOG_CONF = """\
global(workDirectory="{dir}")
module(load="imfile")
input(type="imfile" File="{dir}/in.log" Tag="netops:" Facility="local3" Severity="warning"
      freshStartTail="off")
action(type="omfwd" target="127.0.0.1" port="{udp}" protocol="udp"
       template="RSYSLOG_SyslogProtocol23Format")
action(type="omfwd" target="127.0.0.1" port="{tcp}" protocol="tcp" TCP_Framing="octet-counted"
       template="RSYSLOG_SyslogProtocol23Format")
action(type="omfwd" target="127.0.0.1" port="{tcp}" protocol="tcp")
"""


def test_rsyslog_forwards_over_udp_and_tcp(receiver: Daemon, tmp_path: Path) -> None:
    rsyslogd = peer("rsyslogd", "rsyslog")
    text = marker()
    _, udp_port = receiver.address("syslog", "udp")
    _, tcp_port = receiver.address("syslog", "tcp")
    (tmp_path / "in.log").write_text(f"BGP neighbor 10.0.0.2 Down {text}\n")
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(RSYSLOG_CONF.format(dir=tmp_path, udp=udp_port, tcp=tcp_port))
    relay = subprocess.Popen(
        [rsyslogd, "-n", "-f", str(conf), "-i", str(tmp_path / "rsyslog.pid")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        lines = syslog_with(receiver, text, count=3, timeout=20)
    finally:
        relay.terminate()
        relay.wait(10)
    by_kind = {(line["transport"], line["format"]): line for line in lines}
    assert set(by_kind) == {("udp", "rfc5424"), ("tcp", "rfc5424"), ("tcp", "rfc3164")}
    for line in lines:
        assert (line["facility"], line["severity"], line["level"]) == (19, 4, "warning")
        assert line["app_name"] == "netops"
        assert line["message"] == f"BGP neighbor 10.0.0.2 Down {text}"
        assert line["hostname"] == socket.gethostname()


# -- TCP framing errors ----------------------------------------------------------------


def test_garbage_closes_the_connection_after_what_came_before(receiver: Daemon) -> None:
    text = marker()
    before = counters_when(receiver, lambda c: True)["malformed_frames"]
    with tcp_socket(receiver) as sock:
        sock.sendall(f"<13>good {text}\n".encode() + b"\x16\x03\x01\x02\x00\x01\x00")
        sock.settimeout(5)
        assert sock.recv(100) == b""  # the receiver closed the connection
    syslog_with(receiver, text)
    warning = receiver.wait_for(lambda d: d.get("event") == "syslog.tcp_frame_error")
    assert "garbage" in warning["reason"] and warning["action"] == "connection closed"
    assert (
        counters_when(receiver, lambda c: c["malformed_frames"] > before)["malformed_frames"]
        == before + 1
    )


def test_oversized_tcp_frame_closes_the_connection() -> None:
    text = marker()
    with Daemon.start(["syslog", *LOCAL, "--max-message-size", "1000"]) as daemon:
        with tcp_socket(daemon) as sock:
            sock.sendall(f"<13>fits {text}\n".encode() + b"2000 <13>" + b"x" * 1991)
            sock.settimeout(5)
            assert sock.recv(100) == b""
        syslog_with(daemon, text)
        warning = daemon.wait_for(lambda d: d.get("event") == "syslog.tcp_frame_error")
        assert "oversized" in warning["reason"]


# -- truncation ------------------------------------------------------------------------


def compact_size(line: Line) -> int:
    return len(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode()) + 1


def test_long_messages_are_cut_below_16k_and_flagged(receiver: Daemon) -> None:
    text = marker()
    big = f"<13>huge {text} ".encode() + b"A" * 40_000
    with udp_socket(receiver) as sock:
        sock.send(big)
    with tcp_socket(receiver) as sock:
        sock.sendall(str(len(big)).encode() + b" " + big)
    lines = syslog_with(receiver, text, count=2)
    for line in lines:
        assert line["truncated"] is True and line["original_length"] == len(big)
        assert compact_size(line) <= MAX_LINE_BYTES
        assert line["message"].startswith(f"huge {text} AAAA")
    assert counters_when(receiver, lambda c: c["truncated"] >= 2)["truncated"] >= 2


def test_max_message_size_cuts_datagrams() -> None:
    text = marker()
    with Daemon.start(["syslog", *LOCAL, "--max-message-size", "1000"]) as daemon:
        with udp_socket(daemon) as sock:
            sock.send(f"<13>cut {text} ".encode() + b"B" * 3000)
        [line] = syslog_with(daemon, text)
        assert line["truncated"] is True and line["original_length"] > 3000
        assert len(line["message"].encode()) <= 1000


# -- protection -------------------------------------------------------------------------


def test_allowlist_drops_and_counts_other_sources() -> None:
    text = marker()
    with Daemon.start(["syslog", *LOCAL, "--allow", "192.0.2.0/24"]) as daemon:
        with udp_socket(daemon) as sock:
            for i in range(5):
                sock.send(f"<13>blocked {text} {i}".encode())
        with tcp_socket(daemon) as sock:
            sock.settimeout(5)
            try:  # refused: reset at once, or closed before anything is read
                sock.sendall(f"<13>blocked tcp {text}\n".encode())
                answer = sock.recv(100)
            except ConnectionResetError:
                answer = b""
            assert answer == b""
        counters = counters_when(daemon, lambda c: c["dropped_not_allowed"] >= 6)
        assert counters["dropped_not_allowed"] == 6
        assert counters["tcp_refused"] == 1 and counters["emitted"] == 0
        assert counters["received"] == 5
    assert not [line for line in daemon.lines() if text in str(line.get("message"))]


def test_allowlist_admits_its_networks() -> None:
    text = marker()
    with Daemon.start(["syslog", *LOCAL, "--allow", "192.0.2.0/24", "--allow", "127.0.0.0/8"]) as d:
        with udp_socket(d) as sock:
            sock.send(f"<13>allowed {text}".encode())
        syslog_with(d, text)


def test_rate_limit_drops_over_the_limit_with_one_summary() -> None:
    text = marker()
    args = ["syslog", *LOCAL, "--rate-limit", "5", "--rate-burst", "10"]
    with Daemon.start(args) as daemon:
        with udp_socket(daemon) as sock:
            for i in range(200):
                sock.send(f"<13>flood {text} {i}".encode())
        counters = counters_when(daemon, lambda c: c["received"] >= 200)
        emitted = counters["emitted"]
        assert 10 <= emitted <= 13  # the burst, and what the rate refilled meanwhile
        assert counters["dropped_rate_limited"] == 200 - emitted
        # The first messages of the burst are the ones that got through, in order.
        kept = syslog_with(daemon, text, count=emitted)
        assert [line["message"] for line in kept[:10]] == [f"flood {text} {i}" for i in range(10)]
        warning = daemon.wait_for(lambda d: d.get("event") == "syslog.rate_limited")
        assert warning["level"] == "warning"
        assert warning["top_sources"] == {"127.0.0.1": warning["dropped"]}
        time.sleep(1.5)  # later ticks stay quiet: at most one summary per interval
        assert len(daemon.events("syslog.rate_limited")) == 1


def test_kernel_drops_are_read_and_counted() -> None:
    """A stopped receiver with a tiny buffer: the kernel drops, the receiver counts them."""
    text = marker()
    with Daemon.start(["syslog", *LOCAL, "--recv-buffer", "4096"]) as daemon:
        sent = 300
        daemon.proc.send_signal(signal.SIGSTOP)
        try:
            with udp_socket(daemon) as sock:
                for i in range(sent):
                    sock.send(f"<13>burst {text} {i}".encode())
        finally:
            daemon.proc.send_signal(signal.SIGCONT)
        counters = counters_when(daemon, lambda c: c["kernel_drops"] > 0)
        assert counters["kernel_drops"] > 0
        counters = counters_when(daemon, lambda c: c["emitted"] + c["kernel_drops"] >= sent)
        assert counters["emitted"] + counters["kernel_drops"] == sent
        warning = daemon.wait_for(lambda d: d.get("event") == "syslog.kernel_drops")
        assert warning["total"] == counters["kernel_drops"]


def test_small_kernel_buffer_is_warned_about_once() -> None:
    rmem_max = int(Path("/proc/sys/net/core/rmem_max").read_text())
    with Daemon.start(["syslog", *LOCAL, "--recv-buffer", str(rmem_max * 2)]) as daemon:
        [warning] = daemon.events("syslog.recv_buffer_small")
        assert warning["requested"] == rmem_max * 2 and warning["granted"] == rmem_max
        assert "net.core.rmem_max" in warning["hint"]
        _, body = healthz(daemon)
        assert body["counters"]["recv_buffer_bytes"] == rmem_max


# -- health, settings, shutdown ----------------------------------------------------------


def test_healthz_answers_200_with_every_counter(receiver: Daemon) -> None:
    text = marker()
    with udp_socket(receiver) as sock:
        sock.send(f"<13>health {text}".encode())
    syslog_with(receiver, text)
    status, body = healthz(receiver)
    assert status == 200
    assert body["status"] == "ok" and body["service"] == "syslog"
    counters = body["counters"]
    for name in ("received", "emitted", "dropped_not_allowed", "dropped_rate_limited",
                 "truncated", "malformed_frames", "kernel_drops", "tcp_connections"):  # fmt: skip
        assert name in counters
    assert counters["received"] >= 1 and counters["emitted"] >= 1


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--udp", "nowhere"], {}, "--udp"),
        (["--rate-limit", "-3"], {}, "--rate-limit"),
        (["--max-message-size", "10"], {}, "--max-message-size"),
        ([], {"EDGE_BRIDGE_ALLOW": "10.0.0.0/33"}, "EDGE_BRIDGE_ALLOW"),
        ([], {"EDGE_BRIDGE_WORKERS": "0"}, "EDGE_BRIDGE_WORKERS"),
    ],
)
def test_a_bad_setting_exits_2_with_one_line(
    args: list[str], env: dict[str, str], named: str
) -> None:
    result = run_command(["syslog", *args], env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and named in result.stderr


def test_port_in_use_fails_the_start() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = run_command(["syslog", "--udp", f"127.0.0.1:{port}", "--tcp", "127.0.0.1:0",
                              "--health", "127.0.0.1:0"])  # fmt: skip
    assert result.returncode == 1
    failed = [json.loads(line) for line in result.stdout.splitlines()]
    assert failed[-1]["event"] == "syslog.failed"


def test_sigterm_with_messages_in_flight_loses_nothing() -> None:
    """Messages wait in the kernel buffers, unread, when SIGTERM arrives: all are emitted."""
    text = marker()
    with Daemon.start(["syslog", *LOCAL]) as daemon:
        udp = udp_socket(daemon)
        tcp = tcp_socket(daemon)
        time.sleep(0.2)  # the connection is accepted before the receiver is frozen
        daemon.proc.send_signal(signal.SIGSTOP)
        sent = 0
        try:
            for i in range(1500):
                udp.send(f"<13>inflight {text} udp {i}".encode())
                tcp.sendall(f"<13>inflight {text} tcp {i}\n".encode())
                sent += 2
            daemon.proc.send_signal(signal.SIGTERM)
        finally:
            daemon.proc.send_signal(signal.SIGCONT)
        started = time.monotonic()
        code = daemon.stop()
        elapsed = time.monotonic() - started
        udp.close()
        tcp.close()
    assert code == 0 and elapsed < 5
    messages = [line for line in daemon.lines() if text in str(line.get("message"))]
    assert len({line["message"] for line in messages}) == len(messages) == sent
    assert daemon.lines()[-1]["event"] == "stopped"
    [metrics] = [line for line in daemon.lines() if line.get("event") == "metrics"]
    assert metrics["emitted"] == sent and metrics["kernel_drops"] == 0


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv6_loopback() -> None:
    text = marker()
    args = ["syslog", "--udp", "[::1]:0", "--tcp", "[::1]:0", "--health", "[::1]:0"]
    with Daemon.start(args) as daemon:
        _, udp_port = daemon.address("syslog", "udp")
        _, tcp_port = daemon.address("syslog", "tcp")
        logger("-n", "::1", "-P", str(udp_port), "-d", f"v6 udp {text}")
        logger("-n", "::1", "-P", str(tcp_port), "-T", f"v6 tcp {text}")
        lines = syslog_with(daemon, text, count=2)
        assert {line["transport"] for line in lines} == {"udp", "tcp"}
        assert {line["source_ip"] for line in lines} == {"::1"}
        assert healthz(daemon)[0] == 200


# -- worker processes ------------------------------------------------------------------


def test_workers_share_the_port_and_sum_their_counters() -> None:
    text = marker()
    with Daemon.start(["syslog", *LOCAL, "--workers", "2", "--rate-limit", "0"]) as daemon:
        assert daemon.addresses["syslog"]["workers"] == "2"
        socks = [udp_socket(daemon) for _ in range(8)]  # 8 source ports spread over 2 workers
        for i in range(400):
            socks[i % 8].send(f"<13>pool {text} {i}".encode())
        with tcp_socket(daemon) as sock:
            sock.sendall(f"<13>pool {text} tcp\n".encode())
        for sock in socks:
            sock.close()
        lines = syslog_with(daemon, text, count=401)
        assert len(lines) == 401
        counters = counters_when(daemon, lambda c: c["emitted"] >= 401)
        assert counters["received"] == counters["emitted"] == 401
        assert counters["workers"] == 2
        assert healthz(daemon)[0] == 200

        # A worker that dies is reported and started again on the same sockets.
        pids = _children(daemon.proc.pid)
        assert len(pids) == 2
        os.kill(pids[0], signal.SIGKILL)
        exited = daemon.wait_for(lambda d: d.get("event") == "syslog.worker_exited")
        assert exited["level"] == "error"
        daemon.wait_for(lambda d: d.get("event") == "syslog.worker_restarted", timeout=15)
        again = marker()
        socks = [udp_socket(daemon) for _ in range(8)]
        for i, sock in enumerate(socks):
            sock.send(f"<13>after restart {again} {i}".encode())
            sock.close()
        syslog_with(daemon, again, count=8)
        assert daemon.stop() == 0
    # Counted once each, across the worker that died and the one that took its place.
    [metrics] = [line for line in daemon.lines() if line.get("event") == "metrics"]
    assert metrics["emitted"] == metrics["received"] == 409


def _children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children]


def test_workers_exit_when_the_parent_dies() -> None:
    with Daemon.start(["syslog", *LOCAL, "--workers", "2"]) as daemon:
        children = _children(daemon.proc.pid)
        assert len(children) == 2
        daemon.proc.kill()  # no SIGTERM: the workers must notice on their own
        daemon.proc.wait(5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(pid) for pid in children):
            time.sleep(0.1)
        assert not [pid for pid in children if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_connections_over_the_limit_are_refused() -> None:
    text = marker()
    with Daemon.start(["syslog", *LOCAL, "--max-connections", "1"]) as daemon:
        with tcp_socket(daemon) as first:
            first.sendall(f"<13>first {text}\n".encode())
            syslog_with(daemon, text)
            with tcp_socket(daemon) as second:
                second.settimeout(5)
                try:
                    second.sendall(b"<13>second\n")
                    answer = second.recv(100)
                except ConnectionResetError:
                    answer = b""
                assert answer == b""
            first.sendall(f"<13>still served {text}\n".encode())
            syslog_with(daemon, text, count=2)
        counters = counters_when(daemon, lambda c: c["tcp_refused"] >= 1)
        assert counters["tcp_refused"] == 1 and counters["tcp_connections"] == 1


def test_a_burst_of_tiny_tcp_frames_is_all_emitted(receiver: Daemon) -> None:
    text = marker()
    with tcp_socket(receiver) as sock:
        sock.sendall(b"".join(f"{text} {i}\n".encode() for i in range(10_000)))
    lines = syslog_with(receiver, text, count=10_000, timeout=30)
    assert len(lines) == 10_000
    assert {line["format"] for line in lines} == {"nopri"}
