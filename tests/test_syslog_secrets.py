"""Secrets echoed in router logs never reach stdout: command echoes through the real receiver.

Routers log the commands operators type (Cisco ``archive log config`` with ``notify syslog``,
Junos ``UI_CMDLINE_READ_LINE`` and ``UI_CFGAUDIT_*``, ...). Each line here goes to a real
``edge-bridge syslog`` process over UDP, from a raw socket or util-linux ``logger``; the
secret it carries must be absent from every stdout line, and the line says ``redacted``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from tests.peers import peer
from tests.procs import Daemon

LOCAL = ["--udp", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--health", "127.0.0.1:0"]

# (datagram with {m} for a marker, the secret in it)
ECHOES: list[tuple[str, str]] = [
    (
        "<189>123: dc2-edge1: *Dec  1 09:30:01.123: %PARSER-5-CFGLOG_LOGGEDCMD: User:netops "
        " logged command:snmp-server community CiscoEchoComm RO {m}",
        "CiscoEchoComm",
    ),
    (
        "<189>124: dc2-edge1: *Dec  1 09:30:02.123: %PARSER-5-CFGLOG_LOGGEDCMD: User:netops "
        " logged command:snmp-server host 10.0.0.9 version 2c CiscoEchoTrap {m}",
        "CiscoEchoTrap",
    ),
    (
        "<189>125: dc2-edge1: *Dec  1 09:30:03.123: %PARSER-5-CFGLOG_LOGGEDCMD: User:netops "
        " logged command:username bob privilege 15 secret 0 CiscoEchoPw {m}",
        "CiscoEchoPw",
    ),
    (
        "<189>126: dc2-leaf1: 2026 Dec  1 09:30:04 UTC: %PARSER-5-CFGLOG_LOGGEDCMD: "
        "logged command:snmp-server user u network-admin auth md5 NxEchoAuth priv NxEchoPriv {m}",
        "NxEchoPriv",
    ),
    (
        "<189>Dec  1 09:30:05 dc2-srx1 mgd[5521]: UI_CMDLINE_READ_LINE: User 'netops', "
        "command 'set snmp community JunosEchoComm authorization read-only {m}'",
        "JunosEchoComm",
    ),
    (
        "<189>Dec  1 09:30:06 dc2-srx1 mgd[5521]: UI_CFGAUDIT_SET: User 'netops' set: "
        '[system radius-server 10.0.0.1 secret] "<unconfigured>" -> "$9$JunosAuditSecret" {m}',
        "JunosAuditSecret",
    ),
    (
        "<189>1 2026-12-01T09:30:07.123Z dc2-mx1 mgd 5521 UI_CMDLINE_READ_LINE "
        '[junos@2636.1.1.1.2.29 username="netops" command="set system tacplus-server 10.0.0.1 '
        'secret JunosSdSecret"] User netops, command {m}',
        "JunosSdSecret",
    ),
    (
        '<189>date=2026-12-01 time=09:30:08 devname="dc2-fgt1" logid="0100044547" type="event" '
        'subtype="system" action="Edit" cfgpath="vpn.ipsec.phase1-interface" '
        'cfgattr="psksecret[ENC FgtEchoPskEnc==]" msg="Edit aws {m}"',
        "FgtEchoPskEnc",
    ),
    (
        "<190>Dec  1 09:30:09 dc2-vyos2 vyos-configd: set vpn ipsec authentication psk AWS "
        "secret 'VyosEchoPsk' {m}",
        "VyosEchoPsk",
    ),
    (
        "<190>Dec  1 09:30:10 dc2-hex1 system,info ppp secret <remote1> changed by admin: "
        'password="RosEchoPw" {m}',
        "RosEchoPw",
    ),
    (
        "<190>Dec  1 09:30:11 dc2-edge1 archive: copied to scp://bk:UrlEchoPw@10.0.0.80/x {m}",
        "UrlEchoPw",
    ),
]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Daemon]:
    with Daemon.start(["syslog", *LOCAL]) as daemon:
        yield daemon


def marker() -> str:
    return "m" + uuid.uuid4().hex[:12]


def lines_with(daemon: Daemon, text: str) -> list[dict[str, object]]:
    def match(line: dict[str, object]) -> bool:
        return line.get("event") == "syslog" and text in json.dumps(line)

    assert daemon.wait_count(match, 1, 10.0) >= 1, daemon.stderr[-800:]
    return [line for line in daemon.lines() if match(line)]


def test_secrets_in_command_echoes_are_redacted(receiver: Daemon) -> None:
    host, port = receiver.address("syslog", "udp")
    sent: list[tuple[str, str]] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for template, secret in ECHOES:
            text = marker()
            sock.sendto(template.format(m=text).encode(), (host, port))
            sent.append((text, secret))
        plain = marker()
        sock.sendto(f"<189>Dec  1 09:31:00 r1 sshd[1]: Accepted password for {plain}".encode(),
                    (host, port))  # fmt: skip
    for text, secret in sent:
        [line] = lines_with(receiver, text)
        assert secret not in json.dumps(line), line
        assert line["redacted"] is True, line
    [line] = lines_with(receiver, plain)
    assert "redacted" not in line
    assert line["message"] == f"Accepted password for {plain}"


def test_secrets_sent_by_logger_are_redacted_in_message_and_structured_data(
    receiver: Daemon,
) -> None:
    _, port = receiver.address("syslog", "udp")
    text = marker()
    logger = peer("logger", "bsdutils")
    subprocess.run(
        [logger, "-n", "127.0.0.1", "-P", str(port), "-d", "--rfc5424", "-t", "mgd",
         "--sd-id", "junos@2636", "--sd-param", 'command="set snmp community LoggerSdComm"',
         "--sd-param", 'password="LoggerSdPw"',
         f"UI_CMDLINE_READ_LINE: command 'set system login user x authentication "
         f"encrypted-password $6$salt$LoggerHash' {text}"],
        check=True, timeout=10, capture_output=True,
    )  # fmt: skip
    [line] = lines_with(receiver, text)
    dumped = json.dumps(line)
    for secret in ("LoggerSdComm", "LoggerSdPw", "LoggerHash"):
        assert secret not in dumped, line
    assert line["structured_data"]["junos@2636"] == {
        "command": "set snmp community <redacted>",
        "password": "<redacted>",
    }
