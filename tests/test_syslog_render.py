"""Output lines: the contract's fields, router names, raw, truncation below 16 KiB, summaries."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.guard import RouterNames
from bridge.output import MAX_LINE_BYTES
from bridge.secrets import redact_message
from bridge.summary import DropSummary
from syslog_receiver.parse import parse
from syslog_receiver.redaction import TEXT_MAX
from syslog_receiver.render import Renderer

STAMP = "2026-11-30T16:35:23.123456Z"
CONTRACT = (
    "event",
    "level",
    "time",
    "received_at",
    "source_ip",
    "source_port",
    "transport",
    "format",
    "facility",
    "severity",
    "timestamp",
    "hostname",
    "app_name",
    "procid",
    "msgid",
    "structured_data",
    "message",
)


def fields(message: str = "Interface Gi0/1, changed state to up", **extra: Any) -> dict[str, Any]:
    """A parser result as ``syslog_receiver.parse`` returns it (the server's input)."""
    base: dict[str, Any] = {
        "format": "cisco",
        "facility": 23,
        "severity": 5,
        "timestamp": "2026-11-30T16:35:23.123000Z",
        "hostname": "edge1",
        "app_name": None,
        "procid": None,
        "msgid": "LINK-5-UPDOWN",
        "structured_data": None,
        "message": message,
    }
    base.update(extra)
    return base


def render(
    renderer: Renderer, f: dict[str, Any], data: bytes = b"<189>x", **kw: Any
) -> dict[str, Any]:
    line = renderer.render(f, data, "10.0.0.1", 51514, "udp", STAMP, **kw)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert len(line) <= MAX_LINE_BYTES
    decoded = orjson.loads(line)
    assert isinstance(decoded, dict)
    return decoded


def test_a_line_carries_every_field_of_the_contract_in_order() -> None:
    line = render(Renderer(), fields())
    assert tuple(line)[: len(CONTRACT)] == CONTRACT
    assert line["event"] == "syslog"
    assert line["time"] == line["received_at"] == STAMP
    assert (line["source_ip"], line["source_port"], line["transport"]) == ("10.0.0.1", 51514, "udp")
    assert line["msgid"] == "LINK-5-UPDOWN"
    assert "truncated" not in line and "router" not in line and "raw" not in line


@pytest.mark.parametrize(
    ("severity", "level"),
    [
        (0, "critical"),
        (1, "critical"),
        (2, "critical"),
        (3, "error"),
        (4, "warning"),
        (5, "info"),
        (6, "info"),
        (7, "debug"),
        (None, "info"),
    ],
)
def test_level_follows_the_syslog_severity(severity: int | None, level: str) -> None:
    assert render(Renderer(), fields(severity=severity))["level"] == level


def test_extra_parser_keys_are_kept() -> None:
    line = render(Renderer(), fields(cisco={"sequence": 123}))
    assert line["cisco"] == {"sequence": 123}


def test_router_names_by_source_address_including_mapped_ipv4() -> None:
    renderer = Renderer(routers=RouterNames([("10.0.0.1", "edge1.dc1")]))
    assert render(renderer, fields())["router"] == "edge1.dc1"
    mapped = orjson.loads(renderer.render(fields(), b"x", "::ffff:10.0.0.1", 1, "udp", STAMP))
    assert mapped["router"] == "edge1.dc1"
    other = orjson.loads(renderer.render(fields(), b"x", "10.0.0.2", 1, "udp", STAMP))
    assert "router" not in other


def test_raw_shows_undecodable_bytes_escaped() -> None:
    line = render(Renderer(include_raw=True), fields(), data=b"<13>caf\xc3\xa9 \xff\xfe")
    assert line["raw"] == "<13>café \\xff\\xfe"


def test_a_message_already_cut_by_the_receiver_is_flagged() -> None:
    renderer = Renderer()
    line = render(renderer, fields(), original_length=70000)
    assert line["truncated"] is True and line["original_length"] == 70000
    assert renderer.truncated == 1


@pytest.mark.parametrize(
    "message",
    [
        "A" * 100_000,
        "\x01" * 20_000,  # each becomes a 6-byte \u0001 escape
        '"\\' * 20_000,  # each becomes a 2-byte escape
        "é€😀" * 10_000,  # 2, 3 and 4 bytes of UTF-8
    ],
    ids=["ascii", "controls", "escapes", "multibyte"],
)
def test_a_long_message_is_cut_to_fit_and_says_so(message: str) -> None:
    renderer = Renderer()
    data = message.encode()
    line = render(renderer, fields(message), data=data)
    assert line["truncated"] is True
    assert line["original_length"] == len(data)
    assert message.startswith(line["message"])
    assert len(line["message"]) > 1000  # cut to fit, not emptied
    assert renderer.truncated == 1
    # As much as fits is kept: one more character would not fit.
    longer = dict(line, message=message[: len(line["message"]) + 1])
    assert len(orjson.dumps(longer)) + 1 > MAX_LINE_BYTES


def test_raw_is_given_up_before_the_message() -> None:
    message = "B" * 12_000
    line = render(Renderer(include_raw=True), fields(message), data=message.encode())
    assert line["message"] == message  # whole: the cut fell on raw
    assert line["truncated"] is True and len(line["raw"]) < len(message)


def test_huge_structured_data_is_dropped_and_flagged() -> None:
    sd = {"meta": {f"p{i}": "v" * 100 for i in range(500)}}
    line = render(Renderer(), fields("short", structured_data=sd))
    assert line["structured_data"] is None and line["message"] == "short"
    assert line["truncated"] is True


def test_absurd_parser_fields_still_fit() -> None:
    line = render(Renderer(), fields("m" * 20_000, hostname="h" * 20_000, app_name="a" * 20_000))
    assert line["truncated"] is True and len(line["hostname"]) <= 255


@settings(max_examples=200, deadline=None)
@given(
    message=st.text(max_size=40_000),
    hostname=st.none() | st.text(max_size=300),
    include_raw=st.booleans(),
    max_line=st.integers(min_value=600, max_value=MAX_LINE_BYTES),
)
def test_every_line_fits_and_only_cut_messages_are_flagged(
    message: str, hostname: str | None, include_raw: bool, max_line: int
) -> None:
    renderer = Renderer(include_raw=include_raw, max_line=max_line)
    data = message.encode("utf-8", "surrogatepass")
    raw = renderer.render(fields(message, hostname=hostname), data, "::1", 5, "tcp", STAMP)
    assert len(raw) <= max_line and raw.endswith(b"\n")
    line = orjson.loads(raw)
    shown = redact_message(message)  # what a secret-bearing message becomes, cut or not
    if line.get("truncated"):
        assert line["original_length"] == len(data)
        assert shown.startswith(line.get("message") or "")
    else:
        assert line["message"] == shown


# -- drop summaries ------------------------------------------------------------------------


def test_first_drop_is_reported_at_once_then_at_most_once_per_interval() -> None:
    summary = DropSummary(interval=60)
    assert summary.due(0.0) is None  # nothing dropped, nothing to say
    summary.add("10.0.0.1")
    first = summary.due(1.0)
    assert first == {"dropped": 1, "sources": 1, "top_sources": {"10.0.0.1": 1}}
    for _ in range(500):
        summary.add("10.0.0.1")
    summary.add("10.0.0.2", 7)
    assert summary.due(30.0) is None  # held back: within the interval
    second = summary.due(61.0)
    assert second == {"dropped": 507, "sources": 2, "top_sources": {"10.0.0.1": 500, "10.0.0.2": 7}}
    assert summary.due(200.0) is None  # reset after reporting


def test_summary_is_bounded_and_forced_at_shutdown() -> None:
    summary = DropSummary(interval=60, max_sources=3)
    summary.add("192.0.2.1")
    assert summary.due(0.0) is not None  # starts the interval
    for i in range(20):
        summary.add(f"10.0.0.{i}")
    assert summary.due(1.0) is None
    fields_ = summary.due(1.0, force=True)
    assert fields_ is not None
    assert fields_["dropped"] == 20 and fields_["sources"] == 3
    assert fields_["dropped_from_untracked_sources"] == 17


def test_the_spliced_head_makes_valid_json_even_without_parsed_fields() -> None:
    line = Renderer().render({}, b"", "fe80::1%eth0", 514, "tcp", STAMP)
    assert orjson.loads(line) == {
        "event": "syslog",
        "level": "info",
        "time": STAMP,
        "received_at": STAMP,
        "source_ip": "fe80::1%eth0",
        "source_port": 514,
        "transport": "tcp",
    }


# -- the redaction gate over the datagram ---------------------------------------------------

_HEADERS = st.sampled_from(
    [
        b"",
        b"<189>",
        b"<165>1 2026-11-30T16:35:23Z edge2 sshd 42 - ",
        b"<30>Nov 30 16:35:23 core3 mgd: ",
        b"<189>12: r1: *Nov 30 16:35:23: %PARSER-5-CFGLOG_LOGGEDCMD: User:a logged command:",
    ]
)
_DATAGRAM_PIECES = st.sampled_from(
    [b'[x@1 password="S3cret"]', b'[x@1 a="b\\"pass" c="word S3cret"]', b'[m k="v"]', b"[",
     b'"', b"]", b"\\", b" ", b"-", b"password ", b"PassWord=", b"secret 5 ", b"key 7 ",
     b"S3cret", b"pa", b"ss", b"snmp-server community ", b"publickey ", b"auth sha ", b"ENC ",
     b"$1$", b"\xff", b"\xc3\xa9", b"\xe2\x80", b"\\x", b"ff", b"7 0822455D0A16", b"\r\n",
     b"\x00"]
)  # fmt: skip


@settings(max_examples=500)
@given(
    st.builds(lambda head, rest: head + b"".join(rest), _HEADERS, st.lists(_DATAGRAM_PIECES))
    | st.binary(max_size=80),
    st.booleans(),
)
def test_the_gate_over_the_datagram_changes_no_line(data: bytes, include_raw: bool) -> None:
    """The renderer tests the whole datagram for trigger words before any field: whatever
    the datagram, its line is the one that testing every field would give."""
    gated, ungated = Renderer(include_raw=include_raw), Renderer(include_raw=include_raw)
    line = gated.render(parse(data, 0.0), data, "10.0.0.1", 514, "udp", STAMP)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("syslog_receiver.redaction.might_hold_secret", lambda text: True)
        reference = ungated.render(parse(data, 0.0), data, "10.0.0.1", 514, "udp", STAMP)
    assert line == reference


def test_a_text_too_long_to_redact_is_cut_at_its_first_trigger_word() -> None:
    """The redactor reads no text over TEXT_MAX characters (keyword-dense text costs it up to
    2 us a character): the message, a structured data value and the raw text are cut at
    their first trigger word, the rest is <redacted>, and the line is counted as cut."""
    renderer = Renderer(include_raw=True)
    long = "x" * TEXT_MAX + " password Hidden1"
    data = f'<13>1 - h a - - [m@1 note="{long}"] head {long}'.encode()
    line = orjson.loads(renderer.render(parse(data, 0.0), data, "10.0.0.1", 514, "udp", STAMP))
    assert line["message"] == "head " + "x" * TEXT_MAX + " <redacted>"
    assert line["structured_data"] == {"m@1": {"note": "x" * TEXT_MAX + " <redacted>"}}
    assert line["raw"].endswith("x <redacted>") and "Hidden1" not in line["raw"]
    assert line["redacted"] is True and renderer.redaction.cut == 1
    short = b"<13>app: password Hidden2 stays readable around it"
    line = orjson.loads(renderer.render(parse(short, 0.0), short, "10.0.0.1", 514, "udp", STAMP))
    assert line["message"] == "app: password <redacted> stays readable around it"
    assert renderer.redaction.cut == 1
