"""Running vs startup, per-feature compliance and remediation through ``edge-bridge config``
as a real process: real-looking Cisco, Junos and Yamaha configs uploaded over HTTP (aiohttp
and curl), verdicts read from its stdout and its read API."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bridge.output import MAX_LINE_BYTES
from tests.config_daemons import DATA, ConfigDaemons, url
from tests.procs import Daemon

CISCO = (DATA / "cisco-ios" / "rtr1-confg").read_text()
JUNOS = (DATA / "junos" / "mx1.set").read_text()
YAMAHA = (DATA / "yamaha" / "rtx1210.txt").read_text()
SECRETS = [
    secret
    for name, values in json.loads((DATA / "secrets.json").read_text()).items()
    if not name.startswith("_")
    for secret in values
]

RULES = """
vendors:
  cisco-ios:
    - name: logging
      lines: ["logging host "]
      required: true
    - name: ntp
      lines: ["ntp server ", "ntp authenticate", "ntp trusted-key ", "ntp authentication-key "]
      required: true
    - name: snmp
      lines: ["snmp-server community "]
      forbid: ['^snmp-server community (?:public|private)\\b']
    - name: ssh
      lines: ["ip ssh version ", ["line vty ", "transport input "]]
      forbid: ['^transport input .*\\btelnet\\b']
  junos:
    - name: ntp
      lines: ["set system ntp "]
    - name: ssh
      lines: ["set system services "]
      forbid: ['^set system services telnet\\b']
  yamaha:
    - name: logging
      lines: ["syslog host "]
    - name: ssh
      lines: ["sshd ", "telnetd "]
    - name: idle-timeout
      lines: ["login timer "]
"""

Start = ConfigDaemons


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    desired = tmp_path / "desired"
    desired.mkdir()
    (desired / "dc1-rtr1.cfg").write_text(CISCO)
    (desired / "dc1-mx1.conf").write_text(JUNOS)
    (desired / "tokyo-edge1.txt").write_text(YAMAHA)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    daemons = ConfigDaemons(tmp_path, f"--desired={desired}", f"--compliance={rules}")
    yield daemons
    daemons.close()


async def upload_ok(session: aiohttp.ClientSession, target: str, body: str) -> dict[str, Any]:
    async with session.put(target, data=body.encode()) as response:
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer


async def get(session: aiohttp.ClientSession, target: str) -> tuple[int, Any]:
    async with session.get(target) as response:
        return response.status, await response.json()


def last(daemon: Daemon, event: str, router: str, n: int = 0) -> dict[str, Any]:
    return daemon.wait_for(lambda d: d.get("event") == event and d.get("router") == router, nth=n)


def assert_clean(daemon: Daemon) -> None:
    """No secret on stdout and no line reaching 16 KiB."""
    raw = [json.dumps(line) for line in daemon.lines()]
    assert all(len(line.encode()) <= MAX_LINE_BYTES for line in raw)
    everything = "\n".join(raw)
    assert not [secret for secret in SECRETS if secret in everything]


async def test_cisco_running_startup_compliance_and_remediation(start: Start) -> None:
    daemon = start("--unsaved-grace=3600")
    drifted = (
        CISCO.replace("logging host 10.255.0.10\n", "")
        .replace("snmp-server location", "snmp-server community public RO\nsnmp-server location")
        .replace(
            " transport input ssh\nline vty 5 15", " transport input ssh telnet\nline vty 5 15"
        )
    )
    async with aiohttp.ClientSession() as session:
        # the running config, drifted in three features
        answer = await upload_ok(session, url(daemon, "/upload/dc1-rtr1-config"), drifted)
        assert (answer["router"], answer["drift"]) == ("dc1-rtr1", True)
        verdict = last(daemon, "config.compliance", "dc1-rtr1")
        assert (verdict["level"], verdict["version"], verdict["percent"]) == (
            "warning",
            "00000001",
            25.0,
        )
        features = {f["name"]: f for f in verdict["features"]}
        assert features["ntp"]["compliant"] is True
        assert features["logging"]["missing"] == ["logging host 10.255.0.10"]
        assert features["snmp"]["extra"] == ["snmp-server community <redacted> RO"]
        assert features["ssh"]["extra"] == ["line vty 0 4", " transport input ssh telnet"]
        assert features["ssh"]["missing"] == ["line vty 0 4", " transport input ssh"]
        assert verdict["remediation"]["engine"] == "hier_config"
        metric = last(daemon, "config.compliance_metric", "dc1-rtr1")
        assert metric["compliance"] == 25.0 and metric["_aws"]["CloudWatchMetrics"]
        assert not daemon.events("config.saved") and not daemon.events("config.unsaved")

        status, fix = await get(session, url(daemon, "/routers/dc1-rtr1/remediation"))
        assert status == 200
        assert (fix["engine"], fix["platform"], fix["redacted"]) == (
            "hier_config",
            "cisco_ios",
            True,
        )
        assert fix["features"] == ["logging", "snmp", "ssh"]
        commands = fix["commands"]
        assert "logging host 10.255.0.10" in commands
        assert "no snmp-server community <redacted> RO" in commands
        vty = commands.index("line vty 0 4")
        assert [c.strip() for c in commands[vty + 1 : vty + 3]] == [
            "no transport input ssh telnet",
            "transport input ssh",
        ]
        status, _ = await get(session, url(daemon, "/routers/dc1-rtr1/remediation?redacted=0"))
        assert status == 403  # no --allow-unredacted

        # the startup config, as `copy startup-config http://...` names it: still the desired one
        answer = await upload_ok(session, url(daemon, "/upload/dc1-rtr1-startup-config"), CISCO)
        assert answer["router"] == "dc1-rtr1" and answer["version"] == "00000001"
        unsaved = last(daemon, "config.unsaved", "dc1-rtr1")
        assert (unsaved["running"], unsaved["startup"], unsaved["overdue"]) == (
            "00000001",
            "00000001",
            False,
        )
        assert "+snmp-server community <redacted> RO" in unsaved["diff"]
        assert "-logging host 10.255.0.10" in unsaved["diff"]
        assert last(daemon, "config.unsaved_metric", "dc1-rtr1")["unsaved"] == 0  # within grace
        received = daemon.wait_for(lambda d: d.get("event") == "config.received", nth=1)
        assert received["kind"] == "startup"
        assert len(daemon.events("config.compliance")) == 1  # startup configs are not judged

        status, router = await get(session, url(daemon, "/routers/dc1-rtr1"))
        assert status == 200
        assert router["saved"]["state"] == "unsaved" and router["saved"]["overdue"] is False
        assert router["compliance"]["percent"] == 25.0 and router["startup_versions"] == 1
        assert router["compliance"]["features"] == {
            "logging": False,
            "ntp": True,
            "snmp": False,
            "ssh": False,
        }

        # the operator fixes the router and saves: running and startup agree again
        await upload_ok(session, url(daemon, "/upload/dc1-rtr1-config"), CISCO)
        assert last(daemon, "config.saved", "dc1-rtr1")["running"] == "00000002"
        assert last(daemon, "config.compliance", "dc1-rtr1", 1)["percent"] == 100.0
        status, fix = await get(session, url(daemon, "/routers/dc1-rtr1/remediation"))
        assert fix["commands"] == [] and fix["features"] == []

        status, versions = await get(
            session, url(daemon, "/routers/dc1-rtr1/versions?kind=startup")
        )
        assert (versions["kind"], versions["count"], versions["router"]) == (
            "startup",
            1,
            "dc1-rtr1",
        )
        status, _ = await get(session, url(daemon, "/routers/dc1-rtr1/versions?kind=saved"))
        assert status == 400
        status, routers = await get(session, url(daemon, "/routers"))
        assert [r["router"] for r in routers["routers"]] == ["dc1-rtr1"]  # no startup key shown
        status, fleet = await get(session, url(daemon, "/compliance"))
        assert fleet["routers"] == 1 and fleet["unsaved"] == [] and fleet["stale"] == []
        assert fleet["features"]["ssh"] == {"compliant": 1, "routers": 1, "share": 1.0}
    assert daemon.stop() == 0
    assert_clean(daemon)


async def test_junos_commit_is_both_and_hier_config_in_set_form(start: Start) -> None:
    daemon = start()
    drifted = JUNOS.replace(
        "set system services ssh protocol-version v2",
        "set system services ssh protocol-version v2\nset system services telnet",
    )
    async with aiohttp.ClientSession() as session:
        await upload_ok(
            session, url(daemon, "/upload/dc1-mx1_juniper.conf_20261130_163523"), drifted
        )
        saved = last(daemon, "config.saved", "dc1-mx1")
        assert saved["running"] == saved["startup"] == "00000001"
        verdict = last(daemon, "config.compliance", "dc1-mx1")
        features = {f["name"]: f for f in verdict["features"]}
        assert features["ssh"]["extra"] == ["set system services telnet"]
        assert features["ntp"]["compliant"] is True and verdict["percent"] == 50.0
        status, fix = await get(session, url(daemon, "/routers/dc1-mx1/remediation"))
        assert status == 200
        assert (fix["engine"], fix["platform"]) == ("hier_config", "juniper_junos")
        assert fix["commands"] == ["delete system services telnet"]
    assert daemon.stop() == 0
    assert_clean(daemon)


def curl_multipart(target: str, body: str, filename: str, *fields: str) -> dict[str, Any]:
    form = [arg for field in fields for arg in ("-F", field)]
    done = subprocess.run(
        ["curl", "-sS", "--max-time", "20", "-F", f"file=@-;filename={filename}", *form, target],
        input=body.encode(),
        capture_output=True,
        check=True,
        timeout=30,
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


async def test_yamaha_by_curl_with_the_line_set_fallback(start: Start) -> None:
    daemon = start("--unsaved-grace=0", "--metrics-interval=0.5")
    drifted = YAMAHA.replace("login timer 3600", "login timer clear").replace(
        "sshd service on", "sshd service on\ntelnetd service on"
    )
    target = url(daemon, "/upload/tokyo-edge1/")
    answer = curl_multipart(target, drifted, "261130120000.txt")
    assert answer["router"] == "tokyo-edge1"
    verdict = last(daemon, "config.compliance", "tokyo-edge1")
    features = {f["name"]: f for f in verdict["features"]}
    assert features["idle-timeout"]["missing"] == ["login timer 3600"]
    assert features["ssh"]["extra"] == ["telnetd service on"]
    assert features["logging"]["compliant"] is True
    assert verdict["remediation"] == {"engine": "lines", "platform": None, "commands": 3}
    # the saved config, said by a multipart field: differs, and the grace period is zero
    curl_multipart(target, YAMAHA, "261130120500.txt", "kind=startup")
    unsaved = last(daemon, "config.unsaved", "tokyo-edge1")
    assert unsaved["overdue"] is True
    assert last(daemon, "config.unsaved_metric", "tokyo-edge1")["unsaved"] == 1
    fleet = daemon.wait_for(
        lambda d: d.get("event") == "config.unsaved_metric" and d.get("unsaved_routers") == 1
    )
    assert fleet["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[]]
    async with aiohttp.ClientSession() as session:
        status, fix = await get(session, url(daemon, "/routers/tokyo-edge1/remediation"))
        assert (fix["engine"], fix["platform"]) == ("lines", None)
        assert fix["commands"] == [
            "no login timer clear",
            "no telnetd service on",
            "login timer 3600",
        ]
        status, fleet_now = await get(session, url(daemon, "/compliance"))
        assert status == 200
        assert [u["router"] for u in fleet_now["unsaved"]] == ["tokyo-edge1"]
        assert fleet_now["non_compliant"] == [
            {"router": "tokyo-edge1", "percent": 33.3, "failing": ["idle-timeout", "ssh"]}
        ]
    assert daemon.stop() == 0
    assert_clean(daemon)


async def test_a_bad_kind_is_refused_and_counted(start: Start) -> None:
    daemon = start()
    async with aiohttp.ClientSession() as session:
        async with session.put(url(daemon, "/upload/dc1-rtr1-config?kind=saved"), data=CISCO) as r:
            assert r.status == 400
            assert "running or startup" in (await r.json())["error"]
        async with session.get(url(daemon, "/healthz")) as r:
            assert (await r.json())["counters"]["rejected_kind"] == 1
    assert daemon.stop() == 0
    assert daemon.events("config.rejected")[0]["reason"] == "kind"


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("vendors: [", "invalid YAML"),
        ("vendors:\n  cisco: [{name: a, lines: [x]}]\n", "unknown vendor"),
        ("vendors:\n  junos: [{name: a, regex: ['(']}]\n", "bad regular expression"),
    ],
)
def test_a_bad_rules_file_stops_the_daemon(tmp_path: Path, rules: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(rules)
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "config", f"--compliance={path}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "--compliance" in line and message in line and str(path) in line
    assert done.stdout == ""


async def test_compliance_calls_a_router_stale_after_the_daemons_stale_after(start: Start) -> None:
    """``GET /compliance`` and ``GET /routers`` use ``--stale-after``, as ``config.stale`` does."""
    daemon = start("--stale-after=2s", "--metrics-interval=0.5")
    async with aiohttp.ClientSession() as session:
        await upload_ok(session, url(daemon, "/upload/dc1-rtr1-config"), CISCO)
        status, fleet = await get(session, url(daemon, "/compliance"))
        assert (status, fleet["stale"]) == (200, [])
        status, router = await get(session, url(daemon, "/routers/dc1-rtr1"))
        assert (status, router["stale"]) == (200, False)
        daemon.wait_for(
            lambda d: d.get("event") == "config.stale" and d.get("router") == "dc1-rtr1",
            timeout=15,
        )
        status, fleet = await get(session, url(daemon, "/compliance"))
        assert (status, fleet["stale"]) == (200, ["dc1-rtr1"])
        status, routers = await get(session, url(daemon, "/routers"))
        assert [r["stale"] for r in routers["routers"] if r["router"] == "dc1-rtr1"] == [True]
    assert daemon.stop() == 0
