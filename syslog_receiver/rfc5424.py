"""RFC 5424 messages: header, structured data and MSG.

Strict where the RFC is unambiguous, lenient where real senders stray:

* NILVALUE "-" in HOSTNAME, APP-NAME, PROCID or MSGID becomes None.
* STRUCTURED-DATA: escaped '"', '\\' and ']' in values are unescaped; any other backslash is
  kept as written (RFC 5424 section 6.3.3). Parameters may be separated by several spaces
  (Junos does this). A repeated SD-ID merges into one dict; a parameter repeated inside an
  element keeps every value, as a list in arrival order (the RFC allows repeats; nothing is
  dropped). Structured data the strict reader refuses (a space after '=', a value quoted
  with ``\\"``, an unterminated element) is read leniently as far as it goes and the record
  gets ``sd_malformed: true`` (see sd_lenient.py); what could not be read stays in the
  message.
* Junos's short header "host RT_FLOW: APPTRACK_SESSION_CLOSE [junos@...]" (no PROCID, a colon
  after APP-NAME) is read as APP-NAME and MSGID.
* A message with an SD-ID of Juniper's enterprise number (``...@2636...``) has format
  ``junos``; its fields are read exactly like any RFC 5424 message.
* An unparseable TIMESTAMP gives ``timestamp: None``; the other fields are still read.
"""

from __future__ import annotations

import re
from typing import Any

from syslog_receiver.record import StructuredData, add_param, record
from syslog_receiver.sd_lenient import parse_sd_lenient
from syslog_receiver.timestamps import rfc3339, rfc3339_parts

# The TIMESTAMP is read here when it is RFC 3339 (groups 1-3: up to the second, fraction,
# zone); any other token lands in group 4 and is judged by parse_rfc5424. Optional parts are
# written "(?:...|)" (see parse.py).
_HEADER = re.compile(
    r"1 (?:([0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2})(?:[.,]([0-9]+)|)"
    r"(?:([Zz]|[+-][0-9]{2}:?[0-9]{2})|)|(\S+)) (\S+) (\S+) (\S+) (\S+)(?: |$)"
)
_SHORT_HEADER = re.compile(r"1 (\S+) (\S+) ([^\s\[]+?):? ([^\s\[]\S*) (?=\[)")
# One element per match: its SD-ID and the text of its parameters, read by one findall.
# Neither part can end anywhere else (an SD-ID or name is followed by ' ', ']' or '=', a value
# by its first unescaped '"'), so these match exactly what a param-by-param scan would.
_SD_ELEMENT = re.compile(r'\[([^\s=\]"]+)((?: +[^\s=\]"]+="[^"\\]*(?:\\.[^"\\]*)*")*) *\]', re.S)
_SD_PARAMS = re.compile(r'([^\s=\]"]+)="([^"\\]*(?:\\.[^"\\]*)*)"', re.S)
# The usual case in one match: single spaces, no backslash, '"' or ']' in values, no '[' in
# names, and no further '[' after it. Such a block splits exactly at "][", then at ' ' after
# the SD-ID, then at '"' into ' name=' and value pieces. Every run in it ends at a character
# it cannot hold, so it is possessive ("++", see parse.py).
_SD_PLAIN = re.compile(r'(?:\[[^\s=\]"\[]++(?: [^\s=\]"\[]++="[^"\\\]]*+")*+\])++(?!\[)')
_UNESCAPE = re.compile(r'\\(["\\\]])')


def _nil(value: str) -> str | None:
    return None if value == "-" else value


def parse_sd(text: str, pos: int) -> tuple[StructuredData, int] | None:
    """Structured data starting at text[pos] == '['; (data, end) or None if malformed."""
    sd: StructuredData = {}
    plain = _SD_PLAIN.match(text, pos)
    if plain is not None:
        for element in plain.group()[1:-1].split("]["):
            sd_id, space, pairs = element.partition(" ")
            params = sd.get(sd_id)
            if params is None:
                params = sd[sd_id] = {}
            if space:
                pieces = (space + pairs).split('"')  # [' a=', 'v', ' b=', 'w', '']
                for k in range(1, len(pieces), 2):
                    name = pieces[k - 1][1:-1]
                    if name in params:
                        add_param(params, name, pieces[k])  # a repeat: every value is kept
                    else:
                        params[name] = pieces[k]
        return sd, plain.end()
    return parse_sd_scan(text, pos)


def parse_sd_scan(text: str, pos: int) -> tuple[StructuredData, int] | None:
    """parse_sd for any structured data, element by element (escapes, spacing, repeats)."""
    sd: StructuredData = {}
    n = len(text)
    match_element = _SD_ELEMENT.match
    while pos < n and text[pos] == "[":
        m = match_element(text, pos)
        if m is None:
            return None
        sd_id, body = m.groups()
        params = sd.get(sd_id)
        if params is None:
            params = sd[sd_id] = {}
        if body:
            for name, value in _SD_PARAMS.findall(body):
                if "\\" in value:
                    value = _UNESCAPE.sub(r"\1", value)
                add_param(params, name, value)
        pos = m.end()
    return sd, pos


def _is_junos(sd: StructuredData) -> bool:
    for sd_id in sd:
        if "@2636" not in sd_id:
            continue
        _, at, enterprise = sd_id.partition("@")
        if at and (enterprise == "2636" or enterprise.startswith("2636.")):
            return True
    return False


def parse_rfc5424(text: str, start: int, pri: int) -> dict[str, Any] | None:
    """Parse text[start:] (just after PRI, at VERSION); None if it is not RFC 5424."""
    m = _HEADER.match(text, start)
    if m is None or m.group(8).startswith("["):
        short = _SHORT_HEADER.match(text, start)
        if short is not None:
            ts, host, app, msgid = short.groups()
            timestamp = None if ts == "-" else rfc3339(ts)
            return _rest(text, short.end(), pri, timestamp, host, app, None, msgid)
        if m is None:
            return None
    second, frac, zone, ts, host, app, procid, msgid = m.groups()
    if second is not None:
        timestamp = rfc3339_parts(second, frac, zone)
    elif ts == "-":
        timestamp = None
    elif ts[:4].isdigit() and ts[4:5] == "-":
        timestamp = rfc3339(ts)  # not RFC 3339 after all: None
    else:
        return None  # "<190>1 packets were dropped ..." is free text, not a header
    return _rest(text, m.end(), pri, timestamp, host, app, _nil(procid), msgid)


def _rest(
    text: str,
    pos: int,
    pri: int,
    timestamp: str | None,
    host: str,
    app: str,
    procid: str | None,
    msgid: str,
) -> dict[str, Any]:
    """Read STRUCTURED-DATA and MSG from text[pos:] and build the record."""
    n = len(text)
    sd: StructuredData | None = None
    if pos >= n:
        message = ""
    elif text[pos] == "-" and (pos + 1 == n or text[pos + 1] == " "):
        message = text[pos + 2 :]
    elif text[pos] == "[":
        parsed = parse_sd(text, pos)
        if parsed is None:
            sd, end = parse_sd_lenient(text, pos)
            message = text[end + 1 :] if end < n and text[end] == " " else text[end:]
            fmt = "junos" if sd and _is_junos(sd) else "rfc5424"
            rec = record(
                fmt, pri, timestamp, _nil(host), _nil(app), procid, _nil(msgid), sd or None,
                message,
            )  # fmt: skip
            rec["sd_malformed"] = True
            return rec
        sd, end = parsed
        message = text[end + 1 :] if end < n and text[end] == " " else text[end:]
    else:
        message = text[pos:]  # no STRUCTURED-DATA field: keep everything as MSG
    fmt = "junos" if sd and _is_junos(sd) else "rfc5424"
    return record(fmt, pri, timestamp, _nil(host), _nil(app), procid, _nil(msgid), sd, message)
