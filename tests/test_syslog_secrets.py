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
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.peers import peer
from tests.procs import Daemon, healthz

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
        '<189>date=2026-12-01 time=09:30:08 devname="dc2-fgt1" logid="0100044547" type="event" '
        'subtype="system" action="Edit" cfgpath="system.admin" cfgobj="ops" '
        'cfgattr="accprofile[super_admin]password[FgtEchoAdminPw]" msg="Edit ops {m}"',
        "FgtEchoAdminPw",
    ),
    (
        '<189>date=2026-12-01 time=09:30:08 devname="dc2-fgt1" logid="0100044547" type="event" '
        'subtype="system" action="Edit" cfgpath="vpn.ipsec.phase1-interface" '
        'cfgattr="psksecret[FgtEchoOldPsk->FgtEchoNewPsk]" msg="Edit aws {m}"',
        "FgtEchoOldPsk",
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
    # secrets spelled like the words around them: a type marker, a community that looks like one
    (
        "<189>127: dc2-acc1: %PARSER-5-CFGLOG_LOGGEDCMD: User:netops  logged command:snmpv3 "
        "user u auth sha auth-pass plaintext ASCII priv aes priv-pass plaintext Pp1 {m}",
        "ASCII",
    ),
    (
        "<189>128: dc2-edge1: %PARSER-5-CFGLOG_LOGGEDCMD: User:netops  logged command:"
        "snmp-server community SHA256 RO {m}",
        "SHA256",
    ),
    (
        "<189>Dec  1 09:30:12 dc2-srx1 mgd[5521]: UI_CMDLINE_READ_LINE: User 'netops', "
        "command 'set system tacplus-server 10.0.0.1 secret plaintext port 49 {m}'",
        "plaintext",
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


# PAN-OS CONFIG logs name what was set: a command typed in the CLI with its value, a change
# made in the web UI as the node before and after. Here (cmd, admin, client, result, path,
# before-change-detail, after-change-detail) of each, and the secret in it.
PANOS_CONFIG: list[tuple[str, str]] = [
    (
        "set,netops,CLI,Submitted,deviceconfig system snmp-setting access-setting version v2c "
        "snmp-community-string PanCliComm,,",
        "PanCliComm",
    ),
    (
        "set,netops,CLI,Submitted,network ike gateway aws-vgw-1 authentication pre-shared-key "
        "key PanCliPsk,,",
        "PanCliPsk",
    ),
    (
        "set,netops,CLI,Submitted,mgt-config users ops phash $5$pqrsbnvk$PanCliPhashZ4x9,,",
        "PanCliPhashZ4x9",
    ),
    # an English word: as the value of a typed command it is still the secret
    ("set,netops,CLI,Submitted,shared server-profile radius r server rad1 secret none,,", "none,"),
    (
        "edit,netops,Web,Submitted,deviceconfig system snmp-setting access-setting version v3 "
        "users netmon,netmon {    view all;    authpwd -AQ==PanWebAuthOld0=Q1w2e3r4==;    "
        "privpwd -AQ==PanWebPrivOld0=T5y6u7i8==;  } ,netmon {    view all;    authpwd "
        "-AQ==PanWebAuthNew0=O9p8i7u6==;    privpwd -AQ==PanWebPrivNew0=Y5t4r3e2==;  } ",
        "PanWeb",
    ),
    (
        "edit,netops,Web,Submitted,vsys  vsys1 global-protect  global-protect-portal  gp-portal "
        "client-config,,client-config {    agent-user-override-key PanGpOverride;    configs {"
        "      all-users {        agent-ui {          passcode PanGpPasscode;        }      }"
        "    }  } ",
        "PanGp",
    ),
    (
        "set,netops,Web,Submitted,shared server-profile http t format threat url-format "
        "/api/?type=user-id&key=LUFRPT1QYW5BcGlLZXk9PQ==,,",
        "LUFRPT1QYW5BcGlLZXk9PQ==",
    ),
    # an HTTP server profile's custom header: no keyword names its value
    (
        "set,netops,CLI,Submitted,shared server-profile http splunk-hec format system headers "
        'Authorization value "Splunk PanCliHecToken",,',
        "PanCliHecToken",
    ),
    (
        "edit,netops,Web,Submitted,shared server-profile http splunk-hec format system headers,"
        'Authorization {    value "Splunk PanWebHecOld";  } ,Authorization {    value "Splunk '
        'PanWebHecNew";  } ',
        "PanWebHec",
    ),
]


def panos_config_log(second: int, fields: str) -> str:
    """A PAN-OS CONFIG log (CSV, the default format of PAN-OS 10-11) holding ``fields``."""
    at = f"2026/12/01 09:40:{second:02d}"
    return (
        f"1,{at},013201012345,CONFIG,0,2561,{at},10.20.0.50,,{fields},73012345678901{second:04d},"
        f"0x0,0,0,0,0,,dc2-pa1,0,,0,2026-12-01T09:40:{second:02d}.123+00:00"
    )


# SYSTEM logs name users and addresses, never a secret: they pass untouched.
PANOS_SYSTEM = (
    "1,2026/12/01 09:41:00,013201012345,SYSTEM,auth,2561,2026/12/01 09:41:00,,auth-fail,,0,0,"
    "general,medium,\"failed authentication for user 'netops'. Reason: Invalid username/password."
    ' From: 10.20.0.50.",7301234567890124000,0x0,0,0,0,0,,dc2-pa1,0,0,'
    "2026-12-01T09:41:00.456+00:00"
)


def logged(receiver: Daemon, log: str, *options: str) -> str:
    """Send ``log`` and a fresh marker with util-linux logger over UDP; the marker."""
    _, port = receiver.address("syslog", "udp")
    text = marker()
    subprocess.run(
        [peer("logger", "bsdutils"), "-n", "127.0.0.1", "-P", str(port), "-d", *options,
         f"{log} {text}"],
        check=True, timeout=10, capture_output=True,
    )  # fmt: skip
    return text


def test_panos_config_logs_sent_by_logger_lose_their_secrets(receiver: Daemon) -> None:
    logs = [
        (panos_config_log(n, fields), secret) for n, (fields, secret) in enumerate(PANOS_CONFIG)
    ]
    sent = [
        (logged(receiver, log, "--rfc5424=notq", "-t", "dc2-pa1", "-p", "user.info"), secret)
        for log, secret in [*logs, (PANOS_SYSTEM, "")]
    ]
    for text, secret in sent:
        [line] = lines_with(receiver, text)
        if secret:
            assert secret not in json.dumps(line), line
            assert line["redacted"] is True, line
            assert ",CONFIG,0,2561," in str(line["message"])  # the rest of the log stays
        else:
            assert "redacted" not in line, line
            assert str(line["message"]).startswith("1,2026/12/01 09:41:00,013201012345,SYSTEM,")


# FortiOS logs a change as cfgattr="attr[old->new]" (docs.fortinet.com, log 44547); log tools
# also write the values apart, cfgattr=NAME cfgold=... cfgnew=... (tests/test_bridge_secrets.py
# says where each shape comes from). Sent as FortiGate sends them: key=value pairs after the
# header, here written by logger.
FORTIOS_APART = [
    (
        'date=2026-12-01 time=09:50:00 devname="dc2-fgt1" logid="0100044547" type="event" '
        'subtype="system" user="netops" action="Edit" cfgpath="system.admin" cfgobj="ops" '
        'cfgattr="password" cfgold="FgtLoggerOldPw" cfgnew="FgtLoggerNewPw" '
        'msg="Edit system.admin ops"',
        ["FgtLoggerOldPw", "FgtLoggerNewPw"],
    ),
    (
        "date=2026-12-01 time=09:50:01 devname=dc2-fgt1 logid=0100044546 type=event "
        "subtype=system cfgpath=vpn.ipsec.phase1-interface cfgattr=psksecret "
        "cfgold=FgtLoggerOldPsk cfgnew=FgtLoggerNewPsk",
        ["FgtLoggerOldPsk", "FgtLoggerNewPsk"],
    ),
]


def test_fortios_change_logs_sent_by_logger_lose_values_written_apart(receiver: Daemon) -> None:
    sent = [
        (logged(receiver, log, "--rfc3164", "-t", "dc2-fgt1", "-p", "local7.notice"), secrets)
        for log, secrets in FORTIOS_APART
    ]
    for text, secrets in sent:
        [line] = lines_with(receiver, text)
        dumped = json.dumps(line)
        assert [secret for secret in secrets if secret in dumped] == [], line
        assert line["redacted"] is True, line
        assert "cfgold=<redacted> cfgnew=<redacted>" in str(line["message"]), line


def test_a_datagram_too_long_to_redact_is_cut_at_its_first_trigger_word(receiver: Daemon) -> None:
    """A 60 KiB message dense with keywords (which the redactor would read for over 100 ms)
    is cut at its first trigger word instead: nothing after it reaches stdout, and the cut
    is counted."""
    host, port = receiver.address("syslog", "udp")
    text = marker()
    dense = "key SecretAfterCut " * 3200
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(f"<189>Dec  1 09:32:00 r1 app: {text} {dense}".encode(), (host, port))
    [line] = lines_with(receiver, text)
    assert line["message"] == f"{text} <redacted>", str(line)[:300]
    assert line["redacted"] is True
    assert "SecretAfterCut" not in json.dumps(line)
    _, health_port = receiver.address("syslog", "health")
    counters: dict[str, int] = {}
    for _ in range(50):
        counters = healthz(health_port)[1].get("counters", {})
        if counters.get("redaction_cut"):
            break
        time.sleep(0.1)
    assert counters.get("redaction_cut") == 1, counters
