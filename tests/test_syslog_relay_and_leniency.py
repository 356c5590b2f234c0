"""The BSD header forms peers accept, router lines behind a relay's header, and structured
data read leniently: each with the record it must give."""

from __future__ import annotations

from typing import Any

import pytest

from syslog_receiver.parse import parse

NOW = 1796058000.0  # 2026-11-30T17:00:00Z


def fields(line: bytes, *keys: str) -> tuple[Any, ...]:
    got = parse(line, NOW)
    return tuple(got.get(k) for k in keys)


HEADER_FORMS = [
    # line, timestamp, hostname, app_name, message
    (b"<38> Mar  7 19:06:53 example tag: m", "2027-03-07T19:06:53Z", "example", "tag", "m"),
    (b"<38>Mar 7 19:06:53 example tag: m", "2027-03-07T19:06:53Z", "example", "tag", "m"),
    (b"<38>Mar 07 19:06:53 example tag: m", "2027-03-07T19:06:53Z", "example", "tag", "m"),
    (b"<38>Mar 7 19:06:53: example tag: m", "2027-03-07T19:06:53Z", "example", "tag", "m"),
    (b"<38>Mar 7 2008 19:06:53: example tag: m", "2008-03-07T19:06:53Z", "example", "tag", "m"),
    (b"<38>MAR  7 19:06:53 example tag: m", "2027-03-07T19:06:53Z", "example", "tag", "m"),
    (b"<38>mar  7 19:06:53 example tag: m", "2027-03-07T19:06:53Z", "example", "tag", "m"),
    (b"<190>Apr 15 21:28:13 2007 linksys app: m", "2007-04-15T21:28:13Z", "linksys", "app", "m"),
    (b"<190>Apr 15 21:28:13 2007: linksys app: m", "2007-04-15T21:28:13Z", "linksys", "app", "m"),
    (b"<190>2018 Apr 20 13:15:07 nexus app: m", "2018-04-20T13:15:07Z", "nexus", "app", "m"),
    (b"<165>Aug 24 05:34:00 CST 1987 mach p[10]: m", "1987-08-24T11:34:00Z", "mach", "p", "m"),
    (b"<7> Aug 29 02:00:00.156789 ctld s[1]: m", "2026-08-29T02:00:00.156789Z", "ctld", "s", "m"),
    (b"<7> Aug 29 02:00:00. ctld s[1]: m", "2026-08-29T02:00:00Z", "ctld", "s", "m"),
    (b"<27>2021-07-01T22:30:00 h a[9]: m", "2021-07-01T22:30:00Z", "h", "a", "m"),
    (b"<27>2021-07-01 22:30:00 h a[9]: m", "2021-07-01T22:30:00Z", "h", "a", "m"),
    (b"<27>2021-07-01t22:30:00.5z h a[9]: m", "2021-07-01T22:30:00.5Z", "h", "a", "m"),
    (b"<27>2021-07-01T22:30:00+0200 h a[9]: m", "2021-07-01T20:30:00Z", "h", "a", "m"),
    # a four-digit word after the time that is no year is the hostname
    (b"<13>Nov 30 16:35:23 3750 app: m", "2026-11-30T16:35:23Z", "3750", "app", "m"),
    # partly understood: a timestamp and no more, the rest is the message
    (b"<13>Nov 30 16:35:23", "2026-11-30T16:35:23Z", None, None, ""),
    (b"<13>Nov 30 16:35:23 ", "2026-11-30T16:35:23Z", None, None, ""),
]


@pytest.mark.parametrize(("line", "timestamp", "hostname", "app", "message"), HEADER_FORMS)
def test_header_forms(
    line: bytes, timestamp: str, hostname: str | None, app: str | None, message: str
) -> None:
    got = parse(line, NOW)
    assert got["format"] == "rfc3164"
    assert (got["timestamp"], got["hostname"], got["app_name"], got["message"]) == (
        timestamp,
        hostname,
        app,
        message,
    )


NOT_HEADERS = [
    # a word that looks like a month but is not one is no timestamp: nothing is swallowed
    b"<13>Foo 30 16:35:23 host app: m",
    b"<13>Nov 30 16:35 host app: m",
    b"<13>Nov 300 16:35:23 host app: m",
]


@pytest.mark.parametrize("line", NOT_HEADERS)
def test_text_that_is_no_header_stays_in_the_message(line: bytes) -> None:
    got = parse(line, NOW)
    assert (got["format"], got["timestamp"], got["message"]) == ("yamaha", None, line[4:].decode())


RELAYED = [
    # line, format, hostname, relay, timestamp, msgid, message
    (  # rsyslog's traditional forward format in front of an IOS line
        b"<189>Nov 30 16:35:24 rtr1.dc1 000123: *Nov 30 16:35:23.123: %SYS-5-CONFIG_I: "
        b"Configured from console by admin on vty0",
        "cisco",
        "rtr1.dc1",
        "rtr1.dc1",
        "2026-11-30T16:35:23.123Z",
        "SYS-5-CONFIG_I",
        "Configured from console by admin on vty0",
    ),
    (  # the router's own origin-id wins over the relay's host
        b"<189>Nov 30 16:35:24 relay1 123: router1: *Mar  1 00:00:12.345 UTC: "
        b"%LINEPROTO-5-UPDOWN: Line protocol on Interface Gi0/1, changed state to up",
        "cisco",
        "router1",
        "relay1",
        "2027-03-01T00:00:12.345Z",
        "LINEPROTO-5-UPDOWN",
        "Line protocol on Interface Gi0/1, changed state to up",
    ),
    (  # an uptime stamp: the relay's clock is not taken for the router's
        b"<187>Nov 30 16:35:24 relay1 12: 00:00:46: %LINK-3-UPDOWN: Interface Fa0/0, changed "
        b"state to up",
        "cisco",
        "relay1",
        "relay1",
        None,
        "LINK-3-UPDOWN",
        "Interface Fa0/0, changed state to up",
    ),
    (  # RFC 5424 forward format (rsyslog's RSYSLOG_SyslogProtocol23Format, syslog-ng syslog())
        b"<189>1 2026-11-30T16:35:24Z rtr1.dc1 000123 - - - *Nov 30 16:35:23.123: "
        b"%SYS-5-CONFIG_I: Configured from console",
        "cisco",
        "rtr1.dc1",
        "rtr1.dc1",
        "2026-11-30T16:35:23.123Z",
        "SYS-5-CONFIG_I",
        "Configured from console",
    ),
    (  # a relay that does not parse (syslog-ng flags(no-parse)): the whole line, PRI and all
        b"<13>Nov 30 16:35:24 relay1 <189>45: .Nov 30 16:35:23: %SYS-3-CPUHOG: Task is running",
        "cisco",
        "relay1",
        "relay1",
        "2026-11-30T16:35:23Z",
        "SYS-3-CPUHOG",
        "Task is running",
    ),
    (  # Junos structured syslog behind a BSD relay header
        b"<165>Nov 30 16:35:24 relay1 1 2026-11-30T16:35:23.123Z core3 RT_FLOW - "
        b'RT_FLOW_SESSION_CLOSE [junos@2636.1.1.1.2.39 reason="idle"] session closed',
        "junos",
        "core3",
        "relay1",
        "2026-11-30T16:35:23.123Z",
        "RT_FLOW_SESSION_CLOSE",
        "session closed",
    ),
    (  # Yamaha RTX: no header of its own, so the relay's host names it
        b"<190>Nov 30 16:35:24 10.0.0.1 [INSPECT] LAN2[in][101099] TCP 192.0.2.2:50563 > "
        b"203.0.113.1:443",
        "yamaha",
        "10.0.0.1",
        "10.0.0.1",
        None,
        None,
        "[INSPECT] LAN2[in][101099] TCP 192.0.2.2:50563 > 203.0.113.1:443",
    ),
    (
        b"<190>Nov 30 16:35:24 rtx1210 PP[01] Rejected at IN(1012) filter: TCP 1.2.3.4:1 > "
        b"5.6.7.8:2",
        "yamaha",
        "rtx1210",
        "rtx1210",
        None,
        None,
        "PP[01] Rejected at IN(1012) filter: TCP 1.2.3.4:1 > 5.6.7.8:2",
    ),
]


@pytest.mark.parametrize(
    ("line", "fmt", "hostname", "relay", "timestamp", "msgid", "message"), RELAYED
)
def test_router_line_behind_a_relay_header(
    line: bytes,
    fmt: str,
    hostname: str,
    relay: str,
    timestamp: str | None,
    msgid: str | None,
    message: str,
) -> None:
    assert fields(line, "format", "hostname", "relay", "timestamp", "msgid", "message") == (
        fmt,
        hostname,
        relay,
        timestamp,
        msgid,
        message,
    )


def test_relayed_cisco_keeps_the_counter_the_relay_took_for_a_tag() -> None:
    got = parse(b"<189>1 2026-11-30T16:35:24Z r 000123 - - - *Nov 30 16:35:23: %A-5-B: x", NOW)
    assert got["cisco"]["sequence"] == 123
    assert (got["facility"], got["severity"]) == (23, 5)


NOT_RELAYED = [
    # Arista and others write an ordinary tag before a mnemonic: that is no Cisco header
    b"<13>2020-03-31T08:41:59.25-02:00 some-switch Bgp: %BGP-5-ADJCHANGE: peer 192.0.2.2",
    b"<13>Nov 30 16:35:23 host app: 50% done",
    b"<13>Nov 30 16:35:23 host <abc> not a line",
    b"<13>Nov 30 16:35:23 host [origin software=x] lower-case is no Yamaha category",
]


@pytest.mark.parametrize("line", NOT_RELAYED)
def test_bsd_lines_that_only_look_relayed(line: bytes) -> None:
    got = parse(line, NOW)
    assert got["format"] == "rfc3164" and "relay" not in got


def test_no_relay_within_a_relay() -> None:
    got = parse(b"<13>Nov 30 16:35:24 r1 <13>Nov 30 16:35:23 r2 <13>Nov 30 16:35:22 r3 x", NOW)
    assert (got["hostname"], got["relay"]) == ("r2", "r1")
    assert got["message"] == "<13>Nov 30 16:35:22 r3 x"


LENIENT_SD = [
    # line (after "<165>1 2003-10-11T22:14:15.003Z host app - ID47 "), structured data, message
    (  # RFC 5424 section 6.5 example 4 as rsyslog's tests send it: a space after '='
        b'[exampleSDID@32473 iut="3" eventSource= "Application" eventID="1011"]'
        b'[examplePriority@32473 class="high"]',
        {
            "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"},
            "examplePriority@32473": {"class": "high"},
        },
        "",
    ),
    (  # values quoted with \" (escaped once too often)
        b'[meta sequenceId=\\"17\\" source=\\"a b\\"] text',
        {"meta": {"sequenceId": "17", "source": "a b"}},
        "text",
    ),
    (  # an unescaped quote that cannot close the value stays in it
        b'[a i=""ok"] An application event log entry...',
        {"a": {"i": '"ok'}},
        "An application event log entry...",
    ),
    (  # a space after '[', a bare value, a name without a value
        b"[ origin x=1 flag] qwerty",
        {"origin": {"x": "1", "flag": ""}},
        "qwerty",
    ),
    (  # what cannot be read stays in the message, the elements before it are kept
        b'[a@1 x="1"][b y="never closed qwerty',
        {"a@1": {"x": "1"}},
        '[b y="never closed qwerty',
    ),
    (  # nothing readable: no structured data, all of it in the message
        b'[x@1 a="1" oops',
        None,
        '[x@1 a="1" oops',
    ),
]


@pytest.mark.parametrize(("sd", "structured_data", "message"), LENIENT_SD)
def test_lenient_structured_data_is_flagged(
    sd: bytes, structured_data: dict[str, Any] | None, message: str
) -> None:
    got = parse(b"<165>1 2003-10-11T22:14:15.003Z host app - ID47 " + sd, NOW)
    assert (got["structured_data"], got["message"], got["sd_malformed"]) == (
        structured_data,
        message,
        True,
    )
    assert (got["hostname"], got["msgid"]) == ("host", "ID47")


def test_well_formed_structured_data_is_not_flagged() -> None:
    got = parse(b'<165>1 2003-10-11T22:14:15.003Z h a - - [a@1 x="1"] m', NOW)
    assert "sd_malformed" not in got
