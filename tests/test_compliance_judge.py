"""The verdict events of one upload from the texts the pipeline holds: unsaved with its grace
period, compliance with its remediation, and the fleet summary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import orjson

from config_uploader import diff as diffing
from config_uploader.compliance.judge import Judge, Version, fleet_summary
from config_uploader.compliance.rules import load_rules
from config_uploader.compliance.saved import UNKNOWN
from config_uploader.normalise import normalise
from config_uploader.redact import redact_lines

DATA = Path(__file__).parent / "data" / "configs"
PCI = load_rules(str(Path(__file__).parent.parent / "deploy" / "compliance" / "pci.yaml"))
CISCO = normalise((DATA / "cisco-ios" / "rtr1-confg").read_text(), "cisco-ios")
SECRETS = json.loads((DATA / "secrets.json").read_text())["cisco-ios/rtr1-confg"]


def redact(lines: Sequence[str], vendor: str) -> list[str]:
    return redact_lines(list(lines), vendor)  # type: ignore[arg-type]


def version(id: str, text: str) -> Version:
    return Version(id, diffing.Text(text))


def test_saved_unsaved_and_the_grace_period() -> None:
    judge = Judge(PCI, redact, unsaved_grace=3600.0)
    first, state = judge.saved("r1", "cisco-ios", UNKNOWN, version("00000001", CISCO), None, 0.0)
    assert first.events == [] and state.state == "unknown"
    same, state = judge.saved(
        "r1", "cisco-ios", state, version("00000001", CISCO), version("00000001", CISCO), 10.0
    )
    assert [e.name for e in same.events] == ["config.saved"]
    assert same.metrics[0].values == {"unsaved": 0.0}
    changed = CISCO.replace("ntp server 10.255.0.123 key 1 prefer", "ntp server 10.9.9.9")
    unsaved, state = judge.saved(
        "r1", "cisco-ios", state, version("00000002", changed), version("00000001", CISCO), 100.0
    )
    (event,) = unsaved.events
    assert (event.name, event.level, event.fields["since"], event.fields["overdue"]) == (
        "config.unsaved",
        "warning",
        100.0,
        False,
    )
    assert event.diff is not None and "+ntp server 10.9.9.9" in event.diff
    assert "-ntp server 10.255.0.123 key 1 prefer" in event.diff
    assert unsaved.metrics[0].values == {"unsaved": 0.0}
    later, state = judge.saved(
        "r1", "cisco-ios", state, version("00000002", changed), version("00000001", CISCO), 3700.0
    )
    assert later.events[0].fields["overdue"] is True and later.metrics[0].values == {"unsaved": 1.0}
    assert later.state == {
        "state": "unsaved",
        "running": "00000002",
        "startup": "00000001",
        "since": 100.0,
    }


def test_unsaved_diff_is_redacted() -> None:
    judge = Judge(None, redact)
    changed = CISCO.replace(
        "snmp-server community SnmpRoDc1x RO", "snmp-server community NewRoDc1x RO"
    )
    judged, _ = judge.saved(
        "r1", "cisco-ios", UNKNOWN, version("2", changed), version("1", CISCO), 0.0
    )
    diff = judged.events[0].diff or ""
    assert "snmp-server community <redacted> RO" in diff
    assert "NewRoDc1x" not in diff and "SnmpRoDc1x" not in diff


def test_compliance_event_metric_and_state() -> None:
    judge = Judge(PCI, redact)
    telnet = CISCO.replace("transport input ssh", "transport input ssh telnet")
    judged = judge.compliance("r1", "00000003", "cisco-ios", "/desired/r1.cfg", CISCO, telnet)
    (event,) = judged.events
    assert (event.name, event.level) == ("config.compliance", "warning")
    fields = event.fields
    assert fields["percent"] == 87.5 and fields["rules"].endswith("pci.yaml")
    assert fields["remediation"] == {
        "engine": "hier_config",
        "platform": "cisco_ios",
        "commands": 6,
    }
    ssh = next(f for f in fields["features"] if f["name"] == "ssh")
    assert ssh["extra"] == [
        "line vty 0 4",
        " transport input ssh telnet",
        "line vty 5 15",
        " transport input ssh telnet",
    ]
    assert judged.metrics[0].values == {"compliance": 87.5}
    assert judged.state is not None and judged.state["features"]["ssh"] is False
    assert len(orjson.dumps(fields)) < 16 * 1024
    clean = judge.compliance("r1", "00000004", "cisco-ios", "/d", CISCO, CISCO)
    assert clean.events[0].level == "info" and "remediation" not in clean.events[0].fields
    assert Judge(None, redact).compliance("r1", "1", "cisco-ios", "/d", CISCO, CISCO).events == []
    assert judge.compliance("r1", "1", "unknown", "/d", CISCO, CISCO).events == []


def test_remediation_answer_redacted_unless_asked() -> None:
    judge = Judge(PCI, redact)
    actual = CISCO.replace("ntp authentication-key 1 md5 104D000A0618Dc1 7\n", "")
    shown = judge.remediation_answer("cisco-ios", CISCO, actual, redacted=True)
    assert shown["features"] == ["ntp-auth"]
    assert shown["commands"] == ["ntp authentication-key 1 md5 <redacted> 7"]
    raw = judge.remediation_answer("cisco-ios", CISCO, actual, redacted=False)
    assert raw["commands"] == ["ntp authentication-key 1 md5 104D000A0618Dc1 7"]
    text = orjson.dumps(shown).decode()
    assert not [s for s in SECRETS if s in text]
    whole = Judge(None, redact).remediation_answer("cisco-ios", CISCO, actual, redacted=True)
    assert whole["features"] is None and whole["commands"] == shown["commands"]


def test_fleet_summary() -> None:
    states = [
        {"router": "a", "compliance": {"percent": 100.0, "features": {"ssh": True, "ntp": True}}},
        {
            "router": "b",
            "compliance": {"percent": 50.0, "features": {"ssh": False, "ntp": True}},
            "saved": {"state": "unsaved", "running": "2", "startup": "1", "since": 0.0},
        },
        {"router": "c", "saved": {"state": "saved", "running": "1", "startup": "1"}},
    ]
    summary = fleet_summary(states, now=7200.0, grace=3600.0, stale=["c"])
    assert summary["routers"] == 3
    assert summary["features"] == {
        "ntp": {"compliant": 2, "routers": 2, "share": 1.0},
        "ssh": {"compliant": 1, "routers": 2, "share": 0.5},
    }
    assert summary["non_compliant"] == [{"router": "b", "percent": 50.0, "failing": ["ssh"]}]
    assert summary["unsaved"] == [{"router": "b", "since": 0.0, "overdue": True}]
    assert summary["stale"] == ["c"]


def test_negated_commands_are_redacted_as_the_lines_they_name() -> None:
    judge = Judge(None, redact)
    commands = [
        "no snmp-server community SnmpRoDc1x RO",
        "line vty 0 4",
        "  no password 7 104D000A0618VtyDc1",
        "# remove: snmp-server community SnmpRwDc1x RW SNMP-RO",
        "snmp-server community public RO",
    ]
    assert judge.redact_commands(commands, "cisco-ios") == [
        "no snmp-server community <redacted> RO",
        "line vty 0 4",
        "  no password 7 <redacted>",
        "# remove: snmp-server community <redacted> RW SNMP-RO",
        "snmp-server community <redacted> RO",
    ]
    junos = ['delete system ntp authentication-key 1 value "$9$NtpKeyValueMx1.cX2"']
    (shown,) = judge.redact_commands(junos, "junos")
    assert shown.startswith("delete system ntp authentication-key 1 value ")
    assert "NtpKeyValueMx1" not in shown
