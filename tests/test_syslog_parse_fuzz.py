"""Property tests of the syslog parser: no input raises, the record shape always holds, the
message is always the tail of the input (a header never takes text it did not understand),
generated RFC 5424 messages, BSD headers in every accepted form and yearless timestamps come
back exactly, and lenient structured data stops only after a whole element."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from syslog_receiver.parse import FIELDS, parse
from syslog_receiver.record import OPTIONAL_FIELDS
from syslog_receiver.sd_lenient import parse_sd_lenient
from syslog_receiver.timestamps import MONTHS, TZ_OFFSETS

FORMATS = {"rfc5424", "junos", "rfc3164", "cisco", "yamaha", "nopri", "raw"}
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")
NOW = 1796058000.0  # 2026-11-30T17:00:00Z
FUZZ = settings(max_examples=400, deadline=None)


def check_shape(got: dict[str, Any]) -> None:
    """The contract the server relies on, for any input."""
    fmt = got["format"]
    assert fmt in FORMATS
    assert set(FIELDS) <= set(got) <= set(FIELDS) | set(OPTIONAL_FIELDS)
    assert ("cisco" in got) == (fmt == "cisco")
    assert got.get("sd_malformed", True) is True
    assert "relay" not in got or (type(got["relay"]) is str and got["relay"])
    if fmt == "raw":
        assert got["facility"] is None and got["severity"] is None
    else:
        assert type(got["facility"]) is int and 0 <= got["facility"] <= 23
        assert type(got["severity"]) is int and 0 <= got["severity"] <= 7
    assert got["timestamp"] is None or ISO.fullmatch(got["timestamp"])
    for key in ("hostname", "app_name", "procid", "msgid"):
        assert got[key] is None or (type(got[key]) is str and got[key])
    sd = got["structured_data"]
    if sd is not None:
        assert type(sd) is dict
        for params in sd.values():
            assert type(params) is dict
            for value in params.values():
                assert type(value) is str or (
                    type(value) is list and all(type(v) is str for v in value)
                )
    assert type(got["message"]) is str
    if fmt == "cisco":
        extra = got["cisco"]
        assert set(extra) == {"sequence", "facility", "severity", "mnemonic", "clock"}
        assert 0 <= extra["severity"] <= 7
    orjson.dumps(got)  # what the server does with it next


@FUZZ
@given(st.binary(max_size=3000), st.floats(min_value=0, max_value=4e9))
def test_any_bytes(data: bytes, now: float) -> None:
    got = parse(data, now)
    check_shape(got)
    check_message_is_a_tail(data, got)


@FUZZ
@given(st.integers(0, 191), st.text(max_size=600))
def test_valid_pri_random_body(pri: int, body: str) -> None:
    got = parse(f"<{pri}>{body}".encode(), NOW)
    check_shape(got)
    assert (got["facility"], got["severity"]) == (pri >> 3, pri & 7)


PREFIXES = [
    "",
    "<13>",
    "<13>1 ",
    "<13>1 2026-11-30T16:35:23Z h a p m [",
    '<13>1 - - - - - [x@1 a="',
    "<13>Nov 30 16:35:23 ",
    "<13>Nov  3 16:35:23 host ",
    "<13>2026-11-30T16:35:23+01:00 ",
    "<189>123: ",
    "<189>123: router1: *Mar  1 00:00:12.345 ",
    "<189>12: 1w2d: %",
    "<190>2018 Apr 20 13:15:07 ",
    "<187>94307: gw2 LC/0/2/CPU0:Jul  7 20:16:14.834 : ",
    "<189>date=2026-11-30 time=16:35:23 ",
    "<190>[INSPECT] ",
    "*Mar  1 00:00:12: %",
    "<13> NOV  3 2026 16:35:23: ",
    "<13>Apr 15 21:28:13 2007 ",
    "<13>2026-11-30 16:35:23.5 ",
    "<189>Nov 30 16:35:24 relay1 ",
    "<189>Nov 30 16:35:24 relay1 000123: *Nov 30 16:35:23.123: %",
    "<13>Nov 30 16:35:24 relay1 <189>",
    "<189>1 2026-11-30T16:35:24Z relay1 000123 - - - *Nov 30 16:35:23: ",
    "<190>Nov 30 16:35:24 10.0.0.1 [INSPECT] ",
    '<13>1 - - - - - [x@1 a= "',
    '<13>1 - - - - - [x@1 a=\\"',
    "<13>1 - - - - - [ x@1 ",
]


@FUZZ
@given(st.sampled_from(PREFIXES), st.text(max_size=300), st.sampled_from(["", "\n", "\r\n\x00"]))
def test_dialect_prefix_random_rest(prefix: str, rest: str, tail: str) -> None:
    check_shape(parse((prefix + rest + tail).encode(), NOW))


@FUZZ
@given(
    st.sampled_from(PREFIXES),
    st.lists(
        st.sampled_from(list(' :[]"\\=%*.-0123456789ANovJST@<>\t\ufeff\u0663\uff10')), max_size=80
    ),
)
def test_dialect_prefix_punctuation_soup(prefix: str, chars: list[str]) -> None:
    data = (prefix + "".join(chars)).encode()
    got = parse(data, NOW)
    check_shape(got)
    check_message_is_a_tail(data, got)


# -- generated RFC 5424 messages round-trip --------------------------------------------------

_PRINT = "".join(chr(c) for c in range(33, 127))
_SD_NAME = st.text(alphabet=[c for c in _PRINT if c not in ' ="]'], min_size=1, max_size=32)
_TOKEN = st.text(alphabet=_PRINT, min_size=1, max_size=48).filter(lambda t: t[0] != "[")
_OFFSETS = st.integers(-23 * 60 - 59, 23 * 60 + 59)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


@st.composite
def rfc5424_messages(draw: st.DrawFn) -> tuple[bytes, dict[str, Any]]:
    pri = draw(st.integers(0, 191))
    if draw(st.booleans()):
        wall = draw(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)))
        offset = draw(_OFFSETS)
        digits = draw(st.integers(0, 6))
        frac = f"{wall.microsecond:06d}"[:digits]
        zone = "Z" if offset == 0 and draw(st.booleans()) else None
        if zone is None:
            sign = "-" if offset < 0 else "+"
            zone = f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
        ts_text = wall.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + zone
        utc = wall.replace(tzinfo=timezone(timedelta(minutes=offset))).astimezone(UTC)
        expected_ts: str | None = utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}Z" if frac else "Z")
    else:
        ts_text, expected_ts = "-", None
    host, app, procid, msgid = (draw(_TOKEN) for _ in range(4))
    elements = draw(
        st.lists(st.tuples(_SD_NAME, st.lists(st.tuples(_SD_NAME, st.text(max_size=40)))))
    )
    expected_sd: dict[str, dict[str, Any]] = {}
    sd_text = ""
    for sd_id, params in elements:
        merged = expected_sd.setdefault(sd_id, {})
        sd_text += "[" + sd_id
        for name, value in params:
            sd_text += f' {name}="{_escape(value)}"'
            old = merged.get(name)
            merged[name] = (
                value if old is None else ([*old, value] if type(old) is list else [old, value])
            )
        sd_text += "]"
    message = draw(st.text(max_size=200))
    bom = "\ufeff" if draw(st.booleans()) else ""
    line = f"<{pri}>1 {ts_text} {host} {app} {procid} {msgid} {sd_text or '-'} {bom}{message}"
    expected_message = message.rstrip("\r\n\x00")
    if not bom and expected_message.startswith("\ufeff"):
        expected_message = expected_message[1:]
    is_junos = any(k.partition("@")[2].split(".")[0] == "2636" for k in expected_sd if "@" in k)
    expected = {
        "format": "junos" if is_junos else "rfc5424",
        "facility": pri >> 3,
        "severity": pri & 7,
        "timestamp": expected_ts,
        "hostname": None if host == "-" else host,
        "app_name": None if app == "-" else app,
        "procid": None if procid == "-" else procid,
        "msgid": None if msgid == "-" else msgid,
        "structured_data": expected_sd or None,
        "message": expected_message,
    }
    return line.encode(), expected


@FUZZ
@given(rfc5424_messages())
def test_generated_rfc5424_round_trip(case: tuple[bytes, dict[str, Any]]) -> None:
    data, expected = case
    got = parse(data, NOW)
    check_shape(got)
    assert got == expected


# -- yearless timestamps against a brute-force oracle ----------------------------------------

_MONTH_NAMES = {v: k for k, v in MONTHS.items()}
_ZONES = sorted(TZ_OFFSETS)


def _oracle(wall: datetime, offset: int, now: float) -> str | None:
    """Among last, this and next year, the one whose instant is nearest to `now`."""
    year = datetime.fromtimestamp(now, UTC).year
    best: tuple[float, datetime] | None = None
    for candidate in (year, year - 1, year + 1):
        try:
            local = wall.replace(year=candidate)
        except ValueError:  # Feb 29 outside a leap year
            continue
        instant = local.replace(tzinfo=timezone(timedelta(minutes=offset))).astimezone(UTC)
        distance = abs(instant.timestamp() - now)
        if best is None or distance < best[0]:
            best = (distance, instant)
    return None if best is None else best[1].strftime("%Y-%m-%dT%H:%M:%SZ")


@FUZZ
@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31)),
    st.floats(min_value=946684800, max_value=3786825600),  # 2000 .. 2090
    st.sampled_from([None, *_ZONES]),
)
def test_yearless_year_is_nearest_to_now(wall: datetime, now: float, zone: str | None) -> None:
    stamp = f"{_MONTH_NAMES[wall.month]} {wall.day:2d} {wall:%H:%M:%S}"
    if zone is None:
        got = parse(f"<13>{stamp} host app: m".encode(), now)
        assert got["format"] == "rfc3164"
    else:
        got = parse(f"<189>7: {stamp} {zone}: %SYS-5-CONFIG_I: m".encode(), now)
        assert got["format"] == "cisco"
    assert got["timestamp"] == _oracle(
        wall.replace(microsecond=0), TZ_OFFSETS.get(zone or "UTC", 0), now
    )


# -- a recognised header never swallows message text -----------------------------------------


def check_message_is_a_tail(data: bytes, got: dict[str, Any]) -> None:
    text = data.rstrip(b"\r\n\x00").decode("utf-8", "replace")
    assert text.endswith(got["message"])


@FUZZ
@given(st.sampled_from(PREFIXES), st.text(max_size=300))
def test_message_is_always_the_tail_of_the_input(prefix: str, rest: str) -> None:
    data = (prefix + rest).encode()
    check_message_is_a_tail(data, parse(data, NOW))


_HOST = st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True)
_TAG_NAME = st.from_regex(r"[a-z][a-z0-9_/-]{0,15}", fullmatch=True)
# Text a router writes after its tag: anything but a leading space (the header's separator)
# or '%' (which can make "tag: 12: %X-1-Y: ..." a relayed Cisco line, tested by example).
_MESSAGE = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="%\r\n\x00"), max_size=120
).filter(lambda m: not m.startswith((" ", "\ufeff")))


@st.composite
def bsd_lines(draw: st.DrawFn) -> tuple[bytes, str, str, str | None, str]:
    """(line, expected timestamp, hostname, procid, message) in one of the accepted forms."""
    frac = draw(st.sampled_from(["", "123", "5", "123456"]))
    if draw(st.booleans()):  # BSD month form
        has_year = draw(st.booleans())
        low, high = (datetime(1990, 1, 1), datetime(2037, 1, 1))
        if not has_year:  # near the arrival time, so the inferred year is plain
            low, high = (datetime(2026, 9, 1), datetime(2027, 1, 31))
        wall = draw(st.datetimes(min_value=low, max_value=high)).replace(microsecond=0)
        month = _MONTH_NAMES[wall.month]
        month = draw(st.sampled_from([month, month.upper(), month.lower()]))
        day = draw(st.sampled_from([f"{wall.day:2d}", f"{wall.day}", f"{wall.day:02d}"]))
        clock = f"{wall:%H:%M:%S}" + (f".{frac}" if frac else "")
        where = draw(st.sampled_from(["before", "after-day", "after-time"])) if has_year else ""
        stamp = {
            "": f"{month} {day} {clock}",
            "before": f"{wall.year} {month} {day} {clock}",
            "after-day": f"{month} {day} {wall.year} {clock}",
            "after-time": f"{month} {day} {clock} {wall.year}",
        }[where]
        stamp += draw(st.sampled_from(["", ":"]))
        expected = f"{wall:%Y-%m-%dT%H:%M:%S}" + (f".{frac}Z" if frac else "Z")
    else:  # ISO form
        wall = draw(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2037, 1, 1)))
        wall = wall.replace(microsecond=0)
        offset = draw(st.integers(-14 * 60, 14 * 60))
        zone = draw(st.sampled_from(["Z", "+hh:mm", "+hhmm", ""]))
        sign, minutes = ("-" if offset < 0 else "+"), abs(offset)
        zone_text = {
            "Z": "Z",
            "+hh:mm": f"{sign}{minutes // 60:02d}:{minutes % 60:02d}",
            "+hhmm": f"{sign}{minutes // 60:02d}{minutes % 60:02d}",
            "": "",
        }[zone]
        if zone in ("Z", ""):
            offset = 0
        sep = draw(st.sampled_from(["T", " "]))
        stamp = f"{wall:%Y-%m-%d}{sep}{wall:%H:%M:%S}" + (f".{frac}" if frac else "") + zone_text
        utc = wall.replace(tzinfo=timezone(timedelta(minutes=offset))).astimezone(UTC)
        expected = f"{utc:%Y-%m-%dT%H:%M:%S}" + (f".{frac}Z" if frac else "Z")
    host, tag, message = draw(_HOST), draw(_TAG_NAME), draw(_MESSAGE)
    procid = draw(st.one_of(st.none(), st.from_regex(r"[0-9]{1,6}", fullmatch=True)))
    space = draw(st.sampled_from(["", " "]))
    pid = f"[{procid}]" if procid else ""
    line = f"<{draw(st.integers(0, 191))}>{space}{stamp} {host} {tag}{pid}: {message}"
    return line.encode(), expected, host, procid, message


@FUZZ
@given(bsd_lines())
def test_generated_bsd_headers_keep_every_field_and_all_message_text(
    case: tuple[bytes, str, str, str | None, str],
) -> None:
    data, timestamp, host, procid, message = case
    got = parse(data, NOW)
    check_shape(got)
    assert (got["format"], got["timestamp"], got["hostname"]) == ("rfc3164", timestamp, host)
    assert (got["procid"], got["message"]) == (procid, message)
    assert got["app_name"] is not None
    assert data.decode().endswith(f" {got['app_name']}{f'[{procid}]' if procid else ''}: {message}")


# -- lenient structured data, on its own ------------------------------------------------------


@FUZZ
@given(
    st.lists(st.sampled_from(list(' []"\\=abx@1\u00e9')), max_size=120).map("".join),
    st.text(max_size=60),
)
def test_lenient_structured_data_stops_only_after_a_whole_element(soup: str, rest: str) -> None:
    """Whatever the text, what is read ends at an element's ']' and holds only strings."""
    text = "[" + soup + rest
    sd, end = parse_sd_lenient(text, 0)
    assert 0 <= end <= len(text)
    assert (end == 0) == (not sd)
    assert end == 0 or text[end - 1] == "]"
    for params in sd.values():
        for value in params.values():
            assert type(value) is str or all(type(v) is str for v in value)
