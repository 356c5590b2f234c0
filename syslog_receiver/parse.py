"""One syslog message (bytes) to one record (dict): the parser the server calls per message.

Sans-IO: ``parse(data, now)`` reads no clock and no socket; ``now`` (arrival time, Unix
seconds) is used only to infer the year of timestamps that lack one. It never raises: every
input gives a record with the keys of ``record.FIELDS`` (plus those of
``record.OPTIONAL_FIELDS`` that apply). Trailing CR, LF and NUL are stripped; invalid UTF-8
becomes U+FFFD; a leading byte-order mark on the message is dropped.

``format`` names the shape recognised:

``rfc5424``
    ``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG`` (see rfc5424.py).
``junos``
    RFC 5424 with structured data from Juniper's enterprise number, ``[junos@2636.1.1.1.2.18
    username="x"]``: fields exactly as for rfc5424; the name lets Junos events be filtered
    without looking inside structured_data. Junos in BSD form ("mgd[1234]: UI_COMMIT: ...")
    cannot be told from other BSD senders and is ``rfc3164``.
``rfc3164``
    BSD syslog: ``<PRI>TIMESTAMP [HOSTNAME] [TAG[PID]:] MSG`` (see rfc3164.py); app_name and
    procid come from the TAG. Also a PRI followed directly by key=value pairs (FortiGate
    ``date=2026-11-30 time=16:35:23 devname=...``): RFC 3164 section 4.3.2 allows a PRI with
    no header, the pairs are kept whole in message, and FortiGate's date/time (with its tz
    field if present, else UTC) become the timestamp and its devname the hostname.
``cisco``
    Cisco IOS/IOS-XE/IOS-XR/NX-OS/ASA ``<PRI>[seq: ][host: ][*|.]Mmm dd hh:mm:ss[.ms] [TZ]:
    %FAC-SEV-MNEMONIC: text`` (see cisco.py): msgid "FAC-SEV-MNEMONIC", message the text,
    extra key ``cisco``. Zone names in timestamps.TZ_OFFSETS are applied; any other zone name
    is taken as UTC.
``yamaha``
    A PRI followed directly by free text with no header, as Yamaha RTX routers send
    (``<190>[INSPECT] LAN2[in][101099] TCP ...``): timestamp, hostname and the rest None, the
    text (leading spaces dropped) is the message.
``nopri``
    No PRI at all: facility 1 (user), severity 5 (notice) as RFC 3164 section 4.3.3 says. If
    the text is a BSD or Cisco message without its PRI, that dialect's format and fields are
    used instead (still with facility 1, severity 5); otherwise the whole text is the message.
``raw``
    A PRI that is present but broken (not 1-3 digits, above 191, no '>'), or empty input:
    facility and severity None, the whole text as message. Nothing is ever dropped.

A Cisco, Junos or Yamaha line behind the header an rsyslog or syslog-ng relay puts in front
of it takes the router's format and fields, with the relay's host in the extra key
``relay`` (see relay.py). RFC 5424 structured data read leniently adds ``sd_malformed: true``
(see sd_lenient.py). The message is always the tail of the text: a header never takes text
it did not understand.

Hand-written regular expressions rather than a syslog library: the PyPI parsers cover RFC
5424 or RFC 3164 alone, none covers Cisco/Yamaha/Junos shapes, and the pyparsing-based ones
cost tens of microseconds per message on a path budgeted at a few. Python's engine spends
most of that on bookkeeping, so the header patterns are written for it: an optional part is
``(?:...|)``, not ``(?:...)?`` (the same choice, the part first, but a ``?`` on a group runs
the engine's general repeat: a third more for a whole Cisco header), and a run that nothing
after it could shorten is possessive (``++``), so no shorter one is tried.
"""

from __future__ import annotations

import re
from typing import Any

from syslog_receiver.cisco import parse_cisco
from syslog_receiver.pri import NO_PRI, split_pri
from syslog_receiver.record import FIELDS, record
from syslog_receiver.relay import behind_header, cisco_behind_rfc5424
from syslog_receiver.rfc3164 import HOSTNAME_GROUP, KV, header_record, match_header, parse_rfc3164
from syslog_receiver.rfc5424 import parse_rfc5424
from syslog_receiver.timestamps import offset_minutes, utc_from_fields

__all__ = ["FIELDS", "parse"]

_USER_NOTICE = 1 * 8 + 5
_FORTI_TIME = re.compile(r"date=(\d{4})-(\d\d)-(\d\d) time=(\d\d):(\d\d):(\d\d)\b", re.ASCII)
_FORTI_TZ = re.compile(r' tz="?([+-]\d\d:?\d\d)', re.ASCII)
_FORTI_HOST = re.compile(r' devname="?([^"\s]+)')


def parse(data: bytes, now: float) -> dict[str, Any]:
    """Parse one syslog message (no transport framing) received at Unix time `now`."""
    return _parse(data.rstrip(b"\r\n\x00").decode("utf-8", "replace"), now, True)


def _parse(text: str, now: float, outer: bool) -> dict[str, Any]:
    """`outer` is False for a line found behind a relay's header: no relay within a relay."""
    pri, pos = split_pri(text)
    if pri >= 0:
        if text.startswith("1 ", pos):
            rec = parse_rfc5424(text, pos, pri)
            if rec is not None:
                if outer and "%" in rec["message"]:
                    return cisco_behind_rfc5424(rec, now) or rec
                return rec
        if "%" in text:
            rec = parse_cisco(text, pos, pri, now)
            if rec is not None:
                return rec
        m = match_header(text, pos)
        if m is not None:
            rec = header_record(text, m, pri, now)
            if not outer or rec["hostname"] is None:
                return rec
            # A router's line behind the header reads as no tag, a counter or '<' (a PRI)
            # for one, or has a '%' mnemonic: anything else, the common case, skips the call.
            app = rec["app_name"]
            if app is None or app[0] in "<0123456789" or "%" in rec["message"]:
                return behind_header(text, m.end(HOSTNAME_GROUP), rec, now, _inner) or rec
            return rec
        return _headerless(text[pos:].lstrip(" "), pri)
    if pri == NO_PRI and text:
        rec = parse_rfc3164(text, 0, _USER_NOTICE, now)
        if rec is None and "%" in text:
            rec = parse_cisco(text, 0, _USER_NOTICE, now)
        if rec is not None:
            return rec
        return record("nopri", _USER_NOTICE, None, None, None, None, None, None, text)
    return record("raw", -1, None, None, None, None, None, None, text)


def _inner(text: str, now: float) -> dict[str, Any]:
    return _parse(text, now, False)


def _headerless(body: str, pri: int) -> dict[str, Any]:
    """A PRI with no header: FortiGate-style key=value, or Yamaha-style free text."""
    if KV.match(body) is None:
        return record("yamaha", pri, None, None, None, None, None, None, body)
    timestamp = hostname = None
    m = _FORTI_TIME.match(body)
    if m is not None:
        y, mo, d, h, mi, s = (int(x) for x in m.groups())
        tz = _FORTI_TZ.search(body)
        timestamp = utc_from_fields(
            y, mo, d, h, mi, s, None, offset_minutes(tz.group(1) if tz else None)
        )
        name = _FORTI_HOST.search(body)
        hostname = name.group(1) if name else None
    return record("rfc3164", pri, timestamp, hostname, None, None, None, None, body)
