"""BSD syslog (RFC 3164) as routers and relays really send it.

TIMESTAMP takes every shape rsyslog's and syslog-ng's BSD parsers take:

* "Nov 30 16:35:23", the month in any case ("NOV", "nov"), the day as one or two digits
  after one or two spaces ("Nov  3", "Nov 3", "Nov 03");
* a space between PRI and timestamp ("<38> Mar  7 19:06:53");
* a year before the month ("2018 Apr 20 ..."), after the day ("Nov 30 2026 16:35:23") or
  after the time ("Apr 15 21:28:13 2007", only a 19xx/20xx year), a zone name before that
  year ("Aug 24 05:34:00 CST 1987", RFC 3164 section 5.4);
* a fraction of any length ("16:35:23.123", kept to microseconds; a bare "16:35:23." has
  none) and a colon after the time or
  year ("Mar  7 19:06:53:");
* the ISO forms: RFC 3339 as rsyslog's forward format and Junos put it in the BSD header
  ("2020-03-31T08:41:59+00:00"), with a space for the 'T', lower-case 't'/'z', an offset
  without its colon, or no zone (taken as UTC).

A missing year is inferred from the arrival time (see timestamps.py). A timestamp of the
right shape whose date is impossible (Feb 30) gives ``timestamp: None``; the rest is still
read.

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
# several: TIMESTAMP (BSD, groups 1-4: its text up to the second, which timestamps.yearless
# reads, fraction, zone, a year after the time; or ISO, groups 5-12), then a TAG
# ("mgd[1234]: ", groups 13-14) or a HOSTNAME (group 15) and maybe a TAG (groups 16-17).
# Optional parts are written "(?:...|)", and a run of characters that what follows it
# cannot start (a TAG's name before '[' or ':', a HOSTNAME before a blank) is possessive
# ("++"): see parse.py. The alternatives
# are tried in that order, as separate matches would be: a first word ending in ':' is a
# TAG, not a hostname. The month is spelled out so that no other word passes for one; the
# usual spelling is tried first, as exact words cost less to match than case-blind ones.
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_MONTH = r"(?:" + _MONTHS.title() + r"|(?i:" + _MONTHS + r"))"
_TS = (
    r" ?(?:((?:[0-9]{4} |)" + _MONTH + r" {1,2}[0-9]{1,2}(?: [0-9]{4}|)"
    r" [0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]*+)|)"
    r"(?: (?:([A-Z]{3,5}) |)((?:19|20)[0-9]{2})(?=[ :]|$)|)"
    r"|([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:[.,]([0-9]+)|)(?:([Zz]|[+-][0-9]{2}:?[0-9]{2})|)):?(?: +|$)"
)
_TAG = r"([^\s:\[\]]{1,64}+)(?:\[([^\]\s]{0,128}+)\]|):(?: +|$)"
_HEADER = re.compile(_TS + r"(?:" + _TAG + r"|(\S++)(?: +|$)(?:" + _TAG + r"|)|)")
HOSTNAME_GROUP = 15

KV = re.compile(r'[A-Za-z_][\w.-]*=(?:"[^"]*"|\S*) +[A-Za-z_][\w.-]*=')


def match_header(text: str, start: int) -> re.Match[str] | None:
    """The BSD header at text[start:], for callers that look behind it (relay.py)."""
    return _HEADER.match(text, start)


def parse_rfc3164(text: str, start: int, pri: int, now: float) -> dict[str, Any] | None:
    """Parse text[start:] if it begins with a BSD timestamp; None otherwise."""
    m = _HEADER.match(text, start)
    return None if m is None else header_record(text, m, pri, now)


def header_record(text: str, m: re.Match[str], pri: int, now: float) -> dict[str, Any]:
    """The record for a matched header: its fields, and the text after it as message."""
    (when, frac, zone, year, iy, imo, iday, ih, imi, isec, ifrac, izone,
     app, procid, hostname, app2, procid2) = m.groups()  # fmt: skip
    if when is not None:
        timestamp = yearless(when, year, zone, frac, now)
    else:
        timestamp = utc_from_fields(
            int(iy), int(imo), int(iday), int(ih), int(imi), int(isec), ifrac, offset_minutes(izone)
        )
    if app is None:
        app, procid = app2, procid2
    return record(
        "rfc3164", pri, timestamp, hostname, app, procid or None, None, None, text[m.end() :]
    )
