"""Remediation: hier-config for the platforms it knows, a plain line set for the others."""

from __future__ import annotations

from pathlib import Path

from config_uploader.compliance.remediate import remediation
from config_uploader.compliance.tree import lines_of
from config_uploader.normalise import normalise

DATA = Path(__file__).parent / "data" / "configs"


def fix(vendor: str, desired: str, actual: str) -> tuple[str, str | None, list[str]]:
    found = remediation(vendor, lines_of(desired, vendor), lines_of(actual, vendor))
    return found.engine, found.platform, list(found.commands)


def test_cisco_by_hier_config() -> None:
    desired = normalise((DATA / "cisco-ios" / "rtr1-confg").read_text(), "cisco-ios")
    actual = (
        desired.replace("logging host 10.255.0.10\n", "")
        .replace(
            "line vty 5 15\n access-class VTY-IN in\n transport input ssh",
            "line vty 5 15\n access-class VTY-IN in\n transport input ssh telnet",
        )
        .replace("snmp-server location", "snmp-server community public RO\nsnmp-server location")
    )
    engine, platform, commands = fix("cisco-ios", desired, actual)
    assert (engine, platform) == ("hier_config", "cisco_ios")
    assert "no snmp-server community public RO" in commands
    assert "logging host 10.255.0.10" in commands
    vty = commands.index("line vty 5 15")
    assert [c.strip() for c in commands[vty + 1 : vty + 3]] == [
        "no transport input ssh telnet",
        "transport input ssh",
    ]
    assert fix("cisco-ios", desired, desired)[2] == []


def test_junos_by_hier_config_in_set_form() -> None:
    desired = (
        "set system ntp server 10.255.0.123 key 1\nset system syslog host 10.255.0.10 any notice\n"
    )
    actual = "set system ntp server 10.0.0.9\nset system syslog host 10.255.0.10 any notice\n"
    engine, platform, commands = fix("junos", desired, actual)
    assert (engine, platform) == ("hier_config", "juniper_junos")
    assert commands == [
        "delete system ntp server 10.0.0.9",
        "set system ntp server 10.255.0.123 key 1",
    ]


def test_eos_by_hier_config() -> None:
    desired = "management ssh\n   idle-timeout 15\nntp authenticate\n"
    actual = "management ssh\n   idle-timeout 0\n"
    engine, platform, commands = fix("eos", desired, actual)
    assert (engine, platform) == ("hier_config", "arista_eos")
    # EOS replaces a single-valued setting in place: no negation first.
    assert commands == ["management ssh", "  idle-timeout 15", "ntp authenticate"]


def test_yamaha_by_line_set_with_no() -> None:
    desired = normalise((DATA / "yamaha" / "rtx1210.txt").read_text(), "yamaha")
    actual = desired.replace("login timer 3600\n", "login timer clear\n").replace(
        " pp auth accept pap chap\n", " pp auth accept pap\n"
    )
    engine, platform, commands = fix("yamaha", desired, actual)
    assert (engine, platform) == ("lines", None)
    assert commands == [
        "no login timer clear",
        "pp select 1",
        " no pp auth accept pap",
        "login timer 3600",
        "pp select 1",
        " pp auth accept pap chap",
    ]


def test_routeros_by_line_set_with_remove_notes() -> None:
    desired = "/ip service\nset telnet disabled=yes\nset ssh port=22\n"
    actual = "/ip service\nset ssh port=22\nset www disabled=no\n"
    engine, _, commands = fix("routeros", desired, actual)
    assert engine == "lines"
    assert commands == [
        "/ip service",
        " # remove: set www disabled=no",
        "/ip service",
        " set telnet disabled=yes",
    ]


def test_a_removed_section_is_entered_not_negated() -> None:
    desired = "ip lan1 address 10.0.0.1/24\n"
    actual = "ip lan1 address 10.0.0.1/24\ntunnel select 3\n ipsec tunnel 103\n tunnel enable 3\n"
    _, _, commands = fix("yamaha", desired, actual)
    assert commands == ["tunnel select 3", " no ipsec tunnel 103", " no tunnel enable 3"]


def test_hier_config_failure_falls_back_to_lines() -> None:
    # Two identical section headers make hier-config refuse the text.
    actual = "line vty 0 4\n exec-timeout 0 0\nline vty 0 4\n exec-timeout 0 0\n"
    engine, _, commands = fix("cisco-ios", "line vty 0 4\n exec-timeout 15 0\n", actual)
    assert engine == "lines"
    assert " exec-timeout 15 0" in commands
