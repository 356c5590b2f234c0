"""BSD syslog (RFC 3164) as routers and relays really send it.

Accepted TIMESTAMP shapes: "Nov 30 16:35:23", space-padded "Nov  3 16:35:23", with a
fraction "Nov 30 16:35:23.123", with a year "Nov 30 2026 16:35:23", and the RFC 3339 stamp
that rsyslog's forward format and Junos put in the BSD header ("2020-03-31T08:41:59+00:00").
A missing year is inferred from the arrival time (see timestamps.py).

After the timestamp comes HOSTNAME, then a TAG ("mgd[1234]: ", "RT_FLOW: ", "/kernel: ").
Either may be missing: a first word that ends in ':' (or '[pid]:') is a TAG, so the hostname
is None; a hostname followed by text with no TAG gives app_name None and the text as message.
"""

from __future__ import annotations

import re
from typing import Any

from syslog_receiver.record import record
from syslog_receiver.timestamps import iso_utc, offset_minutes, yearless

_BSD_TS = re.compile(
    r"([A-Z][a-z]{2}) {1,2}(\d{1,2})(?: (\d{4}))? (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?: +|$)",
    re.ASCII,
)
_ISO_TS = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)?(?: +|$)",
    re.ASCII,
)
_TAG = re.compile(r"([^\s:\[\]]{1,64})(?:\[([^\]\s]{0,128})\])?:(?: +|$)")
_HOST = re.compile(r"(\S+)(?: +|$)")

KV = re.compile(r'[A-Za-z_][\w.-]*=(?:"[^"]*"|\S*) +[A-Za-z_][\w.-]*=')


def header_timestamp(text: str, pos: int, now: float) -> tuple[str | None, int] | None:
    """(ISO timestamp or None if invalid, end) of a BSD/ISO stamp at text[pos], else None."""
    m = _BSD_TS.match(text, pos)
    if m is not None:
        mon, day, year, h, mi, s, frac = m.groups()
        return yearless(mon, day, year, h, mi, s, frac, None, now), m.end()
    m = _ISO_TS.match(text, pos)
    if m is not None:
        y, mo, d, h, mi, s, frac, zone = m.groups()
        ts = iso_utc(int(y), int(mo), int(d), int(h), int(mi), int(s), frac, offset_minutes(zone))
        return ts, m.end()
    return None


def parse_rfc3164(text: str, start: int, pri: int, now: float) -> dict[str, Any] | None:
    """Parse text[start:] if it begins with a BSD timestamp; None otherwise."""
    stamp = header_timestamp(text, start, now)
    if stamp is None:
        return None
    timestamp, pos = stamp
    hostname: str | None = None
    tag = _TAG.match(text, pos)
    if tag is None:
        host = _HOST.match(text, pos)
        if host is not None:
            hostname = host.group(1)
            pos = host.end()
            tag = _TAG.match(text, pos)
    if tag is None:
        return record("rfc3164", pri, timestamp, hostname, None, None, None, None, text[pos:])
    app, procid = tag.groups()
    return record(
        "rfc3164", pri, timestamp, hostname, app, procid or None, None, None, text[tag.end() :]
    )
