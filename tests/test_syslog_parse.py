"""Table-driven tests of the syslog parser with real-world lines from each dialect."""

from __future__ import annotations

import calendar
import copy
import socket
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from syslog_receiver.parse import FIELDS, parse
from syslog_receiver.record import OPTIONAL_FIELDS
from tests.peers import peer


def at(iso: str) -> float:
    """Unix time of an ISO 8601 UTC string (the arrival time `now` of a case)."""
    return float(calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")))


NOW = at("2026-11-30T17:00:00Z")
JUNE = at("2026-06-01T00:00:00Z")


def rec(
    fmt: str,
    facility: int | None,
    severity: int | None,
    timestamp: str | None = None,
    hostname: str | None = None,
    app_name: str | None = None,
    procid: str | None = None,
    msgid: str | None = None,
    structured_data: dict[str, Any] | None = None,
    message: str = "",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "format": fmt,
        "facility": facility,
        "severity": severity,
        "timestamp": timestamp,
        "hostname": hostname,
        "app_name": app_name,
        "procid": procid,
        "msgid": msgid,
        "structured_data": structured_data,
        "message": message,
        **extra,
    }


def cisco(
    seq: int | None, fac: str, sev: int, mnem: str, clock: str | None = "synchronized"
) -> dict[str, Any]:
    return {"sequence": seq, "facility": fac, "severity": sev, "mnemonic": mnem, "clock": clock}


RFC5424_CASES = [
    (  # RFC 5424 example 1: BOM before MSG
        b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
        b"\xef\xbb\xbf'su root' failed for lonvick on /dev/pts/8",
        rec(
            "rfc5424",
            4,
            2,
            "2003-10-11T22:14:15.003Z",
            "mymachine.example.com",
            "su",
            None,
            "ID47",
            None,
            "'su root' failed for lonvick on /dev/pts/8",
        ),
    ),
    (  # RFC 5424 example 2: microseconds and a negative offset
        b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - "
        b"%% It's time to make the do-nuts.",
        rec(
            "rfc5424",
            20,
            5,
            "2003-08-24T12:14:15.000003Z",
            "192.0.2.1",
            "myproc",
            "8710",
            None,
            None,
            "%% It's time to make the do-nuts.",
        ),
    ),
    (  # RFC 5424 example 3: structured data and a BOM
        b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473"
        b' iut="3" eventSource="Application" eventID="1011"] \xef\xbb\xbfAn application event',
        rec(
            "rfc5424",
            20,
            5,
            "2003-10-11T22:14:15.003Z",
            "mymachine.example.com",
            "evntslog",
            None,
            "ID47",
            {"exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}},
            "An application event",
        ),
    ),
    (  # RFC 5424 example 4: two SD elements, no MSG
        b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473"
        b' iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]',
        rec(
            "rfc5424",
            20,
            5,
            "2003-10-11T22:14:15.003Z",
            "mymachine.example.com",
            "evntslog",
            None,
            "ID47",
            {
                "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"},
                "examplePriority@32473": {"class": "high"},
            },
            "",
        ),
    ),
    (  # every field NILVALUE
        b"<13>1 - - - - - -",
        rec("rfc5424", 1, 5),
    ),
    (  # escaped quote, backslash and bracket; other backslashes are kept
        b'<13>1 2026-11-30T16:35:23Z h a p m [x@1 a="q\\"uote" b="back\\\\slash" '
        b'c="br\\]acket" d="keep\\n"] m',
        rec(
            "rfc5424",
            1,
            5,
            "2026-11-30T16:35:23Z",
            "h",
            "a",
            "p",
            "m",
            {"x@1": {"a": 'q"uote', "b": "back\\slash", "c": "br]acket", "d": "keep\\n"}},
            "m",
        ),
    ),
    (  # a repeated parameter keeps every value
        b'<13>1 2026-11-30T16:35:23Z h a - - [x@1 k="1" k="2" k="3" j=""] m',
        rec(
            "rfc5424",
            1,
            5,
            "2026-11-30T16:35:23Z",
            "h",
            "a",
            None,
            None,
            {"x@1": {"k": ["1", "2", "3"], "j": ""}},
            "m",
        ),
    ),
    (  # a repeated SD-ID is merged; an element may have no params
        b'<13>1 2026-11-30T16:35:23Z h a - - [x@1 a="1"][y@1][x@1 b="2"] m',
        rec(
            "rfc5424",
            1,
            5,
            "2026-11-30T16:35:23Z",
            "h",
            "a",
            None,
            None,
            {"x@1": {"a": "1", "b": "2"}, "y@1": {}},
            "m",
        ),
    ),
    (  # unterminated SD: nothing lost, it stays in the message, and the record says so
        b'<13>1 2026-11-30T16:35:23Z h a - - [x@1 a="1" oops',
        rec(
            "rfc5424",
            1,
            5,
            "2026-11-30T16:35:23Z",
            "h",
            "a",
            None,
            None,
            None,
            '[x@1 a="1" oops',
            sd_malformed=True,
        ),
    ),
    (  # an offset that crosses midnight
        b"<14>1 2026-12-01T02:00:00+09:00 tokyo-rtr app - - - x",
        rec("rfc5424", 1, 6, "2026-11-30T17:00:00Z", "tokyo-rtr", "app", message="x"),
    ),
    (  # an offset that crosses the new year, fraction kept as given
        b"<14>1 2026-12-31T22:30:00.5-05:00 nyc-rtr app - - - x",
        rec("rfc5424", 1, 6, "2027-01-01T03:30:00.5Z", "nyc-rtr", "app", message="x"),
    ),
    (  # nanoseconds are cut to microseconds
        b"<14>1 2026-11-30T16:35:23.123456789Z h app - - - x",
        rec("rfc5424", 1, 6, "2026-11-30T16:35:23.123456Z", "h", "app", message="x"),
    ),
    (  # non-ASCII digits in the fraction: not a timestamp
        "<14>1 2026-11-30T16:35:23.٣Z h app - - - x".encode(),
        rec("rfc5424", 1, 6, None, "h", "app", message="x"),
    ),
    (  # no zone: taken as UTC
        b"<14>1 2026-11-30T16:35:23 h app - - - x",
        rec("rfc5424", 1, 6, "2026-11-30T16:35:23Z", "h", "app", message="x"),
    ),
    (  # impossible timestamp: None, the rest still read
        b"<14>1 2026-13-40T99:00:00Z h app 7 id - x",
        rec("rfc5424", 1, 6, None, "h", "app", "7", "id", message="x"),
    ),
    (  # invalid UTF-8 is replaced, trailing CR LF NUL stripped
        b"<14>1 - h app - - - caf\xc3 ok\r\n\x00",
        rec("rfc5424", 1, 6, None, "h", "app", message="caf\ufffd ok"),
    ),
    (  # what util-linux logger --rfc5424 sends
        b'<156>1 2026-11-30T16:42:25.115938+00:00 vm mytag 8217 ID47 [timeQuality tzKnown="1" '
        b'isSynced="0"][zoo@32473 tiger="hungry"] hello world',
        rec(
            "rfc5424",
            19,
            4,
            "2026-11-30T16:42:25.115938Z",
            "vm",
            "mytag",
            "8217",
            "ID47",
            {"timeQuality": {"tzKnown": "1", "isSynced": "0"}, "zoo@32473": {"tiger": "hungry"}},
            "hello world",
        ),
    ),
    (  # no STRUCTURED-DATA field at all: the rest is the message
        b"<13>1 2026-11-30T16:35:23Z host app 12 msgid text without sd",
        rec(
            "rfc5424",
            1,
            5,
            "2026-11-30T16:35:23Z",
            "host",
            "app",
            "12",
            "msgid",
            message="text without sd",
        ),
    ),
    (  # Junos structured-data format
        b"<165>1 2007-02-15T09:17:15.719Z router1 mgd 3046 UI_DBASE_LOGOUT_EVENT "
        b"[junos@2636.1.1.1.2.18 username=\"user\"] User 'user' exiting configuration mode",
        rec(
            "junos",
            20,
            5,
            "2007-02-15T09:17:15.719Z",
            "router1",
            "mgd",
            "3046",
            "UI_DBASE_LOGOUT_EVENT",
            {"junos@2636.1.1.1.2.18": {"username": "user"}},
            "User 'user' exiting configuration mode",
        ),
    ),
    (  # Junos SRX flow log: double spaces between params, no MSG
        b"<14>1 2014-05-01T08:26:51.179Z fw01 RT_FLOW - RT_FLOW_SESSION_DENY [junos@2636.1.1.1.2.39"
        b' source-address="1.2.3.4" source-port="56639"  destination-address="5.6.7.8"]',
        rec(
            "junos",
            1,
            6,
            "2014-05-01T08:26:51.179Z",
            "fw01",
            "RT_FLOW",
            None,
            "RT_FLOW_SESSION_DENY",
            {
                "junos@2636.1.1.1.2.39": {
                    "source-address": "1.2.3.4",
                    "source-port": "56639",
                    "destination-address": "5.6.7.8",
                }
            },
        ),
    ),
    (  # Junos short header: "RT_FLOW:" and no PROCID
        b"<14>1 2016-12-06T11:38:19.818+02:00 csp-ucpe-bglr51 RT_FLOW: APPTRACK_SESSION_CLOSE "
        b'[junos@2636.1.1.1.2.26 reason="TCP RST" source-address="4.0.0.3"] closed',
        rec(
            "junos",
            1,
            6,
            "2016-12-06T09:38:19.818Z",
            "csp-ucpe-bglr51",
            "RT_FLOW",
            None,
            "APPTRACK_SESSION_CLOSE",
            {"junos@2636.1.1.1.2.26": {"reason": "TCP RST", "source-address": "4.0.0.3"}},
            "closed",
        ),
    ),
    (  # Junos MX rpd with +07:00
        b"<27>1 2021-08-07T23:21:59.055+07:00 PECD.MX2020.02_RE0 rpd 4625 JTASK_SCHED_SLIP "
        b'[junos@2636.1.1.1.2.93 duration="28" user-seconds="0"]',
        rec(
            "junos",
            3,
            3,
            "2021-08-07T16:21:59.055Z",
            "PECD.MX2020.02_RE0",
            "rpd",
            "4625",
            "JTASK_SCHED_SLIP",
            {"junos@2636.1.1.1.2.93": {"duration": "28", "user-seconds": "0"}},
        ),
    ),
    (  # enterprise 26360 is not Juniper
        b'<13>1 2026-11-30T16:35:23Z h a - - [x@26360 a="1"] m',
        rec(
            "rfc5424",
            1,
            5,
            "2026-11-30T16:35:23Z",
            "h",
            "a",
            None,
            None,
            {"x@26360": {"a": "1"}},
            "m",
        ),
    ),
]

RFC3164_CASES = [
    (  # RFC 3164 example
        b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
        rec(
            "rfc3164",
            4,
            2,
            "2026-10-11T22:14:15Z",
            "mymachine",
            "su",
            message="'su root' failed for lonvick on /dev/pts/8",
        ),
    ),
    (  # space-padded day, tag with pid
        b"<78>Nov  3 09:05:01 host CRON[4242]: (root) CMD (run-parts /etc/cron.hourly)",
        rec(
            "rfc3164",
            9,
            6,
            "2026-11-03T09:05:01Z",
            "host",
            "CRON",
            "4242",
            message="(root) CMD (run-parts /etc/cron.hourly)",
        ),
    ),
    (  # missing hostname
        b"<38>Nov 30 16:35:23 sshd[99]: Connection closed by 10.0.0.9 port 22",
        rec(
            "rfc3164",
            4,
            6,
            "2026-11-30T16:35:23Z",
            None,
            "sshd",
            "99",
            message="Connection closed by 10.0.0.9 port 22",
        ),
    ),
    (  # missing tag
        b"<13>Nov 30 16:35:23 edge1 link flap on port 3",
        rec("rfc3164", 1, 5, "2026-11-30T16:35:23Z", "edge1", message="link flap on port 3"),
    ),
    (  # hostname and nothing else
        b"<13>Nov 30 16:35:23 edge1",
        rec("rfc3164", 1, 5, "2026-11-30T16:35:23Z", "edge1"),
    ),
    (  # Junos BSD form
        b"<28>Nov 30 16:35:23 rtr1 mgd[1234]: UI_COMMIT: User 'admin' requested 'commit' operation",
        rec(
            "rfc3164",
            3,
            4,
            "2026-11-30T16:35:23Z",
            "rtr1",
            "mgd",
            "1234",
            message="UI_COMMIT: User 'admin' requested 'commit' operation",
        ),
    ),
    (  # Junos with two spaces before the hostname
        b"<28>Jun 21 14:03:12  vmx01 rpd[2902]: RPD_BGP_NEIGHBOR_STATE_CHANGED: BGP peer 1.1.1.1",
        rec(
            "rfc3164",
            3,
            4,
            "2026-06-21T14:03:12Z",
            "vmx01",
            "rpd",
            "2902",
            message="RPD_BGP_NEIGHBOR_STATE_CHANGED: BGP peer 1.1.1.1",
        ),
    ),
    (  # Junos SRX BSD: tag without pid; a date 13 days ahead stays in this year
        b"<14>Dec 13 13:12:00 srx-firewall RT_FLOW: RT_FLOW_SESSION_CLOSE: session closed idle",
        rec(
            "rfc3164",
            1,
            6,
            "2026-12-13T13:12:00Z",
            "srx-firewall",
            "RT_FLOW",
            message="RT_FLOW_SESSION_CLOSE: session closed idle",
        ),
    ),
    (  # RFC 3339 stamp in a BSD header (Junos, rsyslog forward format)
        b"<4>2020-03-31T08:41:59+00:00 vmx01 /kernel: tcp_auth_ok: Packet from "
        b"192.168.140.254:61664 wrong MD5 digest",
        rec(
            "rfc3164",
            0,
            4,
            "2020-03-31T08:41:59Z",
            "vmx01",
            "/kernel",
            message="tcp_auth_ok: Packet from 192.168.140.254:61664 wrong MD5 digest",
        ),
    ),
    (  # Arista EOS: a Cisco-like mnemonic inside a BSD message stays in the message
        b"<13>2020-03-31T08:41:59.25-02:00 some-switch Bgp: %BGP-5-ADJCHANGE: peer 192.0.2.2 "
        b"(VRF default AS 12345) old state Established event AdminReset new state Idle",
        rec(
            "rfc3164",
            1,
            5,
            "2020-03-31T10:41:59.25Z",
            "some-switch",
            "Bgp",
            message="%BGP-5-ADJCHANGE: peer 192.0.2.2 (VRF default AS 12345) old state "
            "Established event AdminReset new state Idle",
        ),
    ),
    (  # fractional seconds
        b"<13>Nov 30 16:35:23.456 host app: x",
        rec("rfc3164", 1, 5, "2026-11-30T16:35:23.456Z", "host", "app", message="x"),
    ),
    (  # explicit year
        b"<13>Nov 30 2025 16:35:23 host app: x",
        rec("rfc3164", 1, 5, "2025-11-30T16:35:23Z", "host", "app", message="x"),
    ),
    (  # Palo Alto CSV body: no tag
        b"<14>Nov 30 16:35:23 PA-VM 1,2026/11/30 16:35:23,012801000001,TRAFFIC,end,2560",
        rec(
            "rfc3164",
            1,
            6,
            "2026-11-30T16:35:23Z",
            "PA-VM",
            message="1,2026/11/30 16:35:23,012801000001,TRAFFIC,end,2560",
        ),
    ),
    (  # what util-linux logger --rfc3164 sends
        b"<156>Nov 30 16:42:25 vm mytag[8218]: hello world",
        rec("rfc3164", 19, 4, "2026-11-30T16:42:25Z", "vm", "mytag", "8218", message="hello world"),
    ),
    (  # tag with a slash
        b"<22>Nov 30 16:35:23 mail postfix/smtpd[1234]: connect from unknown[10.0.0.7]",
        rec(
            "rfc3164",
            2,
            6,
            "2026-11-30T16:35:23Z",
            "mail",
            "postfix/smtpd",
            "1234",
            message="connect from unknown[10.0.0.7]",
        ),
    ),
    (  # IPv6 address as hostname
        b"<13>Nov 30 16:35:23 2001:db8::1 sshd[7]: hi",
        rec("rfc3164", 1, 5, "2026-11-30T16:35:23Z", "2001:db8::1", "sshd", "7", message="hi"),
    ),
    (  # impossible date: no timestamp, the rest still read
        b"<13>Feb 30 10:00:00 host app: x",
        rec("rfc3164", 1, 5, None, "host", "app", message="x"),
    ),
    (  # PRI 0 and PRI 191 are the bounds
        b"<0>Nov 30 16:35:23 core kernel: panic",
        rec("rfc3164", 0, 0, "2026-11-30T16:35:23Z", "core", "kernel", message="panic"),
    ),
    (
        b"<191>Nov 30 16:35:23 core debugd: trace",
        rec("rfc3164", 23, 7, "2026-11-30T16:35:23Z", "core", "debugd", message="trace"),
    ),
    (  # leading zeros in PRI are accepted
        b"<013>Nov 30 16:35:23 h t: m",
        rec("rfc3164", 1, 5, "2026-11-30T16:35:23Z", "h", "t", message="m"),
    ),
]

CISCO_CASES = [
    (  # sequence, origin host, '*' unsynchronised clock, zone
        b"<189>123: router1: *Mar  1 00:00:12.345 UTC: %LINEPROTO-5-UPDOWN: Line protocol on "
        b"Interface GigabitEthernet0/1, changed state to up",
        NOW,
        rec(
            "cisco",
            23,
            5,
            "2027-03-01T00:00:12.345Z",
            "router1",
            None,
            None,
            "LINEPROTO-5-UPDOWN",
            None,
            "Line protocol on Interface GigabitEthernet0/1, changed state to up",
            cisco=cisco(123, "LINEPROTO", 5, "UPDOWN", "unsynchronized"),
        ),
    ),
    (  # '.' clock not authoritative, no host, no fraction
        b"<187>45: .Nov 30 16:35:23: %SYS-3-CPUHOG: Task is running for (2000)msecs",
        NOW,
        rec(
            "cisco",
            23,
            3,
            "2026-11-30T16:35:23Z",
            None,
            None,
            None,
            "SYS-3-CPUHOG",
            None,
            "Task is running for (2000)msecs",
            cisco=cisco(45, "SYS", 3, "CPUHOG", "unauthoritative"),
        ),
    ),
    (
        b"<187>343: .Sep 21 09:22:01.678: %LINK-3-UPDOWN: Interface GigabitEthernet1/0/12, "
        b"changed state to up",
        NOW,
        rec(
            "cisco",
            23,
            3,
            "2026-09-21T09:22:01.678Z",
            None,
            None,
            None,
            "LINK-3-UPDOWN",
            None,
            "Interface GigabitEthernet1/0/12, changed state to up",
            cisco=cisco(343, "LINK", 3, "UPDOWN", "unauthoritative"),
        ),
    ),
    (  # colons inside the text
        b"<188>347: .Sep 21 09:31:07.145: %SW_VLAN-4-VLAN_CREATE_FAIL: Failed to create VLANs "
        b"4000: extended VLAN(s) not allowed in current VTP mode",
        NOW,
        rec(
            "cisco",
            23,
            4,
            "2026-09-21T09:31:07.145Z",
            None,
            None,
            None,
            "SW_VLAN-4-VLAN_CREATE_FAIL",
            None,
            "Failed to create VLANs 4000: extended VLAN(s) not allowed in current VTP mode",
            cisco=cisco(347, "SW_VLAN", 4, "VLAN_CREATE_FAIL", "unauthoritative"),
        ),
    ),
    (  # IOS-XE with origin host and MEST
        b"<189>1179: NetAuto_CSRv-03: May 31 15:25:53.743 MEST: %LINK-5-CHANGED: Interface "
        b"GigabitEthernet2, changed state to administratively down",
        JUNE,
        rec(
            "cisco",
            23,
            5,
            "2026-05-31T13:25:53.743Z",
            "NetAuto_CSRv-03",
            None,
            None,
            "LINK-5-CHANGED",
            None,
            "Interface GigabitEthernet2, changed state to administratively down",
            cisco=cisco(1179, "LINK", 5, "CHANGED"),
        ),
    ),
    (
        b"<189>24: test-ztp: May 23 15:49:32.302: %SYS-5-CONFIG_I: Configured from "
        b"tftp://10.83.21.224//cisco-bootstrap by console",
        JUNE,
        rec(
            "cisco",
            23,
            5,
            "2026-05-23T15:49:32.302Z",
            "test-ztp",
            None,
            None,
            "SYS-5-CONFIG_I",
            None,
            "Configured from tftp://10.83.21.224//cisco-bootstrap by console",
            cisco=cisco(24, "SYS", 5, "CONFIG_I"),
        ),
    ),
    (  # uptime instead of a date
        b"<189>45: 1w2d: %SYS-5-CONFIG_I: Configured from console by vty0 (10.0.0.5)",
        NOW,
        rec(
            "cisco",
            23,
            5,
            None,
            None,
            None,
            None,
            "SYS-5-CONFIG_I",
            None,
            "Configured from console by vty0 (10.0.0.5)",
            cisco=cisco(45, "SYS", 5, "CONFIG_I", None),
        ),
    ),
    (
        b"<187>12: 00:00:46: %LINK-3-UPDOWN: Interface FastEthernet0/0, changed state to up",
        NOW,
        rec(
            "cisco",
            23,
            3,
            None,
            None,
            None,
            None,
            "LINK-3-UPDOWN",
            None,
            "Interface FastEthernet0/0, changed state to up",
            cisco=cisco(12, "LINK", 3, "UPDOWN", None),
        ),
    ),
    (  # no sequence number
        b"<189>*Mar  1 18:46:11: %SYS-5-CONFIG_I: Configured from console by vty0 (10.34.195.36)",
        NOW,
        rec(
            "cisco",
            23,
            5,
            "2027-03-01T18:46:11Z",
            None,
            None,
            None,
            "SYS-5-CONFIG_I",
            None,
            "Configured from console by vty0 (10.34.195.36)",
            cisco=cisco(None, "SYS", 5, "CONFIG_I", "unsynchronized"),
        ),
    ),
    (  # origin-id as an IP address
        b"<189>32: 0.0.0.0: *Apr 29 13:59:12.491: %SYS-5-CONFIG_I: Configured from console",
        JUNE,
        rec(
            "cisco",
            23,
            5,
            "2026-04-29T13:59:12.491Z",
            "0.0.0.0",
            None,
            None,
            "SYS-5-CONFIG_I",
            None,
            "Configured from console",
            cisco=cisco(32, "SYS", 5, "CONFIG_I", "unsynchronized"),
        ),
    ),
    (  # service sequence-numbers adds a second counter
        b"<189>33: 000028: *Apr 29 13:59:26.415 UTC: %SYS-5-CONFIG_I: Configured from console",
        JUNE,
        rec(
            "cisco",
            23,
            5,
            "2026-04-29T13:59:26.415Z",
            None,
            None,
            None,
            "SYS-5-CONFIG_I",
            None,
            "Configured from console",
            cisco=cisco(33, "SYS", 5, "CONFIG_I", "unsynchronized"),
        ),
    ),
    (  # show-timezone year, JST
        b"<189>57: Nov 30 2026 16:35:23.123 JST: %SYS-5-CONFIG_I: Configured from console",
        NOW,
        rec(
            "cisco",
            23,
            5,
            "2026-11-30T07:35:23.123Z",
            None,
            None,
            None,
            "SYS-5-CONFIG_I",
            None,
            "Configured from console",
            cisco=cisco(57, "SYS", 5, "CONFIG_I"),
        ),
    ),
    (  # unknown zone name: taken as UTC
        b"<189>58: *Nov 30 16:35:23.123 XYZ: %SYS-5-CONFIG_I: x",
        NOW,
        rec(
            "cisco",
            23,
            5,
            "2026-11-30T16:35:23.123Z",
            None,
            None,
            None,
            "SYS-5-CONFIG_I",
            None,
            "x",
            cisco=cisco(58, "SYS", 5, "CONFIG_I", "unsynchronized"),
        ),
    ),
    (
        b"<190>77: rtr-fra1: Nov 30 17:35:23 CET: %SEC-6-IPACCESSLOGP: list 120 denied udp "
        b"10.0.0.66(137) -> 10.0.0.11(137), 33 packets",
        NOW,
        rec(
            "cisco",
            23,
            6,
            "2026-11-30T16:35:23Z",
            "rtr-fra1",
            None,
            None,
            "SEC-6-IPACCESSLOGP",
            None,
            "list 120 denied udp 10.0.0.66(137) -> 10.0.0.11(137), 33 packets",
            cisco=cisco(77, "SEC", 6, "IPACCESSLOGP"),
        ),
    ),
    (
        b"<190>636: .Jul 10 15:58:56.590 EDT: %SEC-6-IPACCESSLOGP: list 102 denied tcp "
        b"10.0.6.56(3067) -> 172.36.4.7(139), 1 packet",
        JUNE,
        rec(
            "cisco",
            23,
            6,
            "2026-07-10T19:58:56.590Z",
            None,
            None,
            None,
            "SEC-6-IPACCESSLOGP",
            None,
            "list 102 denied tcp 10.0.6.56(3067) -> 172.36.4.7(139), 1 packet",
            cisco=cisco(636, "SEC", 6, "IPACCESSLOGP", "unauthoritative"),
        ),
    ),
    (  # IOS-XR: node, process and spaces around the colons
        b"<187>94307: gw2.acy1 LC/0/2/CPU0:Jul  7 20:16:14.834 : ifmgr[214]: "
        b"%PKT_INFRA-LINK-3-UPDOWN : Interface TenGigE0/2/0/4, changed state to Down",
        JUNE,
        rec(
            "cisco",
            23,
            3,
            "2026-07-07T20:16:14.834Z",
            "gw2.acy1",
            "ifmgr",
            "214",
            "PKT_INFRA-LINK-3-UPDOWN",
            None,
            "Interface TenGigE0/2/0/4, changed state to Down",
            cisco=cisco(94307, "PKT_INFRA-LINK", 3, "UPDOWN"),
        ),
    ),
    (  # NX-OS: year first, hostname after the time
        b"<190>2018 Apr 20 13:15:07 nexus-switch %ETHPORT-5-IF_DOWN_LINK_FAILURE: Interface "
        b"Ethernet1/33 is down (Link failure)",
        NOW,
        rec(
            "cisco",
            23,
            6,
            "2018-04-20T13:15:07Z",
            "nexus-switch",
            None,
            None,
            "ETHPORT-5-IF_DOWN_LINK_FAILURE",
            None,
            "Interface Ethernet1/33 is down (Link failure)",
            cisco=cisco(None, "ETHPORT", 5, "IF_DOWN_LINK_FAILURE"),
        ),
    ),
    (  # NX-OS: hostname first
        b"<190>sw01.pdx01: 2017 Jul 28 14:42:46 UTC: %AUTHPRIV-6-SYSTEM_MSG: "
        b"pam_unix(dcos_sshd:session): session opened for user luke by (uid=0) - dcos_sshd[12977]",
        NOW,
        rec(
            "cisco",
            23,
            6,
            "2017-07-28T14:42:46Z",
            "sw01.pdx01",
            None,
            None,
            "AUTHPRIV-6-SYSTEM_MSG",
            None,
            "pam_unix(dcos_sshd:session): session opened for user luke by (uid=0) - "
            "dcos_sshd[12977]",
            cisco=cisco(None, "AUTHPRIV", 6, "SYSTEM_MSG"),
        ),
    ),
    (  # NX-OS 9.3: ': ' instead of a sequence number
        b"<189>: 2026 Nov 30 16:35:23 UTC: %ETHPORT-5-IF_UP: Interface Ethernet1/1 is up in mode "
        b"access",
        NOW,
        rec(
            "cisco",
            23,
            5,
            "2026-11-30T16:35:23Z",
            None,
            None,
            None,
            "ETHPORT-5-IF_UP",
            None,
            "Interface Ethernet1/1 is up in mode access",
            cisco=cisco(None, "ETHPORT", 5, "IF_UP"),
        ),
    ),
    (  # ASA without timestamp
        b"<166>%ASA-6-302013: Built outbound TCP connection 123 for outside:10.1.1.1/443 "
        b"(10.1.1.1/443) to inside:192.168.1.2/51000 (192.168.1.2/51000)",
        NOW,
        rec(
            "cisco",
            20,
            6,
            None,
            None,
            None,
            None,
            "ASA-6-302013",
            None,
            "Built outbound TCP connection 123 for outside:10.1.1.1/443 (10.1.1.1/443) to "
            "inside:192.168.1.2/51000 (192.168.1.2/51000)",
            cisco=cisco(None, "ASA", 6, "302013", None),
        ),
    ),
    (  # ASA with date, year and device-id
        b"<166>Nov 30 2026 16:35:23 asa1 : %ASA-6-302014: Teardown TCP connection 123",
        NOW,
        rec(
            "cisco",
            20,
            6,
            "2026-11-30T16:35:23Z",
            "asa1",
            None,
            None,
            "ASA-6-302014",
            None,
            "Teardown TCP connection 123",
            cisco=cisco(None, "ASA", 6, "302014"),
        ),
    ),
    (
        b"<163>Nov 30 2026 16:35:23: %ASA-3-710003: TCP access denied by ACL from 10.0.0.1/5000 "
        b"to outside:10.0.0.2/22",
        NOW,
        rec(
            "cisco",
            20,
            3,
            "2026-11-30T16:35:23Z",
            None,
            None,
            None,
            "ASA-3-710003",
            None,
            "TCP access denied by ACL from 10.0.0.1/5000 to outside:10.0.0.2/22",
            cisco=cisco(None, "ASA", 3, "710003"),
        ),
    ),
    (
        b"<189>1: *Nov 30 16:35:23.111: %SYS-5-RESTART: System restarted --",
        NOW,
        rec(
            "cisco",
            23,
            5,
            "2026-11-30T16:35:23.111Z",
            None,
            None,
            None,
            "SYS-5-RESTART",
            None,
            "System restarted --",
            cisco=cisco(1, "SYS", 5, "RESTART", "unsynchronized"),
        ),
    ),
    (  # a console capture without PRI is still Cisco, as user.notice
        b"*Mar  1 00:00:12.345: %LINK-3-UPDOWN: Interface Gi0/1, changed state to down",
        NOW,
        rec(
            "cisco",
            1,
            5,
            "2027-03-01T00:00:12.345Z",
            None,
            None,
            None,
            "LINK-3-UPDOWN",
            None,
            "Interface Gi0/1, changed state to down",
            cisco=cisco(None, "LINK", 3, "UPDOWN", "unsynchronized"),
        ),
    ),
]

OTHER_CASES = [
    (  # Yamaha RTX: PRI then free text
        b"<190>[INSPECT] LAN2[in][101099] TCP 192.168.100.2:49152 > 203.0.113.10:443 "
        b"(2026/11/30 16:35:23)",
        rec(
            "yamaha",
            23,
            6,
            message="[INSPECT] LAN2[in][101099] TCP 192.168.100.2:49152 > 203.0.113.10:443 "
            "(2026/11/30 16:35:23)",
        ),
    ),
    (  # RTX1100 puts a space after PRI
        b"<13> [INSPECT] LAN2[out][200102] TCP 10.0.0.1:40980 > 10.0.0.2:80 (2012/06/19 10:10:44)",
        rec(
            "yamaha",
            1,
            5,
            message="[INSPECT] LAN2[out][200102] TCP 10.0.0.1:40980 > 10.0.0.2:80 "
            "(2012/06/19 10:10:44)",
        ),
    ),
    (
        b"<190>PP[01] Rejected at IN(1012) filter: TCP 198.51.100.7:51234 > 203.0.113.1:23",
        rec(
            "yamaha",
            23,
            6,
            message="PP[01] Rejected at IN(1012) filter: TCP 198.51.100.7:51234 > 203.0.113.1:23",
        ),
    ),
    (b"<190>IP Tunnel[1] Up", rec("yamaha", 23, 6, message="IP Tunnel[1] Up")),
    (b"<190>LAN2: PPPoE Connect", rec("yamaha", 23, 6, message="LAN2: PPPoE Connect")),
    (
        b"<190>[DHCPD] LAN1(port1) Allocates 192.168.100.3: 00:a0:de:12:34:56",
        rec(
            "yamaha",
            23,
            6,
            message="[DHCPD] LAN1(port1) Allocates 192.168.100.3: 00:a0:de:12:34:56",
        ),
    ),
    (
        b"<190>Login succeeded as (noname) for TELNET: 192.168.100.2",
        rec("yamaha", 23, 6, message="Login succeeded as (noname) for TELNET: 192.168.100.2"),
    ),
    (b"<190>", rec("yamaha", 23, 6)),
    (  # non-ASCII digits are not a date
        "<13>Nov ٣٠ 16:35:23 h a: x".encode(),
        rec("yamaha", 1, 5, message="Nov ٣٠ 16:35:23 h a: x"),
    ),
    (  # five words after "1 " are not an RFC 5424 header without a timestamp
        b"<190>1 packets were dropped on port 3 today",
        rec("yamaha", 23, 6, message="1 packets were dropped on port 3 today"),
    ),
    (  # MikroTik without a header: the same shape
        b"<30>system,info,account user admin logged in from 10.0.0.1 via winbox",
        rec(
            "yamaha",
            3,
            6,
            message="system,info,account user admin logged in from 10.0.0.1 via winbox",
        ),
    ),
    (  # invalid UTF-8 in a headerless body
        b"<13>\xff\xfe bad",
        rec("yamaha", 1, 5, message="\ufffd\ufffd bad"),
    ),
    (  # FortiGate key=value kept whole; date/time without tz taken as UTC; devname names it
        b"<189>date=2019-04-09 time=04:27:29 devname=fw01 devid=FG800D0123456789 "
        b"logid=0000000013 type=traffic subtype=forward level=notice vd=root srcip=1.1.1.1 "
        b'srcintf="port1" service="BGP"\n',
        rec(
            "rfc3164",
            23,
            5,
            "2019-04-09T04:27:29Z",
            "fw01",
            message="date=2019-04-09 time=04:27:29 devname=fw01 devid=FG800D0123456789 "
            "logid=0000000013 type=traffic subtype=forward level=notice vd=root srcip=1.1.1.1 "
            'srcintf="port1" service="BGP"',
        ),
    ),
    (  # FortiOS 6.2+ tz field
        b'<189>date=2026-11-30 time=16:35:23 devname="fw01" eventtime=1795977323 tz="+0900" '
        b'logid="0100032001" type="event"',
        rec(
            "rfc3164",
            23,
            5,
            "2026-11-30T07:35:23Z",
            "fw01",
            message='date=2026-11-30 time=16:35:23 devname="fw01" eventtime=1795977323 '
            'tz="+0900" logid="0100032001" type="event"',
        ),
    ),
    (  # other key=value bodies have no timestamp
        b"<14>src=10.0.0.1 dst=10.0.0.2 action=allow",
        rec("rfc3164", 1, 6, message="src=10.0.0.1 dst=10.0.0.2 action=allow"),
    ),
    (  # no PRI, BSD header: rfc3164 as user.notice
        b"Nov 30 16:35:23 host sshd[1]: Accepted password for admin",
        rec(
            "rfc3164",
            1,
            5,
            "2026-11-30T16:35:23Z",
            "host",
            "sshd",
            "1",
            message="Accepted password for admin",
        ),
    ),
    (b"hello world\n", rec("nopri", 1, 5, message="hello world")),
    (
        b"date=2026-11-30 time=16:35:23 devname=fw01 type=traffic",
        rec("nopri", 1, 5, message="date=2026-11-30 time=16:35:23 devname=fw01 type=traffic"),
    ),
    (b"\xff\x00abc", rec("nopri", 1, 5, message="\ufffd\x00abc")),
    (b"<999>x", rec("raw", None, None, message="<999>x")),
    (b"<192>Nov 30 16:35:23 h a: x", rec("raw", None, None, message="<192>Nov 30 16:35:23 h a: x")),
    (b"<abc>Nov 30 16:35:23 h a: x", rec("raw", None, None, message="<abc>Nov 30 16:35:23 h a: x")),
    (b"<13 no close", rec("raw", None, None, message="<13 no close")),
    (b"<>", rec("raw", None, None, message="<>")),
    (b"<\xd9\xa3>x", rec("raw", None, None, message="<\u0663>x")),  # non-ASCII digit
    (b"", rec("raw", None, None)),
    (b"\x00\x00\r\n", rec("raw", None, None)),
]


def _ids(cases: list[Any]) -> list[str]:
    return [c[0][:48].decode("ascii", "replace") for c in cases]


@pytest.mark.parametrize(("line", "expected"), RFC5424_CASES, ids=_ids(RFC5424_CASES))
def test_rfc5424(line: bytes, expected: dict[str, Any]) -> None:
    assert parse(line, NOW) == expected


@pytest.mark.parametrize(("line", "expected"), RFC3164_CASES, ids=_ids(RFC3164_CASES))
def test_rfc3164(line: bytes, expected: dict[str, Any]) -> None:
    assert parse(line, NOW) == expected


@pytest.mark.parametrize(("line", "now", "expected"), CISCO_CASES, ids=_ids(CISCO_CASES))
def test_cisco(line: bytes, now: float, expected: dict[str, Any]) -> None:
    assert parse(line, now) == expected


@pytest.mark.parametrize(("line", "expected"), OTHER_CASES, ids=_ids(OTHER_CASES))
def test_headerless_nopri_raw(line: bytes, expected: dict[str, Any]) -> None:
    assert parse(line, NOW) == expected


ROLLOVER_CASES = [
    # (line, arrival, expected timestamp)
    (b"<13>Dec 31 23:59:59 h a: x", "2027-01-01T00:00:30Z", "2026-12-31T23:59:59Z"),
    (b"<13>Jan  1 00:00:05 h a: x", "2026-12-31T23:59:30Z", "2027-01-01T00:00:05Z"),
    (b"<13>Dec 31 23:59:59 h a: x", "2026-06-30T12:00:00Z", "2025-12-31T23:59:59Z"),
    (b"<13>Dec 31 23:59:59 h a: x", "2026-07-03T12:00:00Z", "2026-12-31T23:59:59Z"),
    (
        b"<189>9: *Jan  1 00:00:01.001: %SYS-5-CONFIG_I: x",
        "2026-12-31T23:59:58Z",
        "2027-01-01T00:00:01.001Z",
    ),
    (
        b"<189>9: Dec 31 23:59:59 UTC: %SYS-5-CONFIG_I: x",
        "2027-01-01T00:00:02Z",
        "2026-12-31T23:59:59Z",
    ),
    # local 2027-01-01 08:30 JST is still 2026 in UTC: the zone is applied before the year
    (
        b"<189>9: Jan  1 08:30:00 JST: %SYS-5-CONFIG_I: x",
        "2026-12-31T23:31:00Z",
        "2026-12-31T23:30:00Z",
    ),
    (
        b"<189>9: Dec 31 20:00:00 EST: %SYS-5-CONFIG_I: x",
        "2027-01-01T01:05:00Z",
        "2027-01-01T01:00:00Z",
    ),
    (b"<13>Feb 29 12:00:00 h a: x", "2028-03-01T00:00:00Z", "2028-02-29T12:00:00Z"),
    (b"<13>Feb 29 12:00:00 h a: x", "2027-12-01T00:00:00Z", "2028-02-29T12:00:00Z"),
    (b"<13>Feb 29 12:00:00 h a: x", "2026-06-15T00:00:00Z", None),  # no leap year near
]


@pytest.mark.parametrize(("line", "arrival", "expected"), ROLLOVER_CASES)
def test_year_inference(line: bytes, arrival: str, expected: str | None) -> None:
    assert parse(line, at(arrival))["timestamp"] == expected


def test_year_inference_follows_now_for_the_same_stamp() -> None:
    """The per-second cache must not pin a year once `now` moves on."""
    line = b"<13>Jun 15 12:00:00 h a: x"
    assert parse(line, at("2026-06-15T12:00:01Z"))["timestamp"] == "2026-06-15T12:00:00Z"
    assert parse(line, at("2027-03-01T00:00:00Z"))["timestamp"] == "2027-06-15T12:00:00Z"
    assert parse(line, at("2026-06-15T12:00:02Z"))["timestamp"] == "2026-06-15T12:00:00Z"


ALL_LINES = [c[0] for c in RFC5424_CASES + RFC3164_CASES + CISCO_CASES + OTHER_CASES]


@pytest.mark.parametrize(
    "line", ALL_LINES, ids=[x[:40].decode("ascii", "replace") for x in ALL_LINES]
)
def test_schema_and_fresh_dicts(line: bytes) -> None:
    first = parse(line, NOW)
    assert set(FIELDS) <= set(first) <= set(FIELDS) | set(OPTIONAL_FIELDS)
    assert ("cisco" in first) == (first["format"] == "cisco")
    snapshot = copy.deepcopy(first)
    if first["structured_data"] is not None:
        first["structured_data"].clear()
    first["message"] = "changed by the caller"
    assert parse(line, NOW) == snapshot


def test_format_counts_cover_every_dialect() -> None:
    formats = {parse(line, NOW)["format"] for line in ALL_LINES}
    assert formats == {"rfc5424", "junos", "rfc3164", "cisco", "yamaha", "nopri", "raw"}


@pytest.fixture
def udp_sink() -> Any:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def _logger(sock: socket.socket, *args: str) -> bytes:
    port = str(sock.getsockname()[1])
    subprocess.run(
        [
            peer("logger", "bsdutils"),
            "-n",
            "127.0.0.1",
            "-P",
            port,
            "-d",
            "-t",
            "edgetest",
            "-p",
            "local3.warning",
            *args,
        ],
        check=True,
        timeout=10,
    )
    return sock.recv(65535)


def _near_now(timestamp: str | None) -> bool:
    assert timestamp is not None
    stamp = datetime.strptime(timestamp.rstrip("Z")[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return abs(stamp.timestamp() - time.time()) < 60


def test_util_linux_logger_rfc5424_with_structured_data(udp_sink: socket.socket) -> None:
    data = _logger(
        udp_sink,
        "--rfc5424",
        "--msgid",
        "CFG1",
        "--sd-id",
        "zoo@32473",
        "--sd-param",
        'tiger="big \\"cat\\" \\]"',
        "--sd-param",
        'tiger="2"',
        "hello from logger",
    )
    got = parse(data, time.time())
    assert got["format"] == "rfc5424"
    assert (got["facility"], got["severity"]) == (19, 4)
    assert (got["app_name"], got["msgid"], got["message"]) == (
        "edgetest",
        "CFG1",
        "hello from logger",
    )
    assert got["hostname"] == socket.gethostname()
    assert got["structured_data"]["zoo@32473"] == {"tiger": ['big "cat" ]', "2"]}
    assert _near_now(got["timestamp"])


def test_util_linux_logger_rfc3164(udp_sink: socket.socket) -> None:
    got = parse(_logger(udp_sink, "--rfc3164", "-i", "bsd line"), time.time())
    assert got["format"] == "rfc3164"
    assert got["app_name"] == "edgetest"
    assert got["procid"] is not None and got["procid"].isdigit()
    assert got["message"] == "bsd line"
    assert _near_now(got["timestamp"])


def test_util_linux_logger_rfc5424_without_time(udp_sink: socket.socket) -> None:
    got = parse(_logger(udp_sink, "--rfc5424=notq,notime", "plain"), time.time())
    assert (got["format"], got["timestamp"], got["structured_data"]) == ("rfc5424", None, None)
    assert got["message"] == "plain"


N = 64 * 1024
PATHOLOGICAL = {
    "mnemonic dashes": b"<189>%A" + b"-A" * (N // 2),
    "counter colons": b"<189>" + b"1: " * (N // 3) + b"%",
    "open sd value": b'<13>1 - h a - - [x@1 a="' + b'\\"' * (N // 2),
    "many sd elements": b"<13>1 - h a - - " + b'[x@1 a="b"]' * (N // 11),
    "many sd params": b"<13>1 - h a - - [x@1" + b' a="b"' * (N // 6),
    "open kv quote": b'<13>a="' + b"x" * N,
    "tag brackets": b"<13>Nov 30 16:35:23 h " + b"a[" * (N // 2),
    "header spaces": b"<13>1 " + b"a " * (N // 2),
    "all bytes": bytes(range(256)) * (N // 256),
    "lenient sd quotes": b'<13>1 - h a - - [x@1 a= "' + b'" ' * (N // 2),
    "lenient sd near-closings": b'<13>1 - h a - - [x@1 a="' + b'" b' * (N // 3),
    "lenient sd bare params": b"<13>1 - h a - - [ x@1" + b" a" * (N // 2),
    "relayed counters": b"<189>Nov 30 16:35:24 r 1: " + b"1: " * (N // 3) + b"%",
    "relayed lines": b"<13>Nov 30 16:35:24 r " + b"<13>Nov 30 16:35:24 r " * (N // 23),
}


def cpu_seconds(data: bytes) -> float:
    """The least CPU time of a few parses, on this thread's clock: other processes barely count."""
    best = float("inf")
    for _ in range(5):
        started = time.thread_time()
        parse(data, NOW)
        best = min(best, time.thread_time() - started)
    return best


@pytest.mark.parametrize("data", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_input_is_linear(data: bytes) -> None:
    """64 KiB crafted to make a backtracking regex go quadratic costs about 8x its first 8 KiB.

    Two sizes compared, not a wall-clock bound: linear work grows 8x, quadratic 64x, and the
    ratio holds on a loaded machine where a fixed limit would not. Times under 50 us count as
    50 us, so the noise of a tiny measurement cannot fail it.
    """
    small = cpu_seconds(data[: len(data) // 8])
    large = cpu_seconds(data)
    assert large < 24 * max(small, 50e-6), f"8x the input cost {large / small:.0f}x the time"
