"""The NTP proxy as a real process between a real chronyd upstream and real clients.

Clients nobody here wrote judge the answers: chronyd in client mode (``chronyd -Q``) and ntplib.
"""

from __future__ import annotations

import datetime
import itertools
import json
import signal
import socket
import time
from pathlib import Path

import ntplib
import pytest

from ntp_proxy.packet import MODE_SERVER, decode
from tests.ntp_peers import (
    Chronyd,
    FakeUpstream,
    ask,
    chronyd_client_offset,
    client_request,
    exchange,
    free_udp_port,
    health,
    proxy,
    synchronised,
)
from tests.procs import run_command

# -- serve mode ---------------------------------------------------------------------------------


def test_serves_upstream_time_to_chronyd_and_ntplib(chronyd: Chronyd) -> None:
    with proxy("--upstream", f"127.0.0.1:{chronyd.port}") as daemon:
        synchronised(daemon)
        sample = daemon.wait_for(lambda line: line["event"] == "ntp.upstream_sample")
        assert sample["stratum"] == 1 and sample["upstream"] == f"127.0.0.1:{chronyd.port}"
        assert abs(sample["offset"]) < 0.001 and 0 < sample["delay"] < 0.01

        stats = ask(daemon)
        assert (stats.leap, stats.stratum, stats.mode) == (0, 2, MODE_SERVER)
        assert ntplib.ref_id_to_text(stats.ref_id, stats.stratum) == "127.0.0.1"
        assert abs(stats.offset) < 0.005
        assert -30 <= stats.precision <= -10

        assert abs(chronyd_client_offset(daemon.address("ntp", "listen")[1])) < 0.001

        status, body = health(daemon)
        assert status == 200 and body["counters"]["synchronised"] == 1
        assert body["counters"]["replies"] >= 3 and body["counters"]["upstream_errors"] == 0
        # at most one sample line per poll (0.5 s), and one line per change of state
        time.sleep(1.5)
        times = [_seconds(line["time"]) for line in daemon.events("ntp.upstream_sample")]
        assert len(times) >= 4
        assert min(b - a for a, b in itertools.pairwise(times)) > 0.4
        assert len(daemon.events("ntp.synchronised")) == 1
        assert daemon.stop() == 0


def _seconds(iso: str) -> float:
    return datetime.datetime.fromisoformat(iso).timestamp()


def test_unsynchronised_before_first_sample_and_after_holdover(tmp_path: Path) -> None:
    port = free_udp_port()
    upstream = Chronyd(tmp_path / "late", port)
    with proxy("--upstream", f"127.0.0.1:{port}", "--max-holdover", "2") as daemon:
        stats = ask(daemon)  # nothing listens upstream yet
        assert (stats.leap, stats.stratum) == (3, 16)
        assert int(stats.ref_id).to_bytes(4, "big") == b"INIT"
        assert health(daemon)[0] == 503

        upstream.start()
        try:
            synchronised(daemon)
            assert health(daemon)[0] == 200
            assert (ask(daemon).leap, ask(daemon).stratum) == (0, 2)
        finally:
            upstream.stop()

        event = daemon.wait_for(lambda line: line["event"] == "ntp.unsynchronised", timeout=10)
        assert event["level"] == "warning" and event["reason"] == "holdover expired"
        stats = ask(daemon)
        assert (stats.leap, stats.stratum) == (3, 16)
        status, body = health(daemon)
        assert status == 503 and body["counters"]["synchronised"] == 0
        assert body["counters"]["upstream_errors"] >= 1
        assert len(daemon.events("ntp.unsynchronised")) == 1
        daemon.wait_for(lambda line: line["event"] == "ntp.upstream_unreachable", nth=1)
        reach = [
            (line["event"], line["level"])
            for line in daemon.lines()
            if line["event"].startswith("ntp.upstream_") and "reachable" in line["event"]
        ]
        assert reach == [
            ("ntp.upstream_unreachable", "warning"),  # nothing listened at first
            ("ntp.upstream_reachable", "info"),
            ("ntp.upstream_unreachable", "warning"),
        ]
        assert daemon.stop() == 0 and daemon.stderr == ""  # ICMP errors are no tracebacks


def test_forged_upstream_replies_are_ignored() -> None:
    with (
        FakeUpstream(forge=True, genuine=False) as fake,
        proxy("--upstream", f"127.0.0.1:{fake.port}") as daemon,
    ):
        deadline = time.monotonic() + 10
        while fake.requests < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        status, body = health(daemon)
        assert status == 503 and body["counters"]["upstream_invalid"] >= 6
        assert ask(daemon).leap == 3
        assert not daemon.events("ntp.synchronised")

    with (
        FakeUpstream(forge=True, genuine=True) as fake,
        proxy("--upstream", f"127.0.0.1:{fake.port}") as daemon,
    ):
        synchronised(daemon)
        stats = ask(daemon)
        assert stats.leap == 0 and abs(stats.offset) < 0.01  # not a year ahead
        assert health(daemon)[1]["counters"]["upstream_invalid"] >= 2


def test_non_client_short_and_garbage_packets_get_no_reply(chronyd: Chronyd) -> None:
    with proxy("--upstream", f"127.0.0.1:{chronyd.port}") as daemon:
        synchronised(daemon)
        monlist = bytes([0x17, 0x00, 0x03, 0x2A]) + b"\0" * 4  # mode 7 MON_GETLIST_1
        readvar = bytes([0x16, 0x02, 0x00, 0x01]) + b"\0" * 8  # mode 6 READVAR
        bad = [
            monlist,
            monlist + b"\0" * 40,
            readvar,
            readvar + b"\0" * 36,
            b"",
            b"\x23",
            client_request()[:47],
            client_request(mode=0),
            client_request(mode=4),
            client_request(mode=5),
            client_request(version=0),
            client_request(version=7),
            b"\xff" * 48,
            b"GET / HTTP/1.1\r\n\r\n" * 4,
        ]
        for data in bad:
            assert exchange(daemon, data, wait=0.05) == [], data
        time.sleep(0.3)
        replies = exchange(daemon, client_request() + b"\x00\x04\x00\x10" + b"\xee" * 12)
        assert len(replies) == 1 and len(replies[0]) == 48  # the extension is not echoed
        assert decode(replies[0]).origin == 0x1122334455667788
        counts = health(daemon)[1]["counters"]
        assert counts["dropped_mode"] == 9 and counts["dropped_short"] == 3  # 0xff, "G": mode 7
        assert counts["dropped_version"] == 2 and counts["replies"] >= 1


def test_rate_limit_sends_rate_kod_only_occasionally(chronyd: Chronyd) -> None:
    with proxy(
        "--upstream",
        f"127.0.0.1:{chronyd.port}",
        "--rate-limit",
        "1",
        "--rate-burst",
        "3",
        "--rate-leak",
        "0",
    ) as daemon:
        synchronised(daemon)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.5)
            for i in range(30):
                sock.sendto(client_request(transmit=i + 1), daemon.address("ntp", "listen"))
            replies = []
            try:
                while True:
                    replies.append(decode(sock.recv(1024)))
            except TimeoutError:
                pass
        served = [r for r in replies if r.stratum == 2]
        kisses = [r for r in replies if r.stratum == 0]
        assert len(served) == 3
        assert len(kisses) == 1 and kisses[0].refid == b"RATE" and kisses[0].leap == 3
        counts = health(daemon)[1]["counters"]
        assert counts["kod_rate_sent"] == 1 and counts["dropped_rate"] == 26


def test_requests_lost_in_the_kernel_are_counted(chronyd: Chronyd) -> None:
    """A stalled process: what the socket buffer could not hold shows as dropped_kernel."""
    with proxy("--upstream", f"127.0.0.1:{chronyd.port}", "--rate-limit", "0") as daemon:
        synchronised(daemon)
        sent = 30_000
        daemon.proc.send_signal(signal.SIGSTOP)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                for i in range(sent):
                    sock.sendto(client_request(transmit=i + 1), daemon.address("ntp", "listen"))
        finally:
            daemon.proc.send_signal(signal.SIGCONT)
        previous = -1
        while (counts := health(daemon)[1]["counters"])["requests"] != previous:
            previous = counts["requests"]  # until the buffered requests are all read
            time.sleep(0.3)
        # the kernel reports its drop count with the next datagram it queues
        assert ask(daemon).stratum == 2
        counts = health(daemon)[1]["counters"]
        assert counts["dropped_kernel"] > 0
        assert counts["requests"] + counts["dropped_kernel"] == sent + 1
        assert counts["replies"] == counts["requests"]


@pytest.mark.parametrize("response", ["kod", "drop"])
def test_allowlist(chronyd: Chronyd, response: str) -> None:
    with proxy(
        "--upstream", f"127.0.0.1:{chronyd.port}", "--allow", "10.0.0.0/8",
        "--allow", "192.0.2.0/24", "--deny-response", response,
    ) as daemon:  # fmt: skip
        synchronised(daemon)
        first = exchange(daemon, client_request())
        second = exchange(daemon, client_request())
        assert second == []
        if response == "kod":
            assert len(first) == 1
            kiss = decode(first[0])
            assert (kiss.stratum, kiss.refid, kiss.leap) == (0, b"DENY", 3)
            assert health(daemon)[1]["counters"]["kod_deny_sent"] == 1
        else:
            assert first == []
            assert health(daemon)[1]["counters"]["dropped_not_allowed"] == 2
    with proxy("--upstream", f"127.0.0.1:{chronyd.port}", "--allow", "127.0.0.0/8") as daemon:
        synchronised(daemon)
        assert ask(daemon).stratum == 2


# -- relay mode ---------------------------------------------------------------------------------


def test_relay_mode_end_to_end(chronyd: Chronyd) -> None:
    with proxy("--upstream", f"127.0.0.1:{chronyd.port}", "--mode", "relay") as daemon:
        synchronised(daemon)
        stats = ask(daemon)
        assert (stats.leap, stats.stratum) == (0, 1)  # chronyd's own answer, relayed
        replies = exchange(
            daemon, client_request(transmit=0xDEADBEEF00C0FFEE) + b"\0\4\0\x1c" + bytes(24)
        )
        assert len(replies) == 1 and len(replies[0]) == 48
        assert decode(replies[0]).origin == 0xDEADBEEF00C0FFEE  # the client's, restored
        assert abs(chronyd_client_offset(daemon.address("ntp", "listen")[1])) < 0.001
        assert exchange(daemon, bytes([0x17, 0, 3, 0x2A]) + b"\0" * 44) == []
        counts = health(daemon)[1]["counters"]
        assert counts["relayed"] >= 4 and counts["replies"] == counts["relayed"]
        assert counts["dropped_mode"] == 1
    # upstream gone: requests time out in the relay instead of piling up
    chronyd.stop()
    with proxy(
        "--upstream", f"127.0.0.1:{chronyd.port}", "--mode", "relay", "--relay-timeout", "0.2"
    ) as daemon:
        assert exchange(daemon, client_request(), wait=0.5) == []
        time.sleep(1.5)
        counts = health(daemon)[1]["counters"]
        assert counts["relayed"] == 1 and counts["relay_timeouts"] == 1


# -- diagnostics and settings ------------------------------------------------------------------


def test_ntp_check_prints_the_answer(chronyd: Chronyd) -> None:
    result = run_command(["ntp-check", f"127.0.0.1:{chronyd.port}"])
    assert result.returncode == 0, result.stderr
    (line,) = [json.loads(text) for text in result.stdout.splitlines()]
    assert line["event"] == "ntp.check" and line["stratum"] == 1 and line["leap"] == 0
    assert line["synchronised"] is True and abs(line["offset"]) < 0.01

    with proxy("--upstream", f"127.0.0.1:{free_udp_port()}") as daemon:
        host, port = daemon.address("ntp", "listen")
        result = run_command(["ntp-check", f"{host}:{port}"])
        line = json.loads(result.stdout)
        assert result.returncode == 1 and line["leap"] == 3 and line["stratum"] == 16
        assert line["synchronised"] is False and line["level"] == "warning"

    silent = run_command(["ntp-check", f"127.0.0.1:{free_udp_port()}", "--timeout", "0.3"])
    assert silent.returncode == 1 and json.loads(silent.stdout)["event"] == "ntp.check_failed"
    bad = run_command(["ntp-check", "127.0.0.1:99999"])
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "99999" in bad.stderr


@pytest.mark.parametrize(
    ("args", "env", "name"),
    [
        (["--poll", "0"], {}, "--poll"),
        (["--mode", "mirror"], {}, "--mode"),
        (["--upstream", "[::1"], {}, "--upstream"),
        ([], {"EDGE_BRIDGE_DENY_RESPONSE": "maybe"}, "EDGE_BRIDGE_DENY_RESPONSE"),
        ([], {"EDGE_BRIDGE_ALLOW": "10.0.0.0/8,10.1.2.3/8"}, "EDGE_BRIDGE_ALLOW"),
    ],
)
def test_bad_settings_stop_with_one_line(args: list[str], env: dict[str, str], name: str) -> None:
    result = run_command(["ntp", *args], env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and name in result.stderr
