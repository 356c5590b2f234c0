"""Cisco IOS, IOS-XE, IOS-XR, NX-OS and ASA messages: everything up to a %FAC-SEV-MNEMONIC.

Cisco puts a run of optional fields between PRI and the mnemonic, each ended by ': ':

    <189>123: router1: 000045: *Mar  1 00:00:12.345 UTC: %LINEPROTO-5-UPDOWN: Line protocol...
         |    |        |       ||                  |     |
         |    |        |       |timestamp          zone  FACILITY-SEVERITY-MNEMONIC
         |    |        |       '*' clock not synchronised, '.' synchronised but not authoritative
         |    |        `service sequence-numbers`
         |    `logging origin-id` hostname
         message counter

The service sequence number may also come before the origin host ("237: 000485: router1:
*Jan 8 ..."). IOS-XR adds a node and process ("gw2 LC/0/2/CPU0:Jul  7 20:16:14.834 :
ifmgr[214]: %PKT_INFRA-LINK-3-UPDOWN : ..."), NX-OS puts the year first and may put the
hostname after the time ("2018 Apr 20 13:15:07 nexus %ETHPORT-5-IF_UP: ...", or after
"time: " as in "91: *Oct 07 03:10:04: mydevice.com %CRYPTO-4-..."), ASA puts the year after
the day ("Nov 30 2026 16:35:23: %ASA-6-302013: ..."). `service timestamps log uptime` gives
an uptime ("1w2d: ", "00:00:46: ") instead of a date: the timestamp is then None.

Record fields: hostname = origin hostname, app_name/procid = IOS-XR process, msgid =
"FACILITY-SEVERITY-MNEMONIC", message = the text after the mnemonic; the key "cisco" holds
{"sequence", "facility", "severity", "mnemonic", "clock"} with clock "unsynchronized" ('*'),
"unauthoritative" ('.'), "synchronized" (a date with no mark) or None (uptime or no time).
"""

from __future__ import annotations

import re
from typing import Any

from syslog_receiver.record import record
from syslog_receiver.timestamps import yearless

# Optional parts are written "(?:...|)" (see parse.py).
_CISCO = re.compile(
    r"""
    (?::\ |)                                            # NX-OS 9.3: ": " right after PRI
    (?:(?P<seq>\d{1,12}):\ ?|)                             # message counter
    (?:\d{1,12}:\ (?=[^\d\s])|)                            # service sequence-numbers
    (?:(?!\d+:|\d+[ywdh]\d+[wdhm]:)                    # not a counter, not an uptime
       (?P<host>[^\s:%*.][^\s:%]*)(?:\ [A-Z]{2,4}/[\w/]+|):\ ?|)   # origin host, XR node
    (?:\d{1,12}:\ |)                                     # service sequence-numbers
    (?:
        (?:(?P<clock>[*.])|)
        (?P<when>(?:\d{4}\ |)[A-Z][a-zA-Z]{2}\ {1,2}\d{1,2}(?:\ \d{4}|)\ \d\d:\d\d:\d\d)
        (?:\.(?P<frac>\d{1,9})|)
        (?:\ (?P<tz>[A-Z]{2,6})|)
        (?:
            \ ?:\ (?:(?P<proc>[\w.-]+)\[(?P<pid>\d+)\]:\ |)   # IOS ': ', XR ' : proc[pid]: '
            (?:(?P<host3>[^\s:%\[]+)\ (?=%)|)                # hostname after 'time: '
          | \ (?P<host2>[^\s:%]+)(?:\ ?:|)\                 # NX-OS / ASA hostname after time
        )
      | (?:\d+[ywdh]\d+[wdhm]|\d+:\d\d:\d\d(?:\.\d+|)):\    # uptime
      |                                                      # or neither
    )
    %(?P<fac>[A-Z][A-Z0-9_]{0,31}(?:-[A-Z0-9_]{1,32}){0,3}?)-(?P<sev>[0-7])-(?P<mnem>[A-Z0-9_]{1,64})
    \ ?:(?:\ |$)
    """,
    re.VERBOSE | re.ASCII,
)

_CLOCK = {"*": "unsynchronized", ".": "unauthoritative", "": "synchronized"}


def parse_cisco(text: str, start: int, pri: int, now: float) -> dict[str, Any] | None:
    """Parse text[start:] as a Cisco message; None unless it reaches a %FAC-SEV-MNEMONIC."""
    m = _CISCO.match(text, start)
    if m is None:
        return None
    seq, host, clock, when, frac, tz, proc, pid, host3, host2, fac, sev, mnem = m.groups()
    timestamp: str | None = None
    clock_state: str | None = None
    if when is not None:
        timestamp = yearless(when, None, tz, frac, now)
        clock_state = _CLOCK[clock or ""]
    rec = record(
        "cisco", pri, timestamp, host or host2 or host3, proc, pid, f"{fac}-{sev}-{mnem}", None,
        text[m.end() :],
    )  # fmt: skip
    rec["cisco"] = {
        "sequence": int(seq) if seq else None,
        "facility": fac,
        "severity": int(sev),
        "mnemonic": mnem,
        "clock": clock_state,
    }
    return rec
