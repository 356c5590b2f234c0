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
from syslog_receiver.timestamps import offset_minutes, utc_from_fields, yearless

# The whole header in one match, since one regex call costs less than the Python between
# several: TIMESTAMP (BSD "Nov 30 [2026 ]16:35:23[.123]", groups 1-7, or RFC 3339 as rsyslog
# and Junos send it, groups 8-15), then a TAG ("mgd[1234]: ", groups 16-17) or a HOSTNAME
# (group 18) and maybe a TAG (groups 19-20). The alternatives are tried in that order, as
# separate matches would be: a first word ending in ':' is a TAG, not a hostname.
_TS = (
    r"(?:([A-Z][a-z]{2}) {1,2}([0-9]{1,2})(?: ([0-9]{4}))? ([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?"
    r"|([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?)(?: +|$)"
)
_TAG = r"([^\s:\[\]]{1,64})(?:\[([^\]\s]{0,128})\])?:(?: +|$)"
_HEADER = re.compile(_TS + r"(?:" + _TAG + r"|(\S+)(?: +|$)(?:" + _TAG + r")?)?")

KV = re.compile(r'[A-Za-z_][\w.-]*=(?:"[^"]*"|\S*) +[A-Za-z_][\w.-]*=')


def parse_rfc3164(text: str, start: int, pri: int, now: float) -> dict[str, Any] | None:
    """Parse text[start:] if it begins with a BSD timestamp; None otherwise."""
    m = _HEADER.match(text, start)
    if m is None:
        return None
    (mon, day, year, h, mi, s, frac, iy, imo, iday, ih, imi, isec, ifrac, zone,
     app, procid, hostname, app2, procid2) = m.groups()  # fmt: skip
    if mon is not None:
        timestamp = yearless(mon, day, year, h, mi, s, frac, None, now)
    else:
        timestamp = utc_from_fields(
            int(iy), int(imo), int(iday), int(ih), int(imi), int(isec), ifrac, offset_minutes(zone)
        )
    if app is None:
        app, procid = app2, procid2
    return record(
        "rfc3164", pri, timestamp, hostname, app, procid or None, None, None, text[m.end() :]
    )
