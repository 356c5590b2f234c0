"""``edge-bridge all`` as one process on loopback, driven by real clients and by the simulator.

The suite is configured the way ECS configures it, through ``EDGE_BRIDGE_*`` variables (here
with ephemeral ports), with a real chronyd as its upstream. util-linux ``logger``, ntplib and
curl check that it serves all three protocols; then ``edge-bridge simulate-router`` runs against
it and its own counts are compared with what the daemons wrote. The metric filters of the
CloudFormation template are matched against the lines the daemons really emit, so an alarm
cannot watch a field nobody writes.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import ntplib
import pytest

from bridge.simulate import router_config
from tests.cfn import metric_filters
from tests.ntp_peers import Chronyd, free_udp_port
from tests.peers import peer
from tests.procs import Daemon, run_command


@pytest.fixture
def upstream(chronyd: Chronyd) -> Chronyd:
    """A stratum 1 chronyd on a loopback port: the stand-in for the Amazon Time Sync Service."""
    return chronyd


ROUTER = "rtr-sim-7"


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PCI_RULES = Path(__file__).resolve().parent.parent / "deploy" / "compliance" / "pci.yaml"


def start_all(tmp_path: Path, upstream: Chronyd) -> Daemon:
    """The suite on loopback, configured only through variables, as a task definition does."""
    desired = tmp_path / "desired"
    desired.mkdir()
    # the desired config "from Git" is the simulated router's first revision
    (desired / f"{ROUTER}.cfg").write_text(
        router_config(ROUTER, 0, time.time(), "127.0.0.1:514", "127.0.0.1:123")
    )
    env = {
        "EDGE_BRIDGE_SYSLOG_UDP": "127.0.0.1:0",
        "EDGE_BRIDGE_SYSLOG_TCP": "127.0.0.1:0",
        "EDGE_BRIDGE_SYSLOG_HEALTH": "127.0.0.1:0",
        "EDGE_BRIDGE_SYSLOG_METRICS_INTERVAL": "1",
        "EDGE_BRIDGE_NTP_LISTEN": "127.0.0.1:0",
        "EDGE_BRIDGE_NTP_HEALTH": "127.0.0.1:0",
        "EDGE_BRIDGE_NTP_UPSTREAM": f"127.0.0.1:{upstream.port}",
        "EDGE_BRIDGE_NTP_POLL": "0.5",
        "EDGE_BRIDGE_NTP_METRICS_INTERVAL": "1",
        "EDGE_BRIDGE_CONFIG_LISTEN": "127.0.0.1:0",
        "EDGE_BRIDGE_CONFIG_STORE": str(tmp_path / "store"),
        "EDGE_BRIDGE_CONFIG_DESIRED": str(desired),
        "EDGE_BRIDGE_CONFIG_COMPLIANCE": str(PCI_RULES),
        "EDGE_BRIDGE_CONFIG_METRICS_INTERVAL": "1",
    }
    return Daemon.start(["all"], env=env)


def address(suite: Daemon, service: str, key: str) -> str:
    host, port = suite.address(service, key)
    return f"{host}:{port}"


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def synchronised(suite: Daemon) -> None:
    suite.wait_for(lambda line: line["event"] == "ntp.synchronised", timeout=15)


def test_all_serves_syslog_ntp_and_uploads_on_loopback(tmp_path: Path, upstream: Chronyd) -> None:
    logger, curl = peer("logger", "bsdutils"), peer("curl", "curl")
    with start_all(tmp_path, upstream) as suite:
        assert set(suite.addresses) == {"syslog", "ntp", "config"}

        host, port = suite.address("syslog", "udp")
        token = f"edge-bridge-all-{time.monotonic_ns()}"
        subprocess.run(
            [logger, "-n", host, "-P", str(port), "-d", "--rfc5424", "-t", "pci-test", token],
            check=True,
            timeout=10,
        )
        line = suite.wait_for(
            lambda d: d["event"] == "syslog" and token in str(d.get("message")), timeout=10
        )
        assert line["format"] == "rfc5424" and line["app_name"] == "pci-test"
        assert line["transport"] == "udp" and line["source_ip"] == "127.0.0.1"

        synchronised(suite)
        host, port = suite.address("ntp", "listen")
        stats = ntplib.NTPClient().request(host, version=4, port=port, timeout=2)
        assert stats.leap != 3 and stats.stratum == 2 and abs(stats.offset) < 0.05

        config = tmp_path / "r9-config"
        config.write_text(
            "hostname r9\ninterface Loopback0\n ip address 10.9.9.9 255.255.255.255\n"
        )
        url = f"http://{address(suite, 'config', 'listen')}/upload/r9-config"
        result = subprocess.run(
            [curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T", str(config), url],
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert result.stdout.startswith("2"), result
        received = suite.wait_for(lambda d: d["event"] == "config.received", timeout=10)
        assert received["router"] == "r9"
        listing = f"http://{address(suite, 'config', 'listen')}/routers/r9/versions"
        with urllib.request.urlopen(listing, timeout=5) as response:
            versions = json.load(response)["versions"]
        assert [v["sha256"] for v in versions] == [hashlib.sha256(config.read_bytes()).hexdigest()]
        assert any((tmp_path / "store").rglob("*")), "the store directory holds the version"

        for service, key in (("syslog", "health"), ("ntp", "health"), ("config", "listen")):
            url = f"http://{address(suite, service, key)}/healthz"
            assert status(url) == 200, service
            # the container health check of the Dockerfile, compose and the task definitions
            assert run_command(["healthcheck", url]).returncode == 0, service
        assert suite.stop() == 0


def simulate(suite: Daemon, *extra: str, duration: float = 4.0) -> tuple[int, list[dict[str, Any]]]:
    args = [
        "simulate-router",
        f"--name={ROUTER}",
        f"--syslog={address(suite, 'syslog', 'udp')}",
        f"--ntp={address(suite, 'ntp', 'listen')}",
        f"--config-url=http://{address(suite, 'config', 'listen')}/upload/{{name}}-config",
        "--rate=50",
        "--burst-every=1.5",
        "--burst-size=40",
        "--ntp-every=0.5",
        "--upload-every=0.4",
        "--change-every=2",
        f"--duration={duration}",
        *extra,
    ]
    result = run_command(args, timeout=duration + 30)
    lines = [json.loads(raw) for raw in result.stdout.splitlines()]
    assert all(len(raw.encode()) < 16384 for raw in result.stdout.splitlines())
    return result.returncode, lines


def summary(lines: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = [line for line in lines if line["event"] == "simulate.summary"]
    return found


def secrets_in(config: str) -> list[str]:
    """The secret values a redacting uploader must never print."""
    patterns = (
        r"community (\S+)",
        r" key 7 (\S+)",
        r"password 7 (\S+)",
        r"secret 9 (\S+)",
        r"authentication-key \d+ md5 (\S+)",
    )
    return [m for p in patterns for m in re.findall(p, config)]


def test_simulated_router_against_all(tmp_path: Path, upstream: Chronyd) -> None:
    with start_all(tmp_path, upstream) as suite:
        synchronised(suite)
        code, lines = simulate(suite)
        counts = summary(lines)
        assert code == 0 and counts["worked"] is True, counts
        assert counts["syslog_sent"] >= 150 and counts["syslog_errors"] == 0, counts
        assert counts["bursts"] >= 2
        assert counts["ntp_ok"] >= 5 and counts["ntp_failed"] == 0, counts
        assert counts["uploads_ok"] >= 6 and counts["uploads_failed"] == 0, counts

        # the daemons' side of the story: every line the router sent was emitted once
        def from_router(d: dict[str, Any]) -> bool:
            return d["event"] == "syslog" and d.get("hostname") == ROUTER

        seen = suite.wait_count(from_router, counts["syslog_sent"], timeout=10)
        assert seen == counts["syslog_sent"]
        formats = {d["format"] for d in suite.lines() if from_router(d)}
        # IOS lines, and RFC 5424 with Junos structured data (recognised as "junos")
        assert {"cisco", "junos"} <= formats, formats
        received = suite.wait_count(
            lambda d: d["event"] == "config.received" and d["router"] == ROUTER,
            counts["uploads_ok"],
            timeout=10,
        )
        assert received == counts["uploads_ok"]
        events = {d["event"] for d in suite.lines()}
        # revision 0 is the desired config; the operator's later changes are drift
        assert {"config.changed", "config.unchanged", "config.drift"} <= events, events
        # judged by the shipped PCI rules: compliant at first, then the rotated SNMP community
        # is the one feature that drifts
        verdicts = [
            (d["percent"], [f["name"] for f in d["features"] if not f["compliant"]])
            for d in suite.lines()
            if d["event"] == "config.compliance" and d["router"] == ROUTER
        ]
        assert verdicts[0] == (100.0, []), verdicts
        assert (87.5, ["snmp"]) in verdicts, verdicts

        # ... over TCP too (RFC 6587 octet counting)
        before = len([d for d in suite.lines() if from_router(d)])
        code, lines = simulate(
            suite,
            "--transport=tcp",
            f"--syslog={address(suite, 'syslog', 'tcp')}",  # the later flag wins
            "--ntp-every=0",
            "--upload-every=0",
            duration=1.5,
        )
        tcp = summary(lines)
        assert code == 0 and tcp["syslog_sent"] > 0 and tcp["syslog_errors"] == 0, tcp
        total = before + tcp["syslog_sent"]
        assert suite.wait_count(from_router, total, timeout=10) == total
        assert any(d["transport"] == "tcp" for d in suite.lines() if from_router(d))

        time.sleep(1.2)  # one more metrics line from each service
        assert suite.stop() == 0
        output = suite.lines()

    # every metric filter of the CloudFormation template matches lines the daemons emit
    for f in metric_filters():
        matching = [
            d
            for d in output
            if d.get("event") == f.event and (f.service is None or d.get("service") == f.service)
        ]
        assert matching, f"no {f.event} line{f' from {f.service}' if f.service else ''}"
        for field in f.fields:
            assert any(field in d for d in matching), f"{f.metric}: no line has {field!r}"

    # no secret from the router's config reaches stdout, the simulator's or the suite's
    everything = json.dumps(output) + json.dumps(lines)
    revisions = counts["uploads_ok"] // 2 + 1
    configs = [router_config(ROUTER, r, 0.0, "a:514", "b:123") for r in range(revisions)]
    secrets = {secret for config in configs for secret in secrets_in(config)}
    assert len(secrets) > 5, "the community is rotated: its old and new values are in diffs"
    assert "snmp-server community" in json.dumps(output), "the rotation shows in a diff"
    for secret in secrets:
        assert secret not in everything, "a router secret reached stdout"


def test_simulator_says_when_nothing_worked() -> None:
    # ports that were free a moment ago: nothing listens there
    syslog_port, ntp_port, http_port = free_udp_port(), free_udp_port(), free_tcp_port()
    result = run_command(
        [
            "simulate-router",
            f"--syslog=127.0.0.1:{syslog_port}",
            f"--ntp=127.0.0.1:{ntp_port}",
            f"--config-url=http://127.0.0.1:{http_port}/upload/x",
            "--rate=20",
            "--ntp-every=0.3",
            "--upload-every=0.3",
            "--timeout=0.3",
            "--duration=1",
        ],
        timeout=30,
    )
    assert result.returncode == 1, result.stderr
    counts = summary([json.loads(raw) for raw in result.stdout.splitlines()])
    assert counts["worked"] is False
    assert counts["ntp_ok"] == 0 and counts["ntp_failed"] >= 1
    assert counts["uploads_ok"] == 0 and counts["uploads_failed"] >= 1
    # loopback answers with ICMP port unreachable: the router notices
    assert counts["syslog_errors"] >= 1


def test_simulator_rejects_a_bad_option_in_one_line() -> None:
    result = run_command(["simulate-router", "--syslog", "nowhere"], timeout=30)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--syslog" in result.stderr, result.stderr
    result = run_command(["simulate-router"], env={"EDGE_BRIDGE_RATE": "-1"}, timeout=30)
    assert result.returncode == 2 and "EDGE_BRIDGE_RATE" in result.stderr


def test_simulator_speaks_only_the_wire_protocols() -> None:
    """It is a router: it must work against any deployment, so it loads no daemon code."""
    code = (
        "import sys, bridge.simulate; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'syslog_receiver', 'ntp_proxy', 'config_uploader'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.strip() == "[]"
